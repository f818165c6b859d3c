/**
 * Wires the rooms together: configuration → (sandbox when no account is enabled) → store → image
 * archive → engine (→ cluster node on Redis) → HTTP front with the `/mj` mount and the console
 * (→ Telegram front). Tests start the whole service in-process through here.
 */
import { compatTask, createCompatMount } from './compat/index.ts';
import type { AccountConfig, Config } from './config.ts';
import { ConfigError, enabledAccounts, imagesPublicUrl } from './config.ts';
import { createConsole } from './console/index.ts';
import { loadBannedWords } from './engine/banned-words.ts';
import { ClusterNode } from './engine/cluster.ts';
import { Engine, type EngineOptions } from './engine/engine.ts';
import { fetchImage } from './engine/guarded-fetch.ts';
import { createMetrics, type EngineMetrics } from './engine/metrics.ts';
import { Notifier } from './engine/notifier.ts';
import { SharedDirError } from './engine/shared-dir.ts';
import { SharedQueue } from './engine/shared-queue.ts';
import { TaskStore } from './engine/store.ts';
import { createApiServer } from './http/server.ts';
import { createImageArchive, type ImageService, ImageStoreError } from './images/index.ts';
import type { Logger } from './log.ts';
import { type Sandbox, startSandbox } from './sandbox/index.ts';
import { createTelegramFront, type TelegramFront } from './telegram/bot.ts';
import type { TelegramTiming } from './telegram/context.ts';
import { apiFailure } from './telegram/sender.ts';

export interface App {
  config: Config;
  engine: Engine;
  store: TaskStore;
  metrics: EngineMetrics;
  sandbox: Sandbox | undefined;
  telegram: TelegramFront | undefined;
  /** The stored-results archive (§6.7). */
  images: ImageService;
  /** Base URL the API listens on (e.g. `http://127.0.0.1:8686`). */
  url: string;
  close(): Promise<void>;
}

export interface AppOptions {
  logger: Logger;
  /** Reuse a running sandbox (tests) instead of starting one. */
  sandbox?: Sandbox;
  /** Timings for tests. */
  engine?: {
    backoff?: { minMs: number; maxMs: number };
    deleteGraceMs?: number;
    modalTimeoutMs?: number;
    infoRefreshMs?: number;
    seedTimeoutMs?: number;
  };
  notifierRetryMs?: number;
  /** Telegram pacing, small in tests. */
  telegramTiming?: Partial<TelegramTiming>;
  /** First wait before starting the Telegram bot again after a failed start (doubles to 1 min). */
  telegramRetryMs?: number;
  /** How long start-up waits for the Telegram bot's first start attempt (default 10 s). */
  telegramStartWaitMs?: number;
  /** Result-copy timings for tests (download retries, read retry interval). */
  imageTiming?: ConstructorParameters<typeof Engine>[0]['imageTiming'];
}

