/**
 * One status message per job, driven by the engine's `task` events (SPEC §7.2): sent right after
 * the request, then edited to `Queued — position N`, `Submitted`, `Generating… 46%` and the preview
 * image. Only the newest state is ever sent (latest wins), never the same state twice, never two
 * edits of one message closer than the chat's interval, previews (editMessageMedia) rarer still.
 * When the job ends, its final message goes out and the status message is removed.
 *
 * What a status message shows is kept in the store, so after a restart the same message keeps
 * being edited.
 */
import { z } from 'zod';
import type { TaskOrigin } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import type { FrontContext } from './context.ts';
import { isLang, type Tr, tr } from './i18n/index.ts';
import { readKey, writeKey } from './kv.ts';
import { fetchBytes, fileNameOf } from './media.ts';
import { cancelKeyboard, deliverFinal } from './results.ts';
import { apiFailure, isNotModified, SupersededError } from './sender.ts';
import { CAPTION_LIMIT, cut, jobHeadline, stateLine } from './texts.ts';

const recordSchema = z.object({
  chatId: z.number(),
  userId: z.number(),
  messageId: z.number().nullable(),
  isPhoto: z.boolean(),
  /** Text (or caption) and preview URL the message shows now. */
  text: z.string().nullable(),
  image: z.string().nullable(),
  replyTo: z.number().nullable(),
  cancelKey: z.string().nullable(),
  done: z.boolean(),
  /** The language of the job's messages, and what the user's settings added to its prompt. */
  lang: z.string().default('en'),
  added: z.string().default(''),
});
type StatusRecord = z.infer<typeof recordSchema>;

interface Tracked {
  taskId: string;
  task: Task;
  rec: StatusRecord;
  ready: Promise<void>;
  group: boolean;
  timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires. */
  timerAt: number;
  flushing: Promise<void> | undefined;
  lastEditAt: number;
  lastMediaAt: number;
  pauseUntil: number;
  /** The message is gone (deleted by the user, chat blocked): no more progress edits. */
  gone: boolean;
  final: boolean;
  badImage: string | null;
  /** Failed updates in a row; after a few the message is left as it is. */
  failures: number;
}

interface SentMessage {
  message_id: number;
}

/** What a status message should show for a task (`added`: the parameters from /settings). */
export function statusView(task: Task, t: Tr, added = ''): { text: string; image: string | null } {
  const lines = [
    jobHeadline(t, task),
    ...(added ? [t('addedParams', { params: added })] : []),
    stateLine(t, task),
  ];
  const text = cut(lines.join('\n'), CAPTION_LIMIT);
  const image = task.status === 'RUNNING' && task.imageUrl ? task.imageUrl : null;
  return { text, image };
}

export class ProgressTracker {
  private readonly tracked = new Map<string, Tracked>();
  /** Jobs whose final message is not out yet, mirrored to the store for {@link recover}. */
  private readonly open = new Set<string>();
  private openWrite: Promise<void> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `closed`: a job's final is out (or it was over already); nothing more is shown for it. */
  constructor(
    private readonly ctx: FrontContext,
    private readonly closed: (taskId: string) => void = () => undefined,
  ) {}

  /**
   * After a restart: every job that was still open gets its current state shown, and a job that
   * ended while no front was running gets its final message now.
   */
  async recover(): Promise<void> {
    const ids = (await readKey(this.ctx.kv, 'open', z.array(z.string()), this.ctx.logger)) ?? [];
    for (const id of ids) {
      if (this.tracked.has(id)) continue;
      const rec = await readKey(this.ctx.kv, `status:${id}`, recordSchema, this.ctx.logger);
      const task = rec && !rec.done ? await this.ctx.engine.get(id).catch(() => undefined) : undefined;
      if (!rec || !task) continue;
      this.open.add(id);
      this.onTask(task, { kind: 'telegram', chatId: rec.chatId, userId: rec.userId, lang: rec.lang });
    }
    this.saveOpen();
  }

  private saveOpen(): void {
    const ids = [...this.open];
    this.openWrite = this.openWrite.then(() => writeKey(this.ctx.kv, 'open', ids, this.ctx.logger));
  }

