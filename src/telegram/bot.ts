/**
 * The Telegram front (SPEC §7): a telegraf bot used as transport only (polling or webhook, and its
 * API client behind the paced sender), the update router, the progress tracker fed by the
 * engine's events, and admin alerts when an account is disabled.
 *
 * `createTelegramFront(...).start()` resolves once the bot is registered with Telegram; polling
 * runs in the background. In webhook mode `webhook.handle` must be mounted by the HTTP server at
 * `webhook.path`, with the request body not yet read.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { Telegraf } from 'telegraf';
import type { TelegramConfig } from '../config.ts';
import type { AccountHealth, EngineApi, TaskOrigin } from '../engine/api.ts';
import type { Task } from '../engine/task.ts';
import type { Logger } from '../log.ts';
import { scrub } from '../log.ts';
import { Access } from './access.ts';
import { CallbackKeys } from './callback-keys.ts';
import { registerCommands } from './commands-setup.ts';
import { DEFAULT_TIMING, type FrontContext, type TelegramTiming } from './context.ts';
import { onCallback } from './handlers/callbacks.ts';
import { MessageHandler } from './handlers/messages.ts';
import { say } from './handlers/reply.ts';
import { History } from './history.ts';
import { UserJobs } from './jobs.ts';
import type { KeyValue } from './kv.ts';
import { normaliseApiRoot } from './media.ts';
import { UserPrefs } from './prefs.ts';
import { ProgressTracker } from './progress.ts';
import { apiFailure, Sender } from './sender.ts';
import { accountDisabled } from './texts.ts';
import { callbackQuerySchema, messageSchema } from './updates.ts';

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
}

export interface TelegramWebhook {
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface TelegramFront {
  start(): Promise<void>;
  stop(): Promise<void>;
  webhook?: TelegramWebhook;
}

type RawCall = (
  method: string,
  payload: Record<string, unknown>,
  opts?: { signal?: unknown },
) => Promise<unknown>;

const ALLOWED_UPDATES = ['message', 'callback_query'];
const WEBHOOK_BODY_MAX = 1024 * 1024;

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
  const rawCall = tg.callApi.bind(tg) as unknown as RawCall;
  const counted: RawCall = async (method, payload, callOpts) => {
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
  (tg as unknown as { callApi: RawCall }).callApi = counted;

  const sender = new Sender((method, payload) => counted(method, payload), logger, timing.pacing);
  const running = new Set<Promise<unknown>>();
  const ctx: FrontContext = {
    engine,
    sender,
    kv,
    logger,
    timing,
    token,
    apiRoot,
    keys: new CallbackKeys(kv, logger),
    jobs: new UserJobs(engine, kv, logger),
    access: new Access(config),
    prefs: new UserPrefs(kv, logger),
    history: new History(kv, logger),
    speeds: config.speeds,
    maxJobsPerUser: config.maxJobsPerUser,
    maxImageBytes: opts.maxImageBytes ?? 10 * 1024 * 1024,
    bot: { id: 0, username: '' },
    progress: {
      setReplyTo: () => undefined,
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
  const tracker = new ProgressTracker(ctx);
  ctx.progress = {
    setReplyTo: (taskId, messageId) => tracker.setReplyTo(taskId, messageId),
    taskOfMessage: (chatId, messageId) => tracker.taskOfMessage(chatId, messageId),
  };
  const messages = new MessageHandler(ctx);

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
  const onTask = (task: Task, origin: TaskOrigin | undefined) => tracker.onTask(task, origin);
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

  const webhookConfig = config.webhook;
  const secret = webhookConfig ? webhookConfig.secret || randomBytes(24).toString('hex') : '';
  // Compared without trailing slashes, as the API server routes paths.
  const trimPath = (path: string) => path.replace(/\/+$/, '') || '/';
  const hookPath = webhookConfig ? trimPath(new URL(webhookConfig.url).pathname) : '';
  const webhook: TelegramWebhook | undefined = webhookConfig
    ? {
        path: hookPath,
        async handle(req, res) {
          const path = trimPath((req.url ?? '').split('?')[0] ?? '');
          if (path !== hookPath) {
            res.writeHead(404).end();
            return;
          }
          if (req.method !== 'POST') {
            res.writeHead(405, { allow: 'POST' }).end();
            return;
          }
          const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
          const wanted = Buffer.from(secret);
          if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
            req.resume();
            res.writeHead(403).end();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          for await (const chunk of req) {
            size += (chunk as Buffer).length;
            if (size > WEBHOOK_BODY_MAX) {
              res.writeHead(413).end();
              return;
            }
            chunks.push(chunk as Buffer);
          }
          let update: unknown;
          try {
            update = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            res.writeHead(400).end();
            return;
          }
          if (
            !update ||
            typeof update !== 'object' ||
            typeof (update as { update_id?: unknown }).update_id !== 'number'
          ) {
            res.writeHead(400).end();
            return;
          }
          // Handlers only dispatch, so Telegram gets its 200 at once.
          await bot.handleUpdate(update as Parameters<typeof bot.handleUpdate>[0]);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        },
      }
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
        await tracker.recover();
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
      const deadline = new Promise((r) => setTimeout(r, timing.stopDrainMs).unref());
      await Promise.race([Promise.allSettled([...running]), deadline]);
      await Promise.race([tracker.settle(), deadline]);
      await Promise.race([sender.drain(timing.stopDrainMs), deadline]);
      tracker.stop();
      await sender.stop();
      await Promise.race([Promise.allSettled([...running, tracker.settle()]), deadline]);
    },
  };
}
