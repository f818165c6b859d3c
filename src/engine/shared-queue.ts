/**
 * The cluster's waiting line on BullMQ (SPEC §13): one queue for new work and one per account for
 * the follow-ups pinned to it, on the shared Redis. Any instance adds to them; the holder of an
 * account's lease takes jobs for that account when it has a free slot, with a non-blocking fetch
 * (BullMQ's manual processing). A job is a pointer to a stored task, never the task itself: the
 * task's stored status is the truth, so a job BullMQ hands out again (its taker died and the
 * stalled-job check put it back) is only acted on while its task is still `PENDING`.
 *
 * Beside BullMQ it keeps two small structures of its own: the set of waiting task ids (a sorted
 * set by queue time), which makes `settings.maxQueue` one atomic check for the whole cluster, and
 * a slot set per account (the ids of the tasks holding one of its slots), so `concurrency` holds
 * cluster-wide even while a lease moves.
 */
import { createClient } from '@redis/client';
import { createNodeRedisClient, type Job, Queue, Worker } from 'bullmq';
import type { Logger } from '../log.ts';
import { EngineError } from './errors.ts';
import type { RedisClient } from './leases.ts';

export interface SharedQueueOptions {
  url: string;
  instanceId: string;
  /** Every enabled account of the shared configuration, by id. */
  accountIds: string[];
  /** How long a taken job stays locked without renewal before BullMQ gives it to another instance. */
  lockMs: number;
  logger: Logger;
  /** Key prefix in Redis for BullMQ's keys (default `mjb:bull`) and ours (default `mjb:cluster:`). */
  bullPrefix?: string;
  prefix?: string;
}

/** What a job carries: which task, and which wait of it (a task requeued after `Queue full` waits again). */
interface JobData {
  id: string;
  queuedAtMs: number;
}

/** A job this instance took, locked by `token` until it is finished or put back. */
export interface TakenJob {
  taskId: string;
  queuedAtMs: number;
  /** Taken from the account's own queue (a pinned follow-up), not from the new-work queue. */
  pinned: boolean;
}

interface Held {
  job: Job<JobData>;
  token: string;
  worker: Worker<JobData>;
}

/** What a waiting task needs to be put in line. */
export interface Waiting {
  id: string;
  queuedAtMs: number;
  /** The account it is pinned to (a follow-up), or null for new work. */
  accountId: string | null;
}

const NEW_WORK = 'new';

/** Adds to the waiting set only while it holds fewer than the limit (the cluster-wide `maxQueue`). */
const RESERVE = `if redis.call('zscore', KEYS[1], ARGV[1]) then return 1 end
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[2], ARGV[1]) return 1`;
/** Takes one of an account's slots for a task (already holding one counts as taken). */
const TAKE_SLOT = `if redis.call('sismember', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('scard', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('sadd', KEYS[1], ARGV[1]) return 1`;

/** The job id of one wait of a task (BullMQ refuses ids that are plain integers, as task ids are). */
export function jobIdOf(w: Pick<Waiting, 'id' | 'queuedAtMs'>): string {
  return `${w.id}-${w.queuedAtMs}`;
}