  /** Engine `task` listener: every persisted change of every task. */
  onTask(task: Task, origin: TaskOrigin | undefined): void {
    if (this.stopped) return;
    if (task.status !== 'PENDING') this.scheduleQueueRefresh();
    if (origin?.kind !== 'telegram') return;
    let t = this.tracked.get(task.id);
    if (!t) {
      t = this.track(task, origin);
    } else {
      t.task = task;
    }
    const tracked = t;
    void tracked.ready.then(() => this.advance(tracked));
  }

  /** The task a status message belongs to (for `/cancel` as a reply). */
  async taskOfMessage(chatId: number, messageId: number): Promise<string | undefined> {
    for (const t of this.tracked.values()) {
      if (t.rec.chatId === chatId && t.rec.messageId === messageId) return t.taskId;
    }
    return readKey(this.ctx.kv, `msg:${chatId}:${messageId}`, z.string(), this.ctx.logger);
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
  }

  /** Waits for status messages being sent and finals being delivered. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.tracked.values()].map((t) => t.flushing));
    await this.openWrite;
  }

  private track(task: Task, origin: Extract<TaskOrigin, { kind: 'telegram' }>): Tracked {
    const t: Tracked = {
      taskId: task.id,
      task,
      rec: {
        chatId: origin.chatId,
        userId: origin.userId,
        messageId: null,
        isPhoto: false,
        text: null,
        image: null,
        replyTo: origin.replyTo ?? null,
        cancelKey: null,
        done: false,
        lang: isLang(origin.lang) ? origin.lang : 'en',
        added: origin.added ?? '',
      },
      ready: Promise.resolve(),
      group: origin.chatId < 0,
      timer: undefined,
      flushing: undefined,
      timerAt: 0,
      lastEditAt: 0,
      lastMediaAt: 0,
      pauseUntil: 0,
      gone: false,
      final: false,
      badImage: null,
      failures: 0,
    };
    t.ready = readKey(this.ctx.kv, `status:${task.id}`, recordSchema, this.ctx.logger).then((stored) => {
      // A record means an earlier process (or an earlier event) already showed this job.
      if (stored) t.rec = { ...stored, replyTo: stored.replyTo ?? t.rec.replyTo };
    });
    this.tracked.set(task.id, t);
    return t;
  }

  private trOf(t: Tracked): Tr {
    return tr(isLang(t.rec.lang) ? t.rec.lang : 'en');
  }

  private view(t: Tracked): { text: string; image: string | null } {
    return statusView(t.task, this.trOf(t), t.rec.added);
  }

  private advance(t: Tracked): void {
    if (t.rec.done || this.stopped) {
      if (t.rec.done) {
        this.forget(t);
        this.closed(t.taskId);
      }
      return;
    }
    if (isTerminal(t.task.status)) {
      if (!t.final) {
        t.final = true;
        if (t.timer) clearTimeout(t.timer);
        t.timer = undefined;
        void this.finish(t);
      }
      return;
    }
    this.ctx.jobs.add(t.rec.userId, t.taskId);
    if (!this.open.has(t.taskId)) {
      this.open.add(t.taskId);
      this.saveOpen();
    }
    this.schedule(t);
  }

  /**
   * Arms the one flush timer of a status message for the earliest moment its newest state may be
   * sent: text changes after the chat's edit interval, a new preview alone after the preview
   * interval. A later change may pull an armed timer earlier, never push it back.
   */
  private schedule(t: Tracked): void {
    if (t.flushing || t.final || t.gone || this.stopped) return;
    const now = Date.now();
    const at = this.dueAt(t, now);
    if (at === undefined) return;
    if (t.timer) {
      if (t.timerAt <= at) return;
      clearTimeout(t.timer);
    }
    t.timerAt = at;
    t.timer = setTimeout(
      () => {
        t.timer = undefined;
        t.flushing = this.flush(t).finally(() => {
          t.flushing = undefined;
          if (!t.final) this.schedule(t);
        });
      },
      Math.max(0, at - now),
    );
  }

  /** When the message may next be changed to show the newest state; undefined if it shows it. */
  private dueAt(t: Tracked, now: number): number | undefined {
    if (t.rec.messageId === null) return now;
    const view = this.view(t);
    const newImage = view.image !== null && view.image !== t.rec.image && view.image !== t.badImage;
    if (view.text === t.rec.text && !newImage) return undefined;
    const editMs = t.group ? this.ctx.timing.groupEditMs : this.ctx.timing.privateEditMs;
    const earliest = Math.max(now, t.lastEditAt + editMs, t.pauseUntil);
    return view.text === t.rec.text
      ? Math.max(earliest, t.lastMediaAt + this.ctx.timing.previewEditMs)
      : earliest;
  }

