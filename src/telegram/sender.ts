/**
 * The one door every outgoing Bot API call of the front goes through (SPEC §7.2, §7.7).
 *
 * - A global budget (calls in flight or completed within the last second) keeps the bot under
 *   Telegram's overall limit.
 * - Per chat: one call in flight and a least interval between calls (longer in groups).
 * - Priorities: callback answers, then final results, then other messages, then progress edits;
 *   within a priority, first come first served.
 * - 429: the chat (or everything, for calls without a chat) pauses for `retry_after`; answers,
 *   finals and messages are retried, progress edits are handed back to their owner, which sends
 *   only its newest state once the pause is over.
 * - 5xx and network failures: finals and messages are retried with backoff, a bounded number of times.
 * - 403 (blocked, kicked): that chat's queued calls are dropped; other chats never notice.
 */
import { TelegramError } from 'telegraf';
import type { Logger } from '../log.ts';

export type Priority = 'answer' | 'final' | 'message' | 'progress';

const RANK: Record<Priority, number> = { answer: 0, final: 1, message: 2, progress: 3 };

/** Performs one raw Bot API call (telegraf's `callApi`). */
export type Transport = (method: string, payload: Record<string, unknown>) => Promise<unknown>;

export interface PacingOptions {
  /** Calls started per second, all chats together. */
  globalPerSecond: number;
  /** Least time between two calls to one private chat. */
  privateIntervalMs: number;
  /** Least time between two calls to one group (Telegram: 20 messages a minute). */
  groupIntervalMs: number;
  /** Attempts of a final result (429s included) before it is given up. */
  finalAttempts: number;
  /** First backoff after a 5xx/network failure; doubles per attempt. */
  retryBaseMs: number;
}

export const DEFAULT_PACING: PacingOptions = {
  globalPerSecond: 25,
  privateIntervalMs: 1000,
  groupIntervalMs: 3000,
  finalAttempts: 12,
  retryBaseMs: 1000,
};

export interface CallOptions {
  chatId?: number | undefined;
  priority: Priority;
  /** Names the calls {@link Sender.dropProgress} may take back (a job's status edits). */
  tag?: string;
}

/** What a failed Bot API call said, whatever threw it. */
export interface ApiFailure {
  /** HTTP-like error code; 0 for network failures. */
  code: number;
  description: string;
  retryAfterS: number | undefined;
}

export function apiFailure(err: unknown): ApiFailure {
  if (err instanceof TelegramError) {
    return { code: err.code, description: err.description, retryAfterS: err.parameters?.retry_after };
  }
  if (err instanceof SenderStoppedError || err instanceof SupersededError)
    return { code: -1, description: err.message, retryAfterS: undefined };
  return { code: 0, description: err instanceof Error ? err.message : String(err), retryAfterS: undefined };
}

/** "message is not modified" is success for an edit: the message already shows that state. */
export function isNotModified(err: unknown): boolean {
  return /message is not modified/i.test(apiFailure(err).description);
}

export class SenderStoppedError extends Error {
  readonly code = 'SENDER_STOPPED';
  constructor() {
    super('the Telegram sender is stopped');
  }
}

/** A queued progress edit taken back: the state it showed is over (the job's final is on its way). */
export class SupersededError extends Error {
  readonly code = 'SUPERSEDED';
  constructor() {
    super('the progress edit was superseded');
  }
}

interface Job {
  seq: number;
  tag: string | undefined;
  method: string;
  payload: Record<string, unknown>;
  chatId: number | undefined;
  rank: number;
  attempts: number;
  notBefore: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface ChatState {
  busy: boolean;
  nextAt: number;
}

export class Sender {
  private readonly pacing: PacingOptions;
  private readonly queue: Job[] = [];
  private readonly chats = new Map<number, ChatState>();
  /** Completion times of calls in the last second, plus the calls still in flight: the budget. */
  private readonly finished: number[] = [];
  private active = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private globalPausedUntil = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private pumpQueued = false;
  private stopped = false;

  constructor(
    private readonly transport: Transport,
    private readonly logger: Logger,
    pacing: Partial<PacingOptions> = {},
  ) {
    this.pacing = { ...DEFAULT_PACING, ...pacing };
  }

  /** Queues one Bot API call; resolves with its `result`, rejects with telegraf's error. */
  call<T = unknown>(method: string, payload: Record<string, unknown>, opts: CallOptions): Promise<T> {
    if (this.stopped) return Promise.reject(new SenderStoppedError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        seq: ++this.seq,
        tag: opts.tag,
        method,
        payload,
        chatId: opts.chatId,
        rank: RANK[opts.priority],
        attempts: 0,
        notBefore: 0,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.schedulePump();
    });
  }

