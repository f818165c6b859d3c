/**
 * Finds the task a Midjourney message belongs to (SPEC §6.4), in this order: nonce, interaction
 * id, known message id, reply to a parent's result with the right image index, job hash, and the
 * prompt only when exactly one task of the account could match. A message that matches nothing is
 * left alone: never attached at random.
 */
import type { DiscordMessage } from '../discord/types.ts';
import { extractJobHash, normalizePromptForMatch, parseContent } from '../midjourney/index.ts';
import type { TaskRecord } from './store.ts';

export type MatchRule = 'nonce' | 'interaction' | 'message' | 'reference' | 'hash' | 'prompt';

/** Indexes of the live (non-terminal) tasks, keyed by the ids Discord sends back. */
export class TaskIndex {
  private readonly byNonce = new Map<string, string>();
  private readonly byInteraction = new Map<string, string>();
  private readonly byMessage = new Map<string, string>();
  private readonly byHash = new Map<string, string>();
  /** Live tasks per account (channel id). */
  private readonly byAccount = new Map<string, Set<string>>();
  /** Prompts of live tasks as the prompt rule compares them (computed once, not per message). */
  private readonly normalizedPrompts = new Map<string, string>();

  addNonce(nonce: string, taskId: string): void {
    this.byNonce.set(nonce, taskId);
  }
  addInteraction(id: string, taskId: string): void {
    this.byInteraction.set(id, taskId);
  }
  addMessage(id: string, taskId: string): void {
    this.byMessage.set(id, taskId);
  }
  addHash(hash: string, taskId: string): void {
    this.byHash.set(hash, taskId);
  }
  taskForNonce(nonce: string): string | undefined {
    return this.byNonce.get(nonce);
  }
  taskForMessage(id: string): string | undefined {
    return this.byMessage.get(id);
  }

  join(accountId: string, taskId: string): void {
    let set = this.byAccount.get(accountId);
    if (!set) {
      set = new Set();
      this.byAccount.set(accountId, set);
    }
    set.add(taskId);
  }

  /** Forget a task once it is terminal (its keys can no longer advance it). */
  forget(rec: TaskRecord): void {
    const { meta, task } = rec;
    for (const [map, key] of [
      [this.byNonce, meta.nonce],
      [this.byInteraction, meta.interactionId],
      [this.byMessage, meta.progressMessageId],
      [this.byMessage, meta.cancelMessageId ?? null],
      [this.byMessage, task.messageId],
      [this.byHash, task.messageHash],
    ] as const) {
      if (key && map.get(key) === task.id) map.delete(key);
    }
    if (meta.accountId) this.byAccount.get(meta.accountId)?.delete(task.id);
  }

  private normalized(prompt: string): string {
    let n = this.normalizedPrompts.get(prompt);
    if (n === undefined) {
      if (this.normalizedPrompts.size > 10_000) this.normalizedPrompts.clear();
      n = normalizePromptForMatch(prompt);
      this.normalizedPrompts.set(prompt, n);
    }
    return n;
  }

  liveOf(accountId: string): ReadonlySet<string> {
    return this.byAccount.get(accountId) ?? new Set();
  }

  /**
   * The task a message of `accountId`'s channel belongs to, with the rule that found it.
   * `lookup` returns live records only.
   */
  match(
    accountId: string,
    msg: DiscordMessage,
    lookup: (id: string) => TaskRecord | undefined,
    selfUserId: string | null,
  ): { record: TaskRecord; rule: MatchRule } | undefined {
    const live = (id: string | undefined): TaskRecord | undefined => {
      if (!id) return undefined;
      const rec = lookup(id);
      return rec && rec.meta.accountId === accountId ? rec : undefined;
    };
    const nonce = msg.nonce === undefined || msg.nonce === null ? undefined : String(msg.nonce);
    let rec = live(nonce ? this.byNonce.get(nonce) : undefined);
    if (rec) return { record: rec, rule: 'nonce' };
    const interactionId = msg.interaction_metadata?.id ?? msg.interaction?.id;
    rec = live(interactionId ? this.byInteraction.get(interactionId) : undefined);
    if (rec) return { record: rec, rule: 'interaction' };
    rec = live(this.byMessage.get(msg.id));
    if (rec) return { record: rec, rule: 'message' };
    // Every weaker rule needs a live task of this account: a quiet channel costs three lookups.
    if (this.liveOf(accountId).size === 0) return undefined;

    const parsed = parseContent(msg.content ?? '');
    // A job of another user of the channel (it mentions them): no weaker rule may claim it.
    if (parsed.userId && selfUserId && parsed.userId !== selfUserId) return undefined;
    const refId = msg.message_reference?.message_id;
    const candidates = [...this.liveOf(accountId)]
      .map((id) => lookup(id))
      .filter((r): r is TaskRecord => !!r);
    if (refId) {
      // Midjourney posts some error embeds (`Invalid link`) as a reply to the job's own progress message.
      const own = live(this.byMessage.get(refId));
      if (own && (own.meta.progressMessageId === refId || own.meta.cancelMessageId === refId))
        return { record: own, rule: 'reference' };
      const replies = candidates.filter(
        (r) =>
          r.meta.parentMessageId === refId &&
          !r.meta.progressMessageId &&
          r.task.messageId === null &&
          (parsed.imageIndex === null || r.task.params.index === parsed.imageIndex),
      );
      // Only a reply with no other reading: two clicks on one parent wait for a surer key.
      if (replies.length === 1 && replies[0]) return { record: replies[0], rule: 'reference' };
    }
    const hash = extractJobHash(msg);
    rec = live(hash ? this.byHash.get(hash) : undefined);
    if (rec) return { record: rec, rule: 'hash' };

    if (parsed.prompt !== null) {
      const want = normalizePromptForMatch(parsed.prompt);
      const same = candidates.filter(
        (r) =>
          r.task.messageHash === null &&
          r.meta.parentMessageId === null &&
          want === this.normalized(r.meta.sentPrompt ?? r.task.prompt),
      );
      if (same.length === 1 && same[0]) return { record: same[0], rule: 'prompt' };
    }
    return undefined;
  }
}
