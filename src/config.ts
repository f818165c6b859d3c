/**
 * The one source of configuration: a zod schema for the whole file (SPEC §2.3), the environment
 * overrides of §2.2, and start-up validation that names every problem by its key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { jsonErrorAt } from './config-json.ts';

const DEFAULT_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36';

const httpUrl = z.string().refine((s) => /^https?:\/\/[^\s/]+/.test(s), 'must be an http(s) URL');
const wsUrl = z.string().refine((s) => /^wss?:\/\/[^\s/]+/.test(s), 'must be a ws(s) URL');
const snowflake = z.string().regex(/^\d{5,25}$/, 'must be a Discord id (digits)');

const accountSchema = z.strictObject({
  enable: z.boolean().default(true),
  token: z.string().min(1, 'must not be empty'),
  guild_id: snowflake.optional(),
  channel_id: snowflake,
  useragent: z.string().min(1).default(DEFAULT_UA),
  concurrency: z.number().int().min(1).max(12).default(3),
  timeoutMinutes: z
    .number()
    .positive()
    .max(24 * 60)
    .default(10),
  /** Out of fast hours: switch the account to relax mode instead of failing (SPEC §14). */
  relaxWhenFastRunsOut: z.boolean().default(true),
  /**
   * With remix on, V / reroll / pan on `/mj` run at once with the parent's prompt instead of
   * answering code 21 for a form (SPEC §12.2, mj-plus's `remix-auto-submit`).
   */
  remixAutoSubmit: z.boolean().default(false),
});

const proxySchema = z.strictObject({
  server: httpUrl.default('https://discord.com'),
  cdn: httpUrl.default('https://cdn.discordapp.com'),
  gateway: wsUrl.default('wss://gateway.discord.gg'),
  upload: httpUrl.default('https://discord-attachments-uploads-prd.storage.googleapis.com'),
  inpaint: httpUrl.default('https://936929561302675456.discordsays.com'),
});

const storeSchema = z.strictObject({
  url: z
    .string()
    .refine((s) => /^(sqlite|redis|rediss):\/\/.+/.test(s), 'must be sqlite://<path> or redis://host:port/db')
    .default('sqlite://data/midjourney-bridge.sqlite'),
  expiredDates: z.number().positive().default(30),
});

const bannedWordsSchema = z.union([
  z.null(),
  z.array(z.string().min(1)),
  z.strictObject({ file: z.string().min(1) }),
]);

const settingsSchema = z.strictObject({
  debug: z.boolean().default(false),
  secret: z.string().default(''),
  notifyUrl: z.union([z.literal(''), httpUrl]).default(''),
  apiPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'must be letters, digits, - or _ (no slashes)')
    .default(''),
  bannedWords: bannedWordsSchema.default(null),
  maxQueue: z.number().int().min(0).default(100),
  maxImageBytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  interactionIntervalMs: z.number().int().min(0).default(1000),
  allowPrivateNetworks: z.boolean().default(false),
});

const telegramSchema = z.strictObject({
  token: z.string().default(''),
  apiRoot: httpUrl.default('https://api.telegram.org'),
  allowedUsers: z.array(z.union([z.number().int(), z.string().regex(/^@?\w+$/)])).default([]),
  admins: z.array(z.union([z.number().int(), z.string().regex(/^@?\w+$/)])).default([]),
  maxJobsPerUser: z.number().int().min(1).default(3),
  /** Speeds users may pick in /settings (SPEC §15). */
  speeds: z
    .array(z.enum(['fast', 'relax', 'turbo']))
    .default(['fast', 'relax'])
    .refine((list) => new Set(list).size === list.length, 'each speed at most once'),
  webhook: z
    .union([z.null(), z.strictObject({ url: httpUrl, secret: z.string().default('') })])
    .default(null),
});

const optionalUrl = z.union([z.literal(''), httpUrl]);

