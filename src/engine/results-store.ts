/**
 * Stored results (SPEC §6.7) on the engine's side: a finished task's image (and video) is copied
 * from Discord into the image archive before `FINISHED` is announced; a failed copy finishes the
 * task anyway (with the Discord URL), is counted, and is tried again by a later read at most once
 * a minute; a result that is not stored gets its expired Discord link refreshed on read, at most
 * once an hour. The engine calls {@link ResultFiler.finish} from its finish path and
 * {@link ResultFiler.onRead} when a task is read.
 */
import { randomBytes } from 'node:crypto';
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { Gate } from '../images/gate.ts';
import type { ImageArchive } from '../images/types.ts';
import type { Logger } from '../log.ts';
import { isGridResult } from '../midjourney/index.ts';
import { replaceCdn } from './cdn.ts';
import { DOWNLOAD_MAX_BYTES, downloadResult } from './result-download.ts';
import type { TaskRecord } from './store.ts';
import type { Task } from './task.ts';

/** Stored-image bookkeeping kept in the task's record (never shown to callers). */
export interface ImageMeta {
  /** The capability part of the task's file URLs. */
  token: string;
  /** Every file of the result is in the archive. */
  stored: boolean;
  /** Last copy attempt (ms), for the once-a-minute retry. */
  lastTryMs: number;
  /** Last Discord link refresh (ms), for the once-an-hour limit. */
  refreshedAtMs?: number;
}

type Change = (task: Task, meta: TaskRecord['meta']) => void;

/** Discord's answer to `POST /attachments/refresh-urls`. */
const refreshAnswer = z.object({
  refreshed_urls: z.array(z.object({ original: z.string(), refreshed: z.string() })),
});

export interface ResultFilerOptions {
  archive: ImageArchive | undefined;
  cdnOrigin: string;
  logger: Logger;
  registry?: Registry;
  /** Persists a record without announcing it (terminal tasks whose links changed). */
  save(rec: TaskRecord): Promise<void>;
  /** `POST /attachments/refresh-urls` through an account (the task's, else any usable one). */
  refreshUrls(rec: TaskRecord, urls: string[]): Promise<unknown>;
  /** Download timings; small in tests. */
  download?: { attempts?: number; backoffMs?: number; timeoutMs?: number };
  /** Least time between two copy attempts of one task on read (default 1 min). */
  retryEveryMs?: number;
  /** Least time between two link refreshes of one task (default 1 h). */
  refreshEveryMs?: number;
  /** How long a read waits for a copy it started (default 5 s); past it the read answers as is. */
  readWaitMs?: number;
  /**
   * Copies in flight at once (default 4): the slot is free once Midjourney's final arrives, so
   * without a bound a burst of results would hold every downloaded file in memory at once.
   */
  copiesAtOnce?: number;
  /** Each stored image's timings: the download, and the rest (split, thumbnails, writes). For benches. */
  onTiming?: (t: { taskId: string; downloadMs: number; storeMs: number }) => void;
}

const DISCORD_CDN = /^https:\/\/(?:cdn\.discordapp\.com|media\.discordapp\.net)\//;

/** The `ex=` time (ms) of a signed Discord link, or null when it has none. */
export function linkExpiry(url: string | null): number | null {
  if (!url) return null;
  try {
    const ex = new URL(url).searchParams.get('ex');
    if (!ex || !/^[0-9a-f]{1,12}$/i.test(ex)) return null;
    return Number.parseInt(ex, 16) * 1000;
  } catch {
    return null;
  }
}

export class ResultFiler {
  private readonly holding = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly reads = new Map<string, Promise<void>>();
  private readonly stopper = new AbortController();
  private readonly log: Logger;
  private readonly failures: Counter<'kind'> | undefined;
  private readonly storeSeconds: Histogram | undefined;
  private readonly copies: Gate;

  constructor(private readonly opts: ResultFilerOptions) {
    this.log = opts.logger.child({ room: 'engine', part: 'images' });
    this.copies = new Gate(opts.copiesAtOnce ?? 4);
    if (opts.registry) {
      this.failures = new Counter({
        name: 'mjb_image_store_failures_total',
        help: 'Result copies that failed after their retries, by file kind',
        labelNames: ['kind'],
        registers: [opts.registry],
      });
      this.storeSeconds = new Histogram({
        name: 'mjb_image_store_seconds',
        help: 'Time to store a result beyond its download (split, thumbnails, writes)',
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [opts.registry],
      });
    }
  }