/** Starts the whole service; `close()` stops it gracefully. */
export async function startApp(input: Config, opts: AppOptions): Promise<App> {
  const logger = opts.logger;
  let config = input;
  // Before anything starts: a store that cannot be written is a start-up error like a bad config.
  let publicBase = imagesPublicUrl(input);
  const images = createImageArchive(input.images, {
    publicBase: () => publicBase,
    logger,
    expiredDays: input.store.expiredDates,
  });
  try {
    await images.start();
  } catch (err) {
    await images.close();
    if (err instanceof ImageStoreError) throw new ConfigError([err.message]);
    throw err;
  }
  let sandbox = opts.sandbox;
  const live = enabledAccounts(config).length > 0 && !sandbox;
  let ownSandbox = false;
  const store = new TaskStore({ url: config.store.url, expiredDays: config.store.expiredDates, logger });
  if (!live) {
    if (!sandbox) {
      // Its state lives in the service's store: old buttons and running jobs survive a restart.
      sandbox = await startSandbox({ speed: config.sandbox.speed, logger, state: store.space('sandbox') });
      ownSandbox = true;
    }
    const accounts: AccountConfig[] = sandbox.accounts.map((a) => ({
      enable: true,
      token: a.token,
      channel_id: a.channel_id,
      guild_id: a.guild_id,
      useragent: config.accounts[0]?.useragent ?? 'Mozilla/5.0 (sandbox)',
      concurrency: 3,
      timeoutMinutes: 10,
      relaxWhenFastRunsOut: true,
      remixAutoSubmit: false,
    }));
    config = { ...config, accounts, proxy: sandbox.proxy };
    logger.warn(
      { sandbox: sandbox.proxy.server, speed: config.sandbox.speed },
      'SANDBOX MODE: no Discord account configured, running against the simulated Midjourney',
    );
  }
  const metrics = createMetrics({ defaults: true });
  // Each instance serves its own series; the label tells them apart once gathered (SPEC §13).
  if (config.cluster) metrics.registry.setDefaultLabels({ mjb_instance: config.cluster.instanceId });
  const settings = config.settings;
  const notifier = new Notifier({
    secret: settings.secret,
    allowPrivateNetworks: settings.allowPrivateNetworks,
    logger,
    onResult: (result: string) => metrics.callbacks.inc({ result }),
    // Tasks made on /mj call their notifyHook with the compat task (SPEC §12.3).
    render: (task, origin) => (origin?.kind === 'compat' ? compatTask(task) : task),
    ...(opts.notifierRetryMs !== undefined ? { retryBaseMs: opts.notifierRetryMs } : {}),
  });
  const banned = loadBannedWords(settings.bannedWords);
  const engine = new Engine({
    config,
    mode: live ? 'live' : 'sandbox',
    store,
    logger,
    metrics,
    notifier,
    bannedWord: (prompt) => banned.find(prompt),
    fetchImage: (url) =>
      fetchImage(url, {
        maxBytes: settings.maxImageBytes,
        allowPrivateNetworks: settings.allowPrivateNetworks,
      }),
    images,
    ...(opts.imageTiming ? { imageTiming: opts.imageTiming } : {}),
    ...opts.engine,
    ...(config.cluster ? { cluster: clusterOf(config, logger) } : {}),
  });
  try {
    await engine.start();
  } catch (err) {
    if (err instanceof SharedDirError) throw new ConfigError([err.message]);
    throw err;
  }
  const telegram: TelegramFront | undefined = config.telegram.token
    ? createTelegramFront({
        engine,
        config: config.telegram,
        kv: store.space<unknown>('telegram'),
        logger,
        registry: metrics.registry,
        maxImageBytes: settings.maxImageBytes,
        ...(opts.telegramTiming ? { timing: opts.telegramTiming } : {}),
        ...(config.cluster
          ? {
              cluster: {
                url: config.store.url,
                instanceId: config.cluster.instanceId,
                leaseTtlMs: config.cluster.leaseTtlMs,
              },
            }
          : {}),
      })
    : undefined;
  const api = createApiServer({
    engine,
    config,
    logger,
    metricsRegistry: metrics.registry,
    mounts: [createCompatMount({ engine, logger })],
    images,
    console: createConsole({ engine, config, logger }),
    ...(telegram?.webhook ? { telegramWebhook: telegram.webhook } : {}),
  });
  const { url } = await api.listen();
  // The listen port may be known only now (port 0).
  if (!config.images.publicUrl) publicBase = imagesPublicUrl(config, url);
  logger.info({ url, mode: engine.mode }, 'midjourney-bridge listening');
  const telegramStarter = telegram ? keepStarting(telegram, logger, opts.telegramRetryMs) : undefined;
  // Usually settled at once; a Telegram that does not answer must not hold up start-up.
  if (telegramStarter)
    await Promise.race([
      telegramStarter.first,
      new Promise((r) => setTimeout(r, opts.telegramStartWaitMs ?? 10_000).unref()),
    ]);
  return {
    config,
    engine,
    store,
    metrics,
    sandbox,
    telegram,
    images,
    url,
    async close() {
      telegramStarter?.cancel();
      await telegram?.stop();
      await api.close();
      await engine.stop();
      await images.close();
      // The sandbox writes its state into the store: it closes first.
      if (ownSandbox) await sandbox?.close();
      await store.close();
    },
  };
}

/**
 * Starts the Telegram front without letting a Telegram outage hold up or stop the API: a failed
 * start is logged and tried again with backoff, except when Telegram refuses the token (401),
 * which no retry fixes. `first` settles after the first attempt.
 */
function keepStarting(
  front: TelegramFront,
  logger: Logger,
  firstRetryMs = 5000,
): { first: Promise<void>; cancel(): void } {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  let wait = firstRetryMs;
  const attempt = async (): Promise<void> => {
    try {
      await front.start();
      // close() came while this attempt was under way: undo it.
      if (cancelled) await front.stop();
    } catch (err) {
      if (cancelled) return;
      const failure = apiFailure(err);
      if (failure.code === 401) {
        logger.error(
          'Telegram refused the bot token (401 Unauthorized): check telegram.token / TELEGRAM_BOT_TOKEN',
        );
        return;
      }
      logger.error({ err: failure.description, retryInMs: wait }, 'Telegram bot did not start; retrying');
      timer = setTimeout(() => void attempt(), wait);
      timer.unref();
      wait = Math.min(wait * 2, 60_000);
    }
  };
  return {
    first: attempt(),
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Cluster mode (SPEC §13): this instance's node on the shared Redis. A lost lease means another
 * instance drives that account now; this process cannot tell what it still has in flight, so it
 * exits at once (its supervisor restarts it) rather than send or write anything more.
 */
function clusterOf(config: Config, logger: Logger): NonNullable<EngineOptions['cluster']> {
  const cluster = config.cluster as NonNullable<Config['cluster']>;
  const accountIds = enabledAccounts(config).map((a) => a.channel_id);
  const node = new ClusterNode({
    url: config.store.url,
    instanceId: cluster.instanceId,
    leaseTtlMs: cluster.leaseTtlMs,
    accountIds,
    logger,
    // Stored images in a directory: every instance must see the same one (SPEC §13).
    ...(config.images.store === 'local' ? { sharedDir: config.images.dir } : {}),
  });
  const queue = new SharedQueue({
    url: config.store.url,
    instanceId: cluster.instanceId,
    accountIds,
    lockMs: cluster.leaseTtlMs,
    logger,
  });
  return {
    node,
    queue,
    onLeaseLost(accountId) {
      logger.fatal({ account: accountId, instance: cluster.instanceId }, 'account lease lost: exiting');
      process.exit(1);
    },
  };
}