export class SharedQueue {
  private readonly redis: RedisClient;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly bullPrefix: string;
  private readonly queues = new Map<string, Queue<JobData>>();
  private readonly workers = new Map<string, Worker<JobData>>();
  private readonly held = new Map<string, Held>();
  private lockTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: SharedQueueOptions) {
    this.prefix = opts.prefix ?? 'mjb:cluster:';
    this.bullPrefix = opts.bullPrefix ?? 'mjb:bull';
    this.log = opts.logger.child({ room: 'cluster-queue', instance: opts.instanceId });
    this.redis = createClient({ url: opts.url });
    this.redis.on('error', (err: Error) =>
      this.log.error({ err: err.message }, 'queue Redis connection error'),
    );
  }

  /**
   * Connects and opens the queues. Every instance runs BullMQ's stalled-job check on every queue,
   * so a job taken by an instance that died goes back to its queue (at its head) whoever is left.
   */
  async start(): Promise<void> {
    await this.redis.connect();
    // One BullMQ adapter around our client, shared by every queue and worker: handed the raw
    // client, BullMQ would wrap it once per queue and per worker, each wrapper adding its own
    // listeners to it (past Node’s limit of ten from four accounts on: a
    // MaxListenersExceededWarning at every start). Sharing the wrapper, BullMQ itself raises its
    // listener limit for each user; workers still duplicate it for their blocking reads.
    const connection = createNodeRedisClient(this.redis);
    for (const name of [NEW_WORK, ...this.opts.accountIds.map((a) => `account-${a}`)]) {
      const queue = new Queue<JobData>(name, { connection, prefix: this.bullPrefix });
      const worker = new Worker<JobData>(name, null, {
        connection,
        prefix: this.bullPrefix,
        autorun: false,
        lockDuration: this.opts.lockMs,
        stalledInterval: Math.max(100, Math.floor(this.opts.lockMs / 2)),
        // A job only points at a task; however often it comes back, the store says what to do.
        maxStalledCount: 1_000_000,
      });
      const onError = (err: Error) => this.log.warn({ queue: name, err: err.message }, 'BullMQ error');
      queue.on('error', onError);
      worker.on('error', onError);
      this.queues.set(name, queue);
      this.workers.set(name, worker);
      await worker.startStalledCheckTimer();
    }
    this.lockTimer = setInterval(
      () => void this.extendLocks(),
      Math.max(100, Math.floor(this.opts.lockMs / 3)),
    );
    this.lockTimer.unref();
  }

  /** Closes the queues; jobs still held here are left to BullMQ's stalled-job check. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lockTimer) clearInterval(this.lockTimer);
    await Promise.allSettled([...this.workers.values()].map((w) => w.close(true)));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    await this.redis.quit().catch(() => {});
  }

  // ------------------------------------------------------------------ the waiting set

  /**
   * Takes a place in the cluster's line for a new task, atomically against every instance.
   * @throws {EngineError} QUEUE_FULL when `max` tasks already wait
   */
  async reserve(w: Waiting, max: number): Promise<void> {
    const ok = await this.redis.eval(RESERVE, {
      keys: [this.key('waiting')],
      arguments: [w.id, String(w.queuedAtMs), String(max)],
    });
    if (ok !== 1) throw new EngineError('QUEUE_FULL', 'queue is full');
  }

  /** The task no longer waits (it started, failed, or its reservation was given back). */
  async left(taskId: string): Promise<void> {
    await this.redis.zRem(this.key('waiting'), taskId);
  }

  /** How many tasks wait in the whole cluster. */
  async waitingCount(): Promise<number> {
    return this.redis.zCard(this.key('waiting'));
  }

  /**
   * The 1-based place of each task in the cluster's line (by the time it was queued, as the
   * accounts take work), or null for one not waiting. One round trip for all of them.
   */
  async places(taskIds: readonly string[]): Promise<(number | null)[]> {
    if (taskIds.length === 0) return [];
    const m = this.redis.multi();
    for (const id of taskIds) m.zRank(this.key('waiting'), id);
    const ranks = (await m.exec()) as unknown[];
    return ranks.map((r) => (typeof r === 'number' ? r + 1 : null));
  }

  /** Every waiting task id with the time it was queued (for the sweep). */
  async waitingEntries(): Promise<{ id: string; queuedAtMs: number }[]> {
    const rows = await this.redis.zRangeWithScores(this.key('waiting'), 0, -1);
    return rows.map((r) => ({ id: r.value, queuedAtMs: r.score }));
  }

  // ------------------------------------------------------------------ jobs

  /**
   * Puts a stored `PENDING` task in line: in its account's queue when pinned, else in the new-work
   * queue; `front` puts it at the head (a task that must run before newer ones). Adding the same
   * wait twice adds one job (the job id is the task id and its queue time).
   */
  async add(w: Waiting, front = false): Promise<void> {
    await this.redis.zAdd(this.key('waiting'), { score: w.queuedAtMs, value: w.id });
    await this.queueOf(w.accountId).add(
      'task',
      { id: w.id, queuedAtMs: w.queuedAtMs },
      { jobId: jobIdOf(w), lifo: front, removeOnComplete: true, removeOnFail: true },
    );
  }

  /**
   * Takes the next job for `accountId`: its pinned follow-ups first, then new work. The job stays
   * locked to this instance (renewed) until {@link finish} or {@link putBack}.
   */
  async take(accountId: string): Promise<TakenJob | undefined> {
    if (this.closed) return undefined;
    for (const [name, pinned] of [
      [`account-${accountId}`, true],
      [NEW_WORK, false],
    ] as const) {
      const worker = this.workers.get(name);
      if (!worker) continue;
      const token = `${this.opts.instanceId}:${++this.seq}`;
      const job = (await worker.getNextJob(token, { block: false })) as Job<JobData> | undefined;
      if (!job?.data) continue;
      this.held.set(job.data.id, { job, token, worker });
      return { taskId: job.data.id, queuedAtMs: job.data.queuedAtMs, pinned };
    }
    return undefined;
  }

  /** The taken job is done with (its task started, or was not to be run): it leaves BullMQ. */
  async finish(taskId: string): Promise<void> {
    const h = this.held.get(taskId);
    if (!h) return;
    this.held.delete(taskId);
    try {
      await h.job.moveToCompleted('taken', h.token, false);
    } catch (err) {
      // The lock was lost (this instance stalled): BullMQ gives the job out again, and the
      // next taker finds the task no longer PENDING.
      this.log.warn({ task: taskId, err: (err as Error).message }, 'could not complete a taken job');
    }
  }

  /**
   * Renews the lock of a taken job right before its task starts: false when the lock was lost (this
   * instance stalled past `lockMs`, and BullMQ may have handed the job to another instance).
   */
  async confirm(taskId: string): Promise<boolean> {
    const h = this.held.get(taskId);
    if (!h) return false;
    if ((await h.job.extendLock(h.token, this.opts.lockMs)) === 1) return true;
    this.held.delete(taskId);
    return false;
  }

  /** Gives a taken job back, at the head of its queue (it could not start here after all). */
  async putBack(taskId: string): Promise<void> {
    const h = this.held.get(taskId);
    if (!h) return;
    this.held.delete(taskId);
    try {
      await h.job.moveToWait(h.token);
    } catch (err) {
      this.log.warn({ task: taskId, err: (err as Error).message }, 'could not put a taken job back');
    }
  }

  /** Removes a waiting job nobody took: true when it was waiting (or gone), false when it is taken. */
  async remove(w: Waiting): Promise<boolean> {
    const queue = this.queueOf(w.accountId);
    const id = jobIdOf(w);
    const removed = await queue.remove(id);
    if (removed === 1) return true;
    return (await queue.getJobState(id)) === 'unknown';
  }

  /** Whether a wait of a task has its job in BullMQ (waiting, taken, or delayed). */
  async hasJob(w: Waiting): Promise<boolean> {
    const state = await this.queueOf(w.accountId).getJobState(jobIdOf(w));
    return state !== 'unknown' && state !== 'completed' && state !== 'failed';
  }

  /** Jobs waiting in an account's own queue (its pinned follow-ups). */
  async pinnedCount(accountId: string): Promise<number> {
    return (await this.queues.get(`account-${accountId}`)?.getWaitingCount()) ?? 0;
  }

  // ------------------------------------------------------------------ slots

  /** Takes a slot of `accountId` for a task; false when `limit` tasks hold one already. */
  async takeSlot(accountId: string, taskId: string, limit: number): Promise<boolean> {
    const ok = await this.redis.eval(TAKE_SLOT, {
      keys: [this.key(`slots:${accountId}`)],
      arguments: [taskId, String(limit)],
    });
    return ok === 1;
  }

  async freeSlot(accountId: string, taskId: string): Promise<void> {
    await this.redis.sRem(this.key(`slots:${accountId}`), taskId);
  }

  /** Sets who holds the account's slots (a new lease holder, from what it adopted). */
  async setSlots(accountId: string, taskIds: string[]): Promise<void> {
    const key = this.key(`slots:${accountId}`);
    const m = this.redis.multi().del(key);
    if (taskIds.length) m.sAdd(key, taskIds);
    await m.exec();
  }

  async slotHolders(accountId: string): Promise<string[]> {
    return this.redis.sMembers(this.key(`slots:${accountId}`));
  }

  // ------------------------------------------------------------------ prepared forms

  /** A prepared form (MODAL) waits until `deadlineMs`; one already registered keeps its deadline. */
  async parkForm(taskId: string, deadlineMs: number): Promise<void> {
    await this.redis.zAdd(this.key('forms'), { score: deadlineMs, value: taskId }, { condition: 'NX' });
  }

  /** Ends a form's wait (released, cancelled, timed out): true for the one caller that ended it. */
  async claimForm(taskId: string): Promise<boolean> {
    return (await this.redis.zRem(this.key('forms'), taskId)) === 1;
  }

  /** The forms whose deadline is before `ms`. */
  async formsDue(ms: number): Promise<string[]> {
    return this.redis.zRangeByScore(this.key('forms'), '-inf', ms);
  }

  // ------------------------------------------------------------------ inside

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private queueOf(accountId: string | null): Queue<JobData> {
    const name = accountId ? `account-${accountId}` : NEW_WORK;
    const q = this.queues.get(name);
    if (!q) throw new EngineError('NO_ACCOUNT', `account ${accountId} is not configured`);
    return q;
  }

  /** Renews the locks of the jobs held here (BullMQ's manual processing renews nothing itself). */
  private async extendLocks(): Promise<void> {
    for (const [taskId, h] of [...this.held]) {
      try {
        if ((await h.job.extendLock(h.token, this.opts.lockMs)) !== 1) {
          this.log.warn({ task: taskId }, 'a taken job’s lock was lost; another instance may take it');
        }
      } catch (err) {
        this.log.warn({ task: taskId, err: (err as Error).message }, 'could not renew a taken job’s lock');
      }
    }
  }
}