  /** The `/health` entry. */
  health(): { store: string; ok: boolean } {
    return this.opts.archive?.health() ?? { store: 'off', ok: true };
  }

  /** True while a task's result is being copied (the task stays as it is until then). */
  isHolding(taskId: string): boolean {
    return this.holding.has(taskId);
  }

  /**
   * Takes over a finish when the result has a file to store: copies it, then calls `done` with
   * `change` plus the stored URLs (or the Discord URL on failure). False: finish at once.
   */
  finish(rec: TaskRecord, change: Change, done: (change: Change) => void): boolean {
    const id = rec.task.id;
    if (this.holding.has(id)) return true;
    if (!this.opts.archive?.enabled || this.stopper.signal.aborted) return false;
    const draft = structuredClone(rec.task);
    change(draft, structuredClone(rec.meta));
    if (!this.sourceOf(draft.imageUrl, draft.imageRawUrl) && !this.sourceOf(draft.videoUrl, draft.videoUrl))
      return false;
    this.holding.add(id);
    const token = rec.meta.images?.token ?? randomBytes(18).toString('base64url');
    const job = this.copy(id, token, draft).then((filed) => {
      this.holding.delete(id);
      done((t, m) => {
        change(t, m);
        applyFiled(t, filed);
        m.images = { token, stored: filed !== null, lastTryMs: Date.now() };
      });
    });
    this.track(job);
    return true;
  }

  /**
   * Brings a finished task's links up to date before it is shown: a copy that failed earlier is
   * tried again (once a minute), and an expired Discord link is refreshed (once an hour).
   */
  onRead(rec: TaskRecord): Promise<void> {
    const id = rec.task.id;
    if (rec.task.status !== 'FINISHED' || this.stopper.signal.aborted) return Promise.resolve();
    const running = this.reads.get(id);
    if (running) return this.bounded(running);
    if (!this.readDue(rec)) return Promise.resolve();
    const job = this.update(rec).finally(() => this.reads.delete(id));
    this.reads.set(id, job);
    this.track(job);
    return this.bounded(job);
  }

