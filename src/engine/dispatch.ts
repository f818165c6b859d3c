/**
 * The Discord side of the engine: gateway dispatches of each account routed to the task they
 * belong to (SPEC §6.4), deletions of progress messages, interaction events, catching up on the
 * channel's history after a new session (§3.3), and account state changes (§6.1).
 */
import { readMessage } from '../discord/fast-check.ts';
import type { DiscordMessage } from '../discord/types.ts';
import { messageDeleteSchema, messageSchema } from '../discord/types.ts';
import type { Logger } from '../log.ts';
import { isMidjourneyAuthor } from '../midjourney/index.ts';
import type { Account } from './account.ts';
import type { AccountCare } from './account-care.ts';
import type { TaskBook } from './book.ts';
import { applyMessage, type FollowContext } from './follow.ts';
import type { TaskIndex } from './matcher.ts';
import type { EngineMetrics } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';
import type { TaskRecord } from './store.ts';
import type { ModalWaiters } from './submit.ts';
import { isTerminal, type Task } from './task.ts';

export interface DispatchDeps {
  book: TaskBook;
  index: TaskIndex;
  scheduler: Scheduler;
  follow: FollowContext;
  modals: ModalWaiters;
  /** Sees every Midjourney message of the account first: /info, /settings, seed DMs, moderation. */
  care: AccountCare;
  logger: Logger;
  metrics: EngineMetrics | undefined;
  liveRecord(id: string): TaskRecord | undefined;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
}

export class DiscordDispatch {
  constructor(private readonly deps: DispatchDeps) {}

  /** One gateway dispatch of `account`; a bad payload never stops the account or harms a task. */
  onDispatch(account: Account, t: string, d: unknown): void {
    try {
      if (t === 'MESSAGE_CREATE' || t === 'MESSAGE_UPDATE') {
        // Cheap checks first: most traffic of a busy channel concerns no task of ours.
        if (!isOwnChannel(d, account.id)) {
          // Midjourney's DMs (the seed) come from another channel.
          if (t === 'MESSAGE_CREATE' && isFromMidjourney(d)) {
            const dm = messageSchema.safeParse(d);
            if (dm.success) this.deps.care.handle(account, dm.data);
          }
          return;
        }
        const msg = readMessage(d);
        if (msg) this.onMessage(account, msg, t === 'MESSAGE_UPDATE');
      } else if (t === 'MESSAGE_DELETE') {
        const parsed = messageDeleteSchema.safeParse(d);
        if (parsed.success && parsed.data.channel_id === account.id) this.onDelete(parsed.data.id);
      } else {
        this.onInteractionEvent(account, t, d);
      }
    } catch (err) {
      this.deps.logger.error(
        { account: account.id, t, err: (err as Error).message },
        'dispatch handling failed',
      );
    }
  }

  onMessage(account: Account, msg: DiscordMessage, isUpdate: boolean): void {
    if (msg.channel_id !== account.id) return;
    if (this.deps.care.handle(account, msg)) return;
    const { index } = this.deps;
    const known = index.taskForMessage(msg.id);
    if (!isMidjourneyAuthor(msg) && !(isUpdate && known && !msg.author)) return;
    const found = index.match(
      account.id,
      msg,
      (id) => this.deps.liveRecord(id),
      account.gateway.user?.id ?? null,
    );
    if (!found) {
      this.deps.metrics?.unmatchedMessages.inc();
      this.deps.logger.debug({ account: account.id, message: msg.id }, 'message matched no task');
      return;
    }
    this.deps.logger.debug(
      { task: found.record.task.id, rule: found.rule, message: msg.id },
      'message matched',
    );
    applyMessage(this.deps.follow, found.record, account, msg);
  }

  private onDelete(messageId: string): void {
    const id = this.deps.index.taskForMessage(messageId);
    const rec = id ? this.deps.liveRecord(id) : undefined;
    if (!rec || rec.meta.progressMessageId !== messageId) return;
    const grace = setTimeout(
      () => {
        if (!isTerminal(rec.task.status) && rec.task.messageId === null)
          void this.deps.fail(rec, 'cancelled');
      },
      rec.meta.cancelRequested ? 0 : this.deps.follow.deleteGraceMs,
    );
    grace.unref();
  }