  private async flush(t: Tracked): Promise<void> {
    if (t.final || t.gone || this.stopped) return;
    const { ctx } = this;
    const { chatId } = t.rec;
    const view = this.view(t);
    try {
      if (t.rec.messageId === null) {
        const { keyboard, key } = await cancelKeyboard(ctx, this.trOf(t), t.taskId, t.rec.userId, chatId);
        const msg = await ctx.sender
          .call<SentMessage>(
            'sendMessage',
            {
              chat_id: chatId,
              text: view.text,
              reply_markup: keyboard,
              ...(t.rec.replyTo !== null
                ? { reply_parameters: { message_id: t.rec.replyTo, allow_sending_without_reply: true } }
                : {}),
            },
            { chatId, priority: 'message' },
          )
          .finally(() => {
            t.lastEditAt = Date.now();
          });
        t.rec = {
          ...t.rec,
          messageId: msg.message_id,
          isPhoto: false,
          text: view.text,
          image: null,
          cancelKey: key,
        };
        this.persist(t, msg.message_id);
        return;
      }
      const now = Date.now();
      const mediaDue = now - t.lastMediaAt >= ctx.timing.previewEditMs;
      const newImage = view.image !== null && view.image !== t.rec.image && view.image !== t.badImage;
      if (newImage && mediaDue && view.image) {
        if (await this.showPreview(t, view.text, view.image)) return;
      }
      if (view.text === t.rec.text) return;
      const keyboard = this.cancelMarkup(t);
      const method = t.rec.isPhoto ? 'editMessageCaption' : 'editMessageText';
      const body = t.rec.isPhoto ? { caption: view.text } : { text: view.text };
      await this.edit(t, method, {
        chat_id: chatId,
        message_id: t.rec.messageId,
        ...body,
        ...(keyboard ? { reply_markup: keyboard } : {}),
      });
      t.rec = { ...t.rec, text: view.text };
      this.persist(t);
      t.failures = 0;
    } catch (err) {
      this.onError(t, err);
    }
  }

  /** Swaps in a new preview; the first preview turns the text message into a photo message. */
  private async showPreview(t: Tracked, text: string, url: string): Promise<boolean> {
    const { ctx } = this;
    const { chatId } = t.rec;
    let bytes: Buffer;
    try {
      bytes = (await fetchBytes(url, { maxBytes: 10 * 1024 * 1024, timeoutMs: ctx.timing.downloadTimeoutMs }))
        .bytes;
    } catch (err) {
      ctx.logger.debug({ task: t.taskId, err: (err as Error).message }, 'preview download failed');
      t.badImage = url;
      return false;
    }
    const filename = fileNameOf(url, 'preview.png');
    const keyboard = this.cancelMarkup(t);
    t.lastMediaAt = Date.now();
    if (t.rec.messageId === null) return false;
    const media = {
      chat_id: chatId,
      message_id: t.rec.messageId,
      media: { type: 'photo', media: { source: bytes, filename }, caption: text },
      ...(keyboard ? { reply_markup: keyboard } : {}),
    };
    if (t.rec.isPhoto) {
      await this.edit(t, 'editMessageMedia', media);
    } else {
      // The first preview turns the text status into a photo: still one message per job, so a
      // `/cancel` replying to it keeps finding the job.
      try {
        await this.edit(t, 'editMessageMedia', media);
      } catch (err) {
        const f = apiFailure(err);
        if (f.code === 429 || f.code === 403 || /message to edit not found/i.test(f.description)) throw err;
        // Telegram would not take this preview as a photo: keep the text message.
        t.badImage = url;
        return false;
      }
    }
    t.rec = { ...t.rec, isPhoto: true, text, image: url };
    this.persist(t);
    return true;
  }

  private cancelMarkup(t: Tracked): Record<string, unknown> | undefined {
    const key = t.rec.cancelKey;
    return key
      ? { inline_keyboard: [[{ text: this.trOf(t)('cancelButton'), callback_data: key }]] }
      : undefined;
  }