const imagesS3Schema = z.strictObject({
  endpoint: optionalUrl.default(''),
  region: z.string().min(1).default('auto'),
  bucket: z.string().default(''),
  accessKeyId: z.string().default(''),
  secretAccessKey: z.string().default(''),
  prefix: z
    .string()
    .regex(/^(?:[\w.-]+\/)*$/, 'must be empty or path segments each ending in / (e.g. "mjb/")')
    .default('mjb/'),
  publicUrl: optionalUrl.default(''),
});

/** Stored results (SPEC §6.7). */
const imagesSchema = z
  .strictObject({
    store: z.enum(['local', 's3', 'off']).default('local'),
    dir: z.string().min(1, 'must not be empty').default('data/images'),
    publicUrl: optionalUrl.default(''),
    split: z.boolean().default(true),
    s3: imagesS3Schema.default(imagesS3Schema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.store === 's3' && !cfg.s3.bucket)
      ctx.addIssue({
        code: 'custom',
        path: ['s3', 'bucket'],
        message: 'is required when images.store is "s3"',
      });
  });

const consoleSchema = z.strictObject({
  /** Without a secret: also let other machines act (not only look). */
  open: z.boolean().default(false),
});

/** Several instances on one Redis (SPEC §13); absent or null: this process works alone. */
const clusterSchema = z.strictObject({
  /** This instance's name in `/health` and in the leases it holds; unique in the cluster. */
  instanceId: z
    .string()
    .regex(/^[\w.:-]{1,100}$/, 'must be 1–100 letters, digits, or . _ : -')
    .default(() => `${hostname()}-${process.pid}`),
  /** An account's lease lapses this long after its holder stopped renewing (renewed every third). */
  leaseTtlMs: z.number().int().min(300).max(600_000).default(15_000),
});

const commandSchema = z.strictObject({ id: snowflake, version: snowflake });

const midjourneySchema = z.strictObject({
  commands: z
    .strictObject({
      imagine: commandSchema.optional(),
      describe: commandSchema.optional(),
      blend: commandSchema.optional(),
    })
    .default({}),
});

