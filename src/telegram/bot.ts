/**
 * The Telegram front (SPEC §7): a telegraf bot used as transport only (polling or webhook, and its
 * API client behind the paced sender), the update router, the progress tracker fed by the
 * engine's events, and admin alerts when an account is disabled.
 *
 * `createTelegramFront(...).start()` resolves once the bot is registered with Telegram; polling
 * runs in the background. In webhook mode `webhook.handle` must be mounted by the HTTP server at
 * `webhook.path`, with the request body not yet read.
 *
 * In a cluster (`cluster` given) every instance takes webhook updates and handles what it got;
 * the holder of the bot's lease alone polls and shows the jobs (see duty.ts).
 */
import { Counter, type Registry } from 'prom-client';
import { Telegraf } from 'telegraf';
import type { TelegramConfig } from '../config.ts';
import type { AccountHealth, EngineApi, TaskOrigin } from '../engine/api.ts';
import type { Task } from '../engine/task.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import { Access } from './access.ts';
import { CallbackKeys } from './callback-keys.ts';
import { TelegramCluster } from './cluster.ts';
import { registerCommands } from './commands-setup.ts';
import { DEFAULT_TIMING, type FrontContext, type TelegramTiming } from './context.ts';
import { BotDuty } from './duty.ts';
import { onCallback } from './handlers/callbacks.ts';
import { MessageHandler } from './handlers/messages.ts';
import { say } from './handlers/reply.ts';
import { History } from './history.ts';
import { UserJobs } from './jobs.ts';
import type { KeyValue } from './kv.ts';
import { normaliseApiRoot } from './media.ts';
import { type ApiCall, Poller } from './poller.ts';
import { UserPrefs } from './prefs.ts';
import { ProgressTracker } from './progress.ts';
import { apiFailure, Sender } from './sender.ts';
import { accountDisabled } from './texts.ts';
import { callbackQuerySchema, messageSchema } from './updates.ts';
import { createWebhook, type TelegramWebhook, webhookSecret } from './webhook.ts';

export type { TelegramWebhook } from './webhook.ts';

export interface TelegramFrontOptions {
  engine: EngineApi;
  config: TelegramConfig;
  kv: KeyValue;
  logger: Logger;
  /** Registry to add `mjb_telegram_api_calls_total{method,status}` to. */
  registry?: Registry;
  /** Intervals and pacing (small in tests). */
  timing?: Partial<TelegramTiming>;
  /** Largest photo accepted from a user (default 10 MiB). */
  maxImageBytes?: number;
  /** Several instances on one Redis (SPEC §13): the bot's lease, update claims, the job registry. */
  cluster?: { url: string; instanceId: string; leaseTtlMs: number };
}

export interface TelegramFront {
  start(): Promise<void>;
  stop(): Promise<void>;
  webhook?: TelegramWebhook;
}

const ALLOWED_UPDATES = ['message', 'callback_query'];

function callCounter(registry: Registry | undefined): Counter<'method' | 'status'> | undefined {
  if (!registry) return undefined;
  const name = 'mjb_telegram_api_calls_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'method' | 'status'>;
  return new Counter({
    name,
    help: 'Telegram Bot API calls by method and result (ok or the error code)',
    labelNames: ['method', 'status'],
    registers: [registry],
  });
}