  private async edit(t: Tracked, method: string, payload: Record<string, unknown>): Promise<void> {
    // The job ended while this flush was under way (a preview download): its final goes instead.
    if (t.final) throw new SupersededError();
    try {
      await this.ctx.sender.call(method, payload, {
        chatId: t.rec.chatId,
        priority: 'progress',
        tag: t.taskId,
      });
    } catch (err) {
      if (!isNotModified(err)) throw err;
    } finally {
      t.lastEditAt = Date.now();
    }
  }

  private onError(t: Tracked, err: unknown): void {
    const f = apiFailure(err);
    if (f.code === 429) {
      t.pauseUntil = Date.now() + Math.max(1, f.retryAfterS ?? 1) * 1000;
      return;
    }
    t.failures++;
    if (
      f.code === 403 ||
      t.failures >= 3 ||
      /message to edit not found|message can't be edited/i.test(f.description)
    ) {
      t.gone = true;
    }
    if (f.code !== -1)
      this.ctx.logger.warn(
        { task: t.taskId, chat: t.rec.chatId, err: f.description },
        'status update failed',
      );
  }

  private async finish(t: Tracked): Promise<void> {
    const { ctx } = this;
    // A status edit still waiting for its turn shows a state that is over; the final is not held
    // behind it (an edit already on its way is waited for: one message changes at a time).
    ctx.sender.dropProgress(t.taskId);
    if (t.flushing) await t.flushing;
    const work = (async () => {
      const { chatId, userId } = t.rec;
      // In /history before it is shown: a result the user sees can always be found again.
      if (t.task.status === 'FINISHED') await ctx.history.add(userId, t.taskId);
      try {
        await deliverFinal(ctx, t.task, {
          chatId,
          ownerId: userId,
          replyTo: t.rec.replyTo,
          t: this.trOf(t),
        });
      } catch (err) {
        ctx.logger.error(
          { task: t.taskId, chat: chatId, err: apiFailure(err).description },
          'final result not delivered',
        );
      }
      t.rec = { ...t.rec, done: true };
      this.persist(t);
      if (t.rec.messageId !== null) this.deleteMessage(chatId, t.rec.messageId);
      ctx.jobs.remove(userId, t.taskId);
      if (this.open.delete(t.taskId)) this.saveOpen();
      this.closed(t.taskId);
      this.forget(t);
    })();
    t.flushing = work;
    await work;
  }

  private deleteMessage(chatId: number, messageId: number): void {
    this.ctx.sender
      .call('deleteMessage', { chat_id: chatId, message_id: messageId }, { chatId, priority: 'progress' })
      .catch((err: unknown) => {
        this.ctx.logger.debug(
          { chat: chatId, err: apiFailure(err).description },
          'status message not deleted',
        );
      });
  }

  private persist(t: Tracked, newMessageId?: number): void {
    void writeKey(this.ctx.kv, `status:${t.taskId}`, t.rec, this.ctx.logger);
    if (newMessageId !== undefined) {
      void writeKey(this.ctx.kv, `msg:${t.rec.chatId}:${newMessageId}`, t.taskId, this.ctx.logger);
    }
  }

  private forget(t: Tracked): void {
    if (t.timer) clearTimeout(t.timer);
    // Keep finished entries a little so late duplicate events are recognised without a store read.
    setTimeout(() => {
      if (this.tracked.get(t.taskId) === t) this.tracked.delete(t.taskId);
    }, 60_000).unref();
  }

  /** The queue moved: queued jobs get their new position (one read per queued job, debounced). */
  private scheduleQueueRefresh(): void {
    if (this.refreshTimer || this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshQueued();
    }, this.ctx.timing.queueRefreshMs);
  }

  private async refreshQueued(): Promise<void> {
    for (const t of this.tracked.values()) {
      if (t.final || t.task.status !== 'PENDING') continue;
      let fresh: Task | undefined;
      try {
        fresh = await this.ctx.engine.get(t.taskId);
      } catch {
        continue;
      }
      if (!fresh || this.stopped) continue;
      // Only positions: a status change arrives as its own event.
      if (
        fresh.status === 'PENDING' &&
        t.task.status === 'PENDING' &&
        fresh.queuePosition !== t.task.queuePosition
      ) {
        t.task = { ...t.task, queuePosition: fresh.queuePosition };
        this.schedule(t);
      }
    }
  }
}