  private onInteractionEvent(account: Account, t: string, d: unknown): void {
    const ev = d as { id?: unknown; nonce?: unknown; title?: unknown };
    const nonce = typeof ev.nonce === 'string' ? ev.nonce : undefined;
    const taskId = nonce ? this.deps.index.taskForNonce(nonce) : undefined;
    const rec = taskId ? this.deps.liveRecord(taskId) : undefined;
    // A click that opens a form only in remix mode learns here that it did not.
    if (t === 'INTERACTION_SUCCESS' && nonce) this.deps.modals.noModal(nonce);
    if (t === 'INTERACTION_CREATE' || t === 'INTERACTION_SUCCESS') {
      if (rec && typeof ev.id === 'string' && rec.meta.interactionId !== ev.id) {
        const interactionId = ev.id;
        this.deps.index.addInteraction(interactionId, rec.task.id);
        this.deps.book.mutate(rec, (_t, m) => {
          m.interactionId = interactionId;
        });
      }
    } else if (t === 'INTERACTION_FAILURE') {
      this.deps.logger.warn(
        { account: account.id, task: taskId },
        'interaction failure reported; still waiting for Midjourney',
      );
    } else if (t === 'INTERACTION_MODAL_CREATE' || t === 'INTERACTION_IFRAME_MODAL_CREATE') {
      if (nonce) this.deps.modals.resolve(nonce, d);
      const title = typeof ev.title === 'string' ? ev.title : '';
      if (/action required to continue/i.test(title) && rec) account.disable(title);
    } else if (t === 'READY') {
      void this.catchUp(account);
    }
  }

  /** After a new session, read the channel's recent messages: results that came while we were away. */
  private async catchUp(account: Account): Promise<void> {
    if (this.deps.index.liveOf(account.id).size === 0) return;
    try {
      const raw = await account.rest.request<unknown[]>('GET', `/channels/${account.id}/messages`, {
        query: { limit: '50' },
      });
      const msgs = (raw ?? [])
        .map((m) => messageSchema.safeParse(m))
        .filter((r) => r.success)
        .map((r) => r.data)
        .reverse();
      for (const msg of msgs) this.onMessage(account, msg, false);
    } catch (err) {
      this.deps.logger.warn({ account: account.id, err: (err as Error).message }, 'catch-up read failed');
    }
  }

  /**
   * A disabled account fails what it runs and what waits pinned to it, with its reason; a paused
   * one (a timed block, SPEC §14) only what waits pinned to it: its running jobs may still finish.
   */
  onAccountDisabled(account: Account, reason: string | null, paused = false): void {
    const why = `account ${account.id} unavailable: ${reason ?? (paused ? 'paused' : 'disabled')}`;
    for (const id of paused ? [] : [...account.running]) {
      const rec = this.deps.liveRecord(id);
      if (rec) void this.deps.fail(rec, why);
    }
    const { scheduler, book } = this.deps;
    for (const id of scheduler.queue.snapshot()) {
      const rec = book.records.get(id);
      if (rec && rec.meta.accountId === account.id) {
        scheduler.queue.remove(id);
        void this.deps.fail(rec, why);
      }
    }
  }
}

/** Whether a message payload's author is one of the Midjourney bots, read without validating. */
function isFromMidjourney(d: unknown): boolean {
  const author = typeof d === 'object' && d !== null ? (d as { author?: unknown }).author : undefined;
  const id = typeof author === 'object' && author !== null ? (author as { id?: unknown }).id : undefined;
  return typeof id === 'string' && isMidjourneyAuthor({ author: { id } });
}

/** Whether a message payload is of the account's channel, read without validating the rest. */
function isOwnChannel(d: unknown, channelId: string): boolean {
  return typeof d === 'object' && d !== null && (d as { channel_id?: unknown }).channel_id === channelId;
}
