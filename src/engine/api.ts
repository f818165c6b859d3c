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
      /** The language the job's messages are written in. */
      lang?: string;
      /** Parameters the user's settings added to the prompt (shown on the status message). */
      added?: string;
    };

export interface CommonInput {
  notifyUrl?: string;
  data?: unknown;
  origin?: TaskOrigin;
}

export interface ImagineInput extends CommonInput {
  prompt: string;
  /** http(s) URLs or `data:image/...;base64,` URIs; at most 5. */
  images?: string[];
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
  state: 'connecting' | 'ready' | 'reconnecting' | 'disabled';
  reason: string | null;
  running: number;
  queued: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  mode: 'live' | 'sandbox';
  accounts: AccountHealth[];
  queue: number;
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
  cancel(taskId: string): Promise<Task>;
  get(taskId: string): Promise<Task | undefined>;
  list(filter: { status?: TaskStatus; limit: number }): Promise<Task[]>;
  health(): Health;
  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
}