/** The whole configuration file; every section optional, every key defaulted. */
export const configSchema = z
  .strictObject({
    listen: httpUrl.refine((s) => URL.canParse(s), 'must be a valid URL').default('http://0.0.0.0:8686'),
    accounts: z.array(accountSchema).default([]),
    proxy: proxySchema.default(proxySchema.parse({})),
    store: storeSchema.default(storeSchema.parse({})),
    settings: settingsSchema.default(settingsSchema.parse({})),
    telegram: telegramSchema.default(telegramSchema.parse({})),
    midjourney: midjourneySchema.default(midjourneySchema.parse({})),
    images: imagesSchema.default(imagesSchema.parse({})),
    console: consoleSchema.default(consoleSchema.parse({})),
    cluster: z.union([z.null(), clusterSchema]).default(null),
    sandbox: z.strictObject({ speed: z.number().positive().max(10_000).default(1) }).default({ speed: 1 }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.accounts.forEach((a, i) => {
      const prev = seen.get(a.channel_id);
      if (prev !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', i, 'channel_id'],
          message: `duplicates accounts[${prev}].channel_id`,
        });
      }
      seen.set(a.channel_id, i);
    });
    if (cfg.cluster) {
      if (!/^rediss?:\/\//.test(cfg.store.url)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster'],
          message: 'needs store.url redis://… (every instance shares one Redis)',
        });
      }
      if (!cfg.accounts.some((a) => a.enable)) {
        ctx.addIssue({
          code: 'custom',
          path: ['cluster'],
          message: 'needs the accounts every instance shares (for a try-out: npm run sandbox)',
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;
export type AccountConfig = z.infer<typeof accountSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;
export type SettingsConfig = z.infer<typeof settingsSchema>;
export type TelegramConfig = z.infer<typeof telegramSchema>;
export type ImagesConfig = z.infer<typeof imagesSchema>;

/** The base URL stored images are served at: `images.publicUrl`, else the listen URL (0.0.0.0 shown as 127.0.0.1). */
export function imagesPublicUrl(cfg: Config, listening?: string): string {
  if (cfg.images.publicUrl) return cfg.images.publicUrl.replace(/\/+$/, '');
  if (listening) return listening;
  const u = new URL(cfg.listen);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  return u.origin;
}
export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type ClusterConfig = z.infer<typeof clusterSchema>;

/** Start-up configuration problems, one readable line per problem. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

function keyName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

function applyEnv(raw: Record<string, unknown>, env: Env, problems: string[]): void {
  const section = (name: string): Record<string, unknown> => {
    const cur = raw[name];
    if (cur && typeof cur === 'object' && !Array.isArray(cur)) return cur as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    raw[name] = fresh;
    return fresh;
  };
  if (env.PORT) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT: must be a port number`);
    else {
      let listen: URL | undefined;
      try {
        listen = new URL(typeof raw.listen === 'string' ? raw.listen : 'http://0.0.0.0:8686');
      } catch {
        listen = undefined;
      }
      // A listen that is no URL is reported by the schema below, naming `listen`.
      if (listen && /^https?:$/.test(listen.protocol)) {
        listen.port = String(port);
        raw.listen = listen.origin;
      }
    }
  }
  if (env.MJB_SECRET !== undefined) section('settings').secret = env.MJB_SECRET;
  if (env.TELEGRAM_BOT_TOKEN !== undefined) section('telegram').token = env.TELEGRAM_BOT_TOKEN;
  if (env.MJB_STORE) section('store').url = env.MJB_STORE;
  if (env.LOG_LEVEL) raw.logLevel = env.LOG_LEVEL;
  if (env.DISCORD_TOKEN || env.DISCORD_CHANNEL_ID) {
    if (!env.DISCORD_TOKEN || !env.DISCORD_CHANNEL_ID) {
      problems.push('DISCORD_TOKEN and DISCORD_CHANNEL_ID: both are needed to add an account');
      return;
    }
    const accounts = Array.isArray(raw.accounts) ? raw.accounts : [];
    accounts.push({
      token: env.DISCORD_TOKEN,
      channel_id: env.DISCORD_CHANNEL_ID,
      ...(env.DISCORD_GUILD_ID ? { guild_id: env.DISCORD_GUILD_ID } : {}),
    });
    raw.accounts = accounts;
  }
}

/**
 * Reads the file named by `MJB_CONFIG` (else `./config.json` if present), applies the environment
 * and validates everything. Throws {@link ConfigError} listing every problem.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  const named = env.MJB_CONFIG;
  const path = named ?? `${cwd}/config.json`;
  if (named && !existsSync(named)) throw new ConfigError([`MJB_CONFIG: file ${named} does not exist`]);
  if (existsSync(path)) {
    let text = '';
    try {
      // A byte-order mark is what some editors save first; it is not part of the JSON.
      text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError([`${path}: must hold a JSON object`]);
      }
      raw = parsed as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // JSON.parse's message may quote the file (and a token in it): only say where.
      const at = jsonErrorAt(text);
      throw new ConfigError([
        at
          ? `${path}: not valid JSON at line ${at.line}, column ${at.column}`
          : `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      ]);
    }
  }
  return parseConfig(raw, env, problems);
}

/** Validates an already-parsed configuration object (plus environment overrides). */
export function parseConfig(raw: Record<string, unknown>, env: Env = {}, problems: string[] = []): Config {
  const copy = structuredClone(raw);
  applyEnv(copy, env, problems);
  const result = configSchema.safeParse(copy);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problems.push(`${keyName([...issue.path, k])}: unknown key`);
      } else {
        problems.push(`${keyName(issue.path)}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** The accounts that will actually be used. */
export function enabledAccounts(cfg: Config): AccountConfig[] {
  return cfg.accounts.filter((a) => a.enable);
}
