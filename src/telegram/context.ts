/**
 * What the parts of the Telegram front share: the engine, the paced sender, the persistent keys,
 * the access rules, the timings (small in tests) and a place to park background work so that
 * `stop()` can wait for it.
 */
import type { EngineApi, TaskOrigin } from '../engine/api.ts';
import type { Logger } from '../log.ts';
import type { Access } from './access.ts';
import type { CallbackKeys } from './callback-keys.ts';
import type { History } from './history.ts';
import type { UserJobs } from './jobs.ts';
import type { KeyValue } from './kv.ts';
import type { UserPrefs } from './prefs.ts';
import type { PacingOptions, Sender } from './sender.ts';

export interface TelegramTiming {
  /** Least time between two edits of one status message in a private chat. */
  privateEditMs: number;
  /** The same in groups. */
  groupEditMs: number;
  /** Least time between two preview-image swaps of one status message. */
  previewEditMs: number;
  /** How long to wait for more photos of an album after the last one arrived. */
  mediaGroupMs: number;
  /** Debounce of queue-position refreshes after the queue moved. */
  queueRefreshMs: number;
  /** Timeout of image downloads (user photos, previews, results). */
  downloadTimeoutMs: number;
  /** How long `stop()` waits for final results still queued. */
  stopDrainMs: number;
  pacing: Partial<PacingOptions>;
}

export const DEFAULT_TIMING: TelegramTiming = {
  privateEditMs: 3000,
  groupEditMs: 5000,
  previewEditMs: 10_000,
  mediaGroupMs: 1200,
  queueRefreshMs: 1000,
  downloadTimeoutMs: 15_000,
  stopDrainMs: 3000,
  pacing: {},
};

export interface FrontContext {
  engine: EngineApi;
  sender: Sender;
  keys: CallbackKeys;
  kv: KeyValue;
  jobs: UserJobs;
  access: Access;
  /** Per-user settings and language. */
  prefs: UserPrefs;
  /** Each user's finished results. */
  history: History;
  /** Speeds users may choose in /settings. */
  speeds: readonly string[];
  logger: Logger;
  timing: TelegramTiming;
  token: string;
  apiRoot: string;
  maxJobsPerUser: number;
  /** Largest input image accepted from a user. */
  maxImageBytes: number;
  /** The bot's own user id and username (after getMe). */
  bot: { id: number; username: string };
  /** The status messages (set by the front once the tracker exists). */
  progress: {
    /** A job was created here (in a cluster it is registered for the instance that shows it). */
    created(taskId: string, origin: Extract<TaskOrigin, { kind: 'telegram' }>): Promise<void>;
    taskOfMessage(chatId: number, messageId: number): Promise<string | undefined>;
  };
  /** Runs background work; `stop()` waits for it and errors are logged, never thrown. */
  spawn(what: string, work: () => Promise<unknown>): void;
}