export function createTelegramFront(opts: TelegramFrontOptions): TelegramFront {
  const { engine, config, kv } = opts;
  const logger = opts.logger.child({ room: 'telegram' });
  const token = config.token;
  const timing: TelegramTiming = { ...DEFAULT_TIMING, ...opts.timing };
  const apiRoot = normaliseApiRoot(config.apiRoot);
  const bot = new Telegraf(token, { handlerTimeout: 30_000, telegram: { apiRoot, webhookReply: false } });
  bot.catch((err) => {
    logger.error({ err: scrub((err as Error).message ?? String(err), [token]) }, 'telegram update failed');
  });

  // Every call, telegraf's own polling included, is counted here.
  const counter = callCounter(opts.registry);
  const tg = bot.telegram;
  const rawCall = tg.callApi.bind(tg) as unknown as ApiCall;
  const counted: ApiCall = async (method, payload, callOpts) => {
    try {
      const result = await rawCall(method, payload, callOpts);
      counter?.inc({ method, status: 'ok' });
      return result;
    } catch (err) {
      const code = apiFailure(err).code;
      counter?.inc({ method, status: code > 0 ? String(code) : 'error' });
      throw err;
    }
  };
  (tg as unknown as { callApi: ApiCall }).callApi = counted;

  const sender = new Sender((method, payload) => counted(method, payload), logger, timing.pacing);
  const running = new Set<Promise<unknown>>();
  const cluster = opts.cluster ? new TelegramCluster({ ...opts.cluster, logger: opts.logger }) : undefined;
  const ctx: FrontContext = {
    engine,
    sender,
    kv,
    logger,
    timing,
    token,
    apiRoot,
    keys: new CallbackKeys(kv, logger),
    jobs: new UserJobs(engine, kv, logger, cluster),
    access: new Access(config),
    prefs: new UserPrefs(kv, logger),
    history: new History(kv, logger),
    speeds: config.speeds,
    maxJobsPerUser: config.maxJobsPerUser,
    maxImageBytes: opts.maxImageBytes ?? 10 * 1024 * 1024,
    bot: { id: 0, username: '' },
    progress: {
      created: async () => undefined,
      taskOfMessage: async () => undefined,
    },
    spawn(what, work) {
      const p = work().catch((err: unknown) => {
        logger.error({ what, err: scrub(apiFailure(err).description, [token]) }, 'telegram handler failed');
      });
      running.add(p);
      void p.finally(() => running.delete(p));
    },
  };
  const webhookConfig = config.webhook;
  const duty = cluster
    ? new BotDuty({
        ctx,
        cluster,
        settleMs: 3 * timing.stopDrainMs,
        ...(webhookConfig
          ? {}
          : {
              poller: () =>
                new Poller({
                  call: counted,
                  cluster,
                  handle: admit,
                  allowedUpdates: ALLOWED_UPDATES,
                  logger,
                  token,
                }),
            }),
      })
    : undefined;
  // One process: one tracker for its life. A cluster: the duty's, while this instance holds the bot.
  const tracker = duty ? undefined : new ProgressTracker(ctx);
  ctx.progress = {
    created: async (taskId, origin) => duty?.created(taskId, origin),
    taskOfMessage: (chatId, messageId) =>
      (tracker ?? duty?.current ?? new ProgressTracker(ctx)).taskOfMessage(chatId, messageId),
  };
  const messages = new MessageHandler(ctx, cluster);

  /**
   * Resolves once start() has set everything up that handling an update needs (the bot's
   * identity, the engine's events, the cluster's keys). The webhook is served as soon as the
   * HTTP server listens, which may be before: an update then waits for it, and one that cannot
   * wait that long is refused, so that Telegram delivers it again rather than it being lost.
   */
  let accept: () => void = () => undefined;
  let accepting = new Promise<void>((r) => {
    accept = r;
  });
  let ready = false;
  const ACCEPT_WAIT_MS = 10_000;

  /** An update from the webhook or the cluster's poller: claimed cluster-wide, then routed. */
  async function admit(update: { update_id: number }): Promise<void> {
    if (!ready) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), ACCEPT_WAIT_MS);
      });
      const got = await Promise.race([accepting.then(() => 'ready' as const), late]);
      clearTimeout(timer);
      if (got === 'late') throw new Error('the Telegram front is not started yet');
    }
    if (cluster && !(await cluster.claimUpdate(update.update_id))) return;
    await bot.handleUpdate(update as Parameters<typeof bot.handleUpdate>[0]);
  }

  // Webhook redeliveries (and a poll retried after a timeout) must not start a job twice.
  const seenUpdates: number[] = [];
  const seen = new Set<number>();
  bot.use((tctx) => {
    const update = tctx.update as { update_id: number; message?: unknown; callback_query?: unknown };
    if (seen.has(update.update_id)) return;
    seen.add(update.update_id);
    seenUpdates.push(update.update_id);
    if (seenUpdates.length > 2000) seen.delete(seenUpdates.shift() ?? -1);
    if (update.message !== undefined) {
      const msg = messageSchema.safeParse(update.message);
      if (msg.success) messages.onMessage(msg.data);
    } else if (update.callback_query !== undefined) {
      const cq = callbackQuerySchema.safeParse(update.callback_query);
      if (cq.success) ctx.spawn('callback', () => onCallback(ctx, cq.data));
    }
  });

  const alerted = new Map<string, string>();
  const onTask = (task: Task, origin: TaskOrigin | undefined) =>
    tracker ? tracker.onTask(task, origin) : duty?.onTask(task, origin);
  const onAccount = (account: AccountHealth) => {
    if (account.state !== 'disabled') {
      alerted.delete(account.id);
      return;
    }
    const reason = account.reason ?? '';
    if (alerted.get(account.id) === reason) return;
    alerted.set(account.id, reason);
    for (const chatId of ctx.access.adminChats()) {
      ctx.spawn('alert', async () => {
        // Admins' chats with the bot are private: the chat id is the admin's user id.
        const t = await ctx.prefs.trOf(chatId);
        await say(ctx, chatId, accountDisabled(t, account.id, account.reason));
      });
    }
  };

  let launching: Promise<void> | undefined;
  let started = false;
  /** Undoes a start() that failed half-way, so that the next start() does not listen twice. */
  const detach = () => {
    engine.off('task', onTask);
    engine.off('account', onAccount);
    started = false;
  };

  const secret = webhookConfig ? webhookSecret(webhookConfig.secret, token) : '';
  const webhook: TelegramWebhook | undefined = webhookConfig
    ? createWebhook(webhookConfig.url, secret, admit)
    : undefined;

  return {
    ...(webhook ? { webhook } : {}),

    async start() {
      const me = (await counted('getMe', {})) as {
        id: number;
        username?: string;
        is_bot: boolean;
        first_name: string;
      };
      bot.botInfo = me as typeof bot.botInfo;
      ctx.bot = { id: me.id, username: me.username ?? '' };
      engine.on('task', onTask);
      engine.on('account', onAccount);
      started = true;
      try {
        // Jobs that moved on (or ended) while this front was not running.
        await tracker?.recover();
      } catch (err) {
        detach();
        throw err;
      }
      await registerCommands(ctx);
      if (webhookConfig) {
        try {
          await sender.call(
            'setWebhook',
            { url: webhookConfig.url, secret_token: secret, allowed_updates: ALLOWED_UPDATES },
            { priority: 'message' },
          );
        } catch (err) {
          detach();
          throw err;
        }
      }
      if (cluster && duty) {
        try {
          await cluster.start(me.id, duty);
        } catch (err) {
          detach();
          throw err;
        }
        ready = true;
        accept();
        logger.info(
          { webhook: !!webhookConfig },
          'telegram bot started (cluster: polled and shown by the bot lease holder)',
        );
        return;
      }
      ready = true;
      accept();
      if (webhookConfig) {
        logger.info({ path: webhook?.path }, 'telegram bot started (webhook)');
        return;
      }
      launching = bot.launch({ allowedUpdates: ALLOWED_UPDATES as never }).catch((err: unknown) => {
        logger.error({ err: scrub(apiFailure(err).description, [token]) }, 'telegram polling stopped');
      });
      logger.info({ bot: me.username }, 'telegram bot started (polling)');
    },

    async stop() {
      if (!started) return;
      started = false;
      // Updates arriving from now on wait for a next start (or are refused and delivered again).
      ready = false;
      accepting = new Promise<void>((r) => {
        accept = r;
      });
      engine.off('task', onTask);
      engine.off('account', onAccount);
      if (launching) {
        // launch() starts polling only after deleteWebhook has answered; until then bot.stop()
        // throws ("Bot is not running!") and polling would start afterwards and never end. So
        // retry until polling can be stopped or launch() has given up.
        const launched = launching;
        let settled = false;
        void launched.then(() => {
          settled = true;
        });
        while (!settled) {
          try {
            bot.stop('shutdown');
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        await launched;
      }
      messages.stop();
      // Hand-over first: no more polling, the jobs' sends settled, the lease free for the next.
      await cluster?.stop();
      const deadline = new Promise((r) => setTimeout(r, timing.stopDrainMs).unref());
      await Promise.race([Promise.allSettled([...running]), deadline]);
      await Promise.race([tracker?.settle(), deadline]);
      await Promise.race([sender.drain(timing.stopDrainMs), deadline]);
      tracker?.stop();
      await sender.stop();
      await Promise.race([Promise.allSettled([...running, tracker?.settle()]), deadline]);
      await cluster?.disconnect();
    },
  };
}