  /**
   * Takes back the progress edits tagged `tag` that have not started (each rejects with
   * {@link SupersededError}): a job's final must not wait behind its own stale status edit, which
   * ranks below every other chat's finals.
   */
  dropProgress(tag: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i];
      if (job && job.tag === tag && job.rank === RANK.progress) {
        this.queue.splice(i, 1);
        job.reject(new SupersededError());
      }
    }
  }

  /** Calls queued and not yet started. */
  get pending(): number {
    return this.queue.length;
  }

  /** Waits until nothing is queued or in flight (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.inflight.size > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Refuses new calls, fails the queued ones, waits for those in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const job of this.queue.splice(0)) job.reject(new SenderStoppedError());
    await Promise.allSettled([...this.inflight]);
  }

  private interval(chatId: number): number {
    return chatId < 0 ? this.pacing.groupIntervalMs : this.pacing.privateIntervalMs;
  }

  private chat(chatId: number): ChatState {
    let c = this.chats.get(chatId);
    if (!c) {
      c = { busy: false, nextAt: 0 };
      this.chats.set(chatId, c);
    }
    return c;
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private armTimer(at: number): void {
    if (this.stopped) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, at - Date.now()),
    );
  }

  private pump(): void {
    if (this.stopped) return;
    for (;;) {
      const now = Date.now();
      while (this.finished.length > 0 && (this.finished[0] ?? 0) <= now - 1000) this.finished.shift();
      if (this.queue.length === 0) {
        this.prune(now);
        return;
      }
      if (now < this.globalPausedUntil) {
        this.armTimer(this.globalPausedUntil);
        return;
      }
      // A call uses the budget from its start until a second after it completed, so that
      // calls delayed on the way can never bunch up into more than the budget at Telegram's end.
      if (this.active + this.finished.length >= this.pacing.globalPerSecond) {
        if (this.finished.length > 0) this.armTimer((this.finished[0] ?? now) + 1000);
        return;
      }
      let best: Job | undefined;
      let wakeAt = Number.POSITIVE_INFINITY;
      for (const job of this.queue) {
        let readyAt = job.notBefore;
        if (job.chatId !== undefined) {
          const c = this.chat(job.chatId);
          if (c.busy) continue;
          readyAt = Math.max(readyAt, c.nextAt);
        }
        if (readyAt > now) {
          wakeAt = Math.min(wakeAt, readyAt);
          continue;
        }
        if (!best || job.rank < best.rank || (job.rank === best.rank && job.seq < best.seq)) best = job;
      }
      if (!best) {
        if (wakeAt !== Number.POSITIVE_INFINITY) this.armTimer(wakeAt);
        return;
      }
      this.queue.splice(this.queue.indexOf(best), 1);
      this.start(best);
    }
  }

  private start(job: Job): void {
    this.active++;
    job.attempts++;
    const chat = job.chatId !== undefined ? this.chat(job.chatId) : undefined;
    if (chat) chat.busy = true;
    const run = this.transport(job.method, job.payload).then(
      (result) => {
        job.resolve(result);
      },
      (err: unknown) => this.failed(job, err),
    );
    this.inflight.add(run);
    void run.finally(() => {
      this.inflight.delete(run);
      this.active--;
      this.finished.push(Date.now());
      if (chat && job.chatId !== undefined) {
        chat.busy = false;
        chat.nextAt = Math.max(chat.nextAt, Date.now() + this.interval(job.chatId));
      }
      this.schedulePump();
    });
  }

  private failed(job: Job, err: unknown): void {
    const f = apiFailure(err);
    const now = Date.now();
    if (f.code === 429) {
      const pauseMs = Math.max(1, f.retryAfterS ?? 1) * 1000;
      if (job.chatId !== undefined) {
        const c = this.chat(job.chatId);
        c.nextAt = Math.max(c.nextAt, now + pauseMs);
      } else {
        this.globalPausedUntil = Math.max(this.globalPausedUntil, now + pauseMs);
      }
      this.logger.warn(
        { method: job.method, chat: job.chatId, retryAfter: f.retryAfterS },
        'telegram flood control',
      );
      if (job.rank <= RANK.message && job.attempts < this.pacing.finalAttempts && !this.stopped) {
        this.requeue(job, 0);
        return;
      }
    } else if ((f.code === 0 || f.code >= 500) && job.rank <= RANK.message && !this.stopped) {
      const attempts = job.rank <= RANK.final ? 5 : 3;
      if (job.attempts < attempts) {
        this.requeue(job, now + this.pacing.retryBaseMs * 2 ** (job.attempts - 1));
        return;
      }
    } else if (f.code === 403 && job.chatId !== undefined) {
      // Blocked or kicked: what is still queued for this chat can never arrive.
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const other = this.queue[i];
        if (other && other.chatId === job.chatId) {
          this.queue.splice(i, 1);
          other.reject(err);
        }
      }
    }
    job.reject(err);
  }

  /** Forgets idle chats so a long-running bot does not keep one entry per chat ever seen. */
  private prune(now: number): void {
    if (this.chats.size < 1000) return;
    for (const [id, c] of this.chats) if (!c.busy && c.nextAt < now) this.chats.delete(id);
  }

  private requeue(job: Job, notBefore: number): void {
    job.notBefore = notBefore;
    this.queue.push(job);
  }
}
