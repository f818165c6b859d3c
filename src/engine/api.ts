/**
 * What the engine offers its fronts (HTTP, Telegram). The fronts validate the shape of their
 * input; the engine checks meaning (banned words, parent task state, buttons) and throws
 * {@link EngineError} with a stable code when it refuses.
 */
import type { Task, TaskStatus } from './task.ts';

/** Who asked, so a front can find its tasks again (Telegram keeps chat and user here). */
export type TaskOrigin =
  | { kind: 'http' }
  | {
      kind: 'telegram';
      chatId: number;
      userId: number;
      statusMessageId?: number;
      /** The user's message the job answers (its status message and result reply to it). */
      replyTo?: number;
      /** The language the job's messages are written in. */
      lang?: string;
      /** Parameters the user's settings added to the prompt (shown on the status message). */
      added?: string;
    }
  /** The `/mj` API: its tasks' callbacks carry the compat task shape. */
  | { kind: 'compat' };

export interface CommonInput {
  notifyUrl?: string;
  /** A 16-digit id (epoch ms + 3 digits), as the `/mj` API's clients expect; else 19 digits. */
  shortId?: boolean;
  data?: unknown;
  origin?: TaskOrigin;
  /**
   * The speed the job runs in (SPEC §12.1): when its prompt carries no `--fast`/`--relax`/`--turbo`
   * (blend, describe), the account is switched to it first. Follow-ups ignore it: they run in
   * their parent's.
   */
  speed?: 'fast' | 'relax' | 'turbo';
}

/** Which Midjourney bot runs a task (SPEC §14). */
export type BotName = 'midjourney' | 'niji';

export interface ImagineInput extends CommonInput {
  prompt: string;
  /** http(s) URLs or `data:image/...;base64,` URIs; at most 5. */
  images?: string[];
  /** Default `midjourney`; `niji` sends `/imagine` to the niji bot. */
  bot?: BotName;
}

/** `/shorten <prompt>`: a SHORTEN task whose `prompts` are Midjourney's five shorter prompts. */
export interface ShortenInput extends CommonInput {
  prompt: string;
  bot?: BotName;
}

/**
 * A video from a start image (SPEC §14): sent as `/imagine <image> <prompt> --video 1 --motion …`.
 * `image` and `endImage` are http(s) URLs or data URIs, uploaded like image prompts.
 */
export interface VideoInput extends CommonInput {
  prompt: string;
  image: string;
  motion: 'low' | 'high';
  endImage?: string;
  /** `--end loop`: the video ends where it started (ignored when `endImage` is given). */
  loop?: boolean;
  /** `--bs`: how many videos Midjourney makes. */
  batchSize?: 1 | 2 | 4;
}

export interface ActionInput extends CommonInput {
  taskId: string;
  customId: string;
  prompt?: string;
  /** base64 PNG, white = area to redo (VARIATION_REGION). */
  mask?: string;
}

export interface DescribeInput extends CommonInput {
  image: string;
}

export type BlendDimensions = 'PORTRAIT' | 'SQUARE' | 'LANDSCAPE';

export interface BlendInput extends CommonInput {
  images: string[];
  dimensions?: BlendDimensions;
}

export interface AccountHealth {
  id: string;
  /** `paused`: Midjourney blocked the account for a while; it comes back by itself at `pausedUntil`. */
  state: 'connecting' | 'ready' | 'reconnecting' | 'paused' | 'disabled';
  reason: string | null;
  running: number;
  queued: number;
  /** Speed mode from `/info` (SPEC §14), once read. */
  mode?: 'fast' | 'relax' | 'turbo';
  /** Fast hours left, from `/info`. */
  fastTimeRemaining?: number;
  /** The plan as `/info` words it, e.g. `Standard (Active monthly, renews next on …)`. */
  subscription?: string;
  /** Unix seconds at which a timed block ends (state `paused`). */
  pausedUntil?: number;
  /** Remix mode of the account, once known: V / Vary / pan / reroll then open a form first. */
  remix?: boolean;
  /** `accounts[].remixAutoSubmit`: on `/mj`, a remix form is answered with the parent's prompt at once. */
  remixAutoSubmit?: boolean;
}

export interface Health {
  status: 'ok' | 'degraded';
  mode: 'live' | 'sandbox';
  accounts: AccountHealth[];
  queue: number;
  /** Several instances on one Redis (SPEC §13): this instance and the account leases it holds. */
  instance?: { id: string; accounts: string[] };
  /** Live instances and the tasks waiting in all their queues. */
  cluster?: { instances: number; queue: number };
  /** The image store (§6.7). */
  images?: { store: string; ok: boolean };
}

/** Events: every persisted task change, and account state changes. */
export interface EngineEvents {
  task: [task: Task, origin: TaskOrigin | undefined];
  account: [account: AccountHealth];
}

export interface EngineApi {
  imagine(input: ImagineInput): Promise<Task>;
  action(input: ActionInput): Promise<Task>;
  describe(input: DescribeInput): Promise<Task>;
  blend(input: BlendInput): Promise<Task>;
  /** A follow-up that waits for its form (MODAL): no slot, no queue place, until {@link release}. */
  prepare(input: Omit<ActionInput, 'prompt' | 'mask'>): Promise<Task>;
  /** Runs a prepared task with the form's prompt and mask. */
  release(taskId: string, form: { prompt?: string; mask?: string }): Promise<Task>;
  /** Hosts images on Discord without a job; returns their CDN URLs. */
  hostImages(images: string[]): Promise<string[]>;
  shorten(input: ShortenInput): Promise<Task>;
  video(input: VideoInput): Promise<Task>;
  /** The task's seed: read once through the ✉️ reaction and Midjourney's DM, then cached on the task. */
  seed(taskId: string): Promise<string>;
  cancel(taskId: string): Promise<Task>;
  get(taskId: string): Promise<Task | undefined>;
  /** The task's JSON as last persisted (what `get` returns, serialised), without a copy. */
  getJson?(taskId: string): Promise<string | undefined>;
  list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]>;
  health(): Health;
  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
}