  /** Aborts downloads in flight and waits for every copy to settle (its task then finishes). */
  async stop(): Promise<void> {
    this.stopper.abort();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ------------------------------------------------------------------ internals

  private track(job: Promise<void>): void {
    const p = job.catch((err: unknown) =>
      this.log.error({ err: (err as Error).message }, 'image update failed'),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private bounded(job: Promise<void>): Promise<void> {
    const wait = this.opts.readWaitMs ?? 5000;
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      t.unref();
      job.finally(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The URL to download a result link from: Discord's CDN (through `proxy.cdn`) only. */
  private sourceOf(url: string | null, raw: string | null): string | undefined {
    if (!url) return undefined;
    const origin = this.opts.cdnOrigin.replace(/\/+$/, '');
    if (raw && DISCORD_CDN.test(raw)) return replaceCdn(raw, origin);
    if (url.startsWith(`${origin}/`) || DISCORD_CDN.test(url)) return replaceCdn(url, origin);
    return undefined;
  }

  private readDue(rec: TaskRecord): boolean {
    const now = Date.now();
    const m = rec.meta.images;
    const archive = this.opts.archive;
    if (archive?.enabled && !m?.stored && this.hasSource(rec.task)) {
      if (!m || now - m.lastTryMs >= (this.opts.retryEveryMs ?? 60_000)) return true;
    }
    // A stored result needs nothing (checked first: this runs on every fetch of the task).
    if (m?.stored) return false;
    const expiry = linkExpiry(rec.task.imageRawUrl);
    if (expiry === null || expiry > now) return false;
    return now - (m?.refreshedAtMs ?? 0) >= (this.opts.refreshEveryMs ?? 3600_000);
  }

  private hasSource(task: Task): boolean {
    return (
      this.sourceOf(task.imageUrl, task.imageRawUrl) !== undefined ||
      this.sourceOf(task.videoUrl, task.videoUrl) !== undefined
    );
  }

  private async update(rec: TaskRecord): Promise<void> {
    const now = Date.now();
    const task = rec.task;
    const m: ImageMeta = rec.meta.images ?? {
      token: randomBytes(18).toString('base64url'),
      stored: false,
      lastTryMs: 0,
    };
    let changed = false;
    const expiry = linkExpiry(task.imageRawUrl);
    if (
      expiry !== null &&
      expiry <= now &&
      now - (m.refreshedAtMs ?? 0) >= (this.opts.refreshEveryMs ?? 3600_000)
    ) {
      m.refreshedAtMs = now;
      changed = true;
      await this.refresh(rec);
    }
    const archive = this.opts.archive;
    if (archive?.enabled && !m.stored && now - m.lastTryMs >= (this.opts.retryEveryMs ?? 60_000)) {
      m.lastTryMs = now;
      changed = true;
      const filed = await this.copy(task.id, m.token, task);
      if (filed) {
        applyFiled(task, filed);
        m.stored = true;
        this.log.info({ task: task.id }, 'result stored on a later read');
      }
    }
    if (!changed) return;
    rec.meta.images = m;
    await this.opts.save(rec);
  }

  private async refresh(rec: TaskRecord): Promise<void> {
    const raw = rec.task.imageRawUrl;
    if (!raw) return;
    try {
      const parsed = refreshAnswer.safeParse(await this.opts.refreshUrls(rec, [raw]));
      const fresh = parsed.success
        ? parsed.data.refreshed_urls.find((r) => r.original === raw)?.refreshed
        : undefined;
      if (!fresh) {
        this.log.warn({ task: rec.task.id }, 'Discord did not refresh the result link');
        return;
      }
      const wasDiscord = rec.task.imageUrl === replaceCdn(raw, this.opts.cdnOrigin);
      rec.task.imageRawUrl = fresh;
      if (wasDiscord || !rec.meta.images?.stored) rec.task.imageUrl = replaceCdn(fresh, this.opts.cdnOrigin);
      this.log.info({ task: rec.task.id }, 'expired Discord link refreshed');
    } catch (err) {
      this.log.warn({ task: rec.task.id, err: (err as Error).message }, 'Discord link refresh failed');
    }
  }

  /** Downloads and files the task's result (in turn); null (logged, counted) when any part fails. */
  private copy(taskId: string, token: string, task: Task): Promise<Filed | null> {
    return this.copies.run(() => this.copyNow(taskId, token, task));
  }

  private async copyNow(taskId: string, token: string, task: Task): Promise<Filed | null> {
    const archive = this.opts.archive;
    if (!archive) return null;
    const d = this.opts.download ?? {};
    const dl = {
      attempts: d.attempts ?? 3,
      backoffMs: d.backoffMs ?? 1000,
      timeoutMs: d.timeoutMs ?? 60_000,
      maxBytes: DOWNLOAD_MAX_BYTES,
      signal: this.stopper.signal,
    };
    const out: Filed = {};
    const image = this.sourceOf(task.imageUrl, task.imageRawUrl);
    const video = this.sourceOf(task.videoUrl, task.videoUrl);
    let kind = 'image';
    try {
      if (image) {
        const t0 = performance.now();
        const bytes = await downloadResult(image, dl);
        const t1 = performance.now();
        out.image = await archive.fileImage(taskId, token, bytes, { grid: isGridResult(task) });
        const storeMs = performance.now() - t1;
        this.storeSeconds?.observe(storeMs / 1000);
        this.opts.onTiming?.({ taskId, downloadMs: t1 - t0, storeMs });
      }
      if (video) {
        kind = 'video';
        out.videoUrl = await archive.fileVideo(taskId, token, await downloadResult(video, dl));
      }
      return out;
    } catch (err) {
      this.failures?.inc({ kind });
      this.log.warn(
        { task: taskId, kind, err: (err as Error).message },
        'result not stored; the task keeps the Discord link',
      );
      return null;
    }
  }
}

interface Filed {
  image?: {
    imageUrl: string;
    imageUrls: { url: string; thumbnail: string | null }[];
    thumbnailUrl: string | null;
  };
  videoUrl?: string;
}

function applyFiled(t: Task, filed: Filed | null): void {
  if (!filed) return;
  if (filed.image) {
    t.imageUrl = filed.image.imageUrl;
    t.imageUrls = filed.image.imageUrls;
    t.thumbnailUrl = filed.image.thumbnailUrl;
  }
  if (filed.videoUrl) t.videoUrl = filed.videoUrl;
}
