/**
 * Applies a Midjourney message to the task it matched (SPEC §6.4, §6.6): notices fail, requeue or
 * disable; progress sets percentage and preview; the result message finishes the task.
 */
import type { DiscordAttachment, DiscordMessage } from '../discord/types.ts';
import type { Logger } from '../log.ts';
import {
  classifyNotice,
  extractJobHash,
  isPreviewAttachment,
  isVideoAttachment,
  parseContent,
  parseDescribePrompts,
  resultButtons,
} from '../midjourney/index.ts';
import type { Account } from './account.ts';
import { replaceCdn } from './cdn.ts';
import type { TaskIndex } from './matcher.ts';
import type { TaskRecord } from './store.ts';
import type { Task, TaskButton } from './task.ts';

export interface FollowContext {
  cdnOrigin: string;
  index: TaskIndex;
  logger: Logger;
  deleteGraceMs: number;
  mutate(rec: TaskRecord, change: (task: Task, meta: TaskRecord['meta']) => void): boolean;
  finish(rec: TaskRecord, change: (task: Task, meta: TaskRecord['meta']) => void): void;
  fail(rec: TaskRecord, reason: string): Promise<Task>;
  requeue(rec: TaskRecord, account: Account): void;
  disableAccount(account: Account, reason: string): void;
  clickCancel(rec: TaskRecord, account: Account): Promise<void>;
  /** Fast hours ran out: switch the account to relax and run the task again (SPEC §14). */
  relaxFallback(rec: TaskRecord, account: Account): void;
  isLive(taskId: string): boolean;
}

function buttonsOf(msg: DiscordMessage): TaskButton[][] {
  return resultButtons(msg) as TaskButton[][];
}

/** Moves `rec` according to `msg` (already matched to it). */
export function applyMessage(
  ctx: FollowContext,
  rec: TaskRecord,
  account: Account,
  msg: DiscordMessage,
): void {
  const notice = classifyNotice(msg);
  if (notice) {
    switch (notice.kind) {
      case 'fail':
      case 'moderation':
      case 'block':
        // The account side (Acknowledge, the pause) is done where every account message is seen.
        void ctx.fail(rec, notice.reason);
        return;
      case 'credits':
        if (account.config.relaxWhenFastRunsOut) {
          ctx.relaxFallback(rec, account);
        } else {
          void ctx.fail(rec, notice.reason);
          ctx.disableAccount(account, notice.title);
        }
        return;
      case 'account':
        void ctx.fail(rec, notice.reason);
        ctx.disableAccount(account, notice.title);
        return;
      case 'requeue':
        ctx.logger.warn(
          { task: rec.task.id, account: account.id },
          'Midjourney queue full; task goes back to the queue',
        );
        ctx.requeue(rec, account);
        return;
      default:
        ctx.logger.info({ task: rec.task.id, title: notice.title }, 'Midjourney notice');
        ctx.mutate(rec, (t) => {
          if (t.status === 'STARTED' || t.status === 'SUBMITTED') t.status = 'RUNNING';
        });
        return;
    }
  }

  const cancelHash = ephemeralCancelHash(msg);
  if (cancelHash && msg.id !== rec.meta.progressMessageId) {
    noteCancelMessage(ctx, rec, msg, cancelHash);
    return;
  }
  if (msg.id === rec.meta.cancelMessageId) {
    // An edit of the cancel reply (its button gone, or the job stopped) is never progress.
    if (parseContent(msg.content ?? '').status === 'stopped') void ctx.fail(rec, 'cancelled');
    return;
  }

  const hash = extractJobHash(msg);
  if (rec.task.action === 'DESCRIBE' || rec.task.action === 'SHORTEN') {
    const embed = msg.embeds?.[0];
    const prompts = embed?.description ? parseDescribePrompts(embed.description) : [];
    if (prompts.length > 0 && embed?.description) {
      const image = embed.image?.url ?? null;
      ctx.index.addMessage(msg.id, rec.task.id);
      ctx.finish(rec, (t, m) => {
        t.description = embed.description ?? null;
        t.prompts = prompts;
        t.imageRawUrl = image;
        t.imageUrl = image ? replaceCdn(image, ctx.cdnOrigin) : null;
        t.messageId = msg.id;
        t.buttons = buttonsOf(msg);
        m.messageFlags = msg.flags ?? 0;
        if (msg.content) m.messageContent = msg.content;
      });
      return;
    }
    markProgress(ctx, rec, msg, null, hash, null);
    return;
  }

  const parsed = parseContent(msg.content ?? '');
  if (parsed.status === 'stopped') {
    void ctx.fail(rec, 'cancelled');
    return;
  }
  const attachments = msg.attachments ?? [];
  const result = attachments.find((a) => !isPreviewAttachment(a));
  const inProgress = parsed.status === 'waiting' || parsed.status === 'running' || parsed.status === 'paused';
  if (result && !inProgress) {
    ctx.index.addMessage(msg.id, rec.task.id);
    const videos = attachments.filter((a) => isVideoAttachment(a));
    // A video result: the videos, and as image the still Midjourney may send beside them.
    const still = videos.length > 0 ? (attachments.find((a) => !isVideoAttachment(a)) ?? null) : result;
    ctx.finish(rec, (t, m) => {
      t.messageId = msg.id;
      t.messageHash = hash ?? t.messageHash;
      if (videos.length > 0) {
        t.videoUrls = videos.map((v) => ({ url: replaceCdn(v.url, ctx.cdnOrigin) }));
        t.videoUrl = t.videoUrls[0]?.url ?? null;
      }
      t.imageRawUrl = still?.url ?? null;
      t.imageUrl = still ? replaceCdn(still.url, ctx.cdnOrigin) : null;
      t.buttons = buttonsOf(msg);
      t.finalPrompt = parsed.prompt ?? t.finalPrompt;
      m.messageFlags = msg.flags ?? 0;
      if (msg.content) m.messageContent = msg.content;
    });
    return;
  }
  const preview = attachments.find((a) => isPreviewAttachment(a)) ?? null;
  markProgress(ctx, rec, msg, parsed.progress, hash, preview, parsed.prompt);
  if (rec.meta.cancelRequested && hash && rec.meta.progressMessageId) {
    void ctx.clickCancel(rec, account).catch(() => {});
  }
}

const EPHEMERAL = 1 << 6;
const CANCEL_PREFIX = 'MJ::CancelJob::ByJobid::';

/** The job hash of an ephemeral reply that carries the Cancel Job button (and no image), or null. */
function ephemeralCancelHash(msg: DiscordMessage): string | null {
  if (((msg.flags ?? 0) & EPHEMERAL) === 0 || (msg.attachments ?? []).length > 0) return null;
  for (const row of msg.components ?? [])
    for (const b of row.components)
      if (b.custom_id?.startsWith(CANCEL_PREFIX)) return b.custom_id.slice(CANCEL_PREFIX.length);
  return null;
}

/**
 * Midjourney often puts the Cancel Job button on a separate ephemeral reply (SPEC §5.3): that
 * message is what a cancel must click. It also says the job has started.
 */
function noteCancelMessage(ctx: FollowContext, rec: TaskRecord, msg: DiscordMessage, hash: string): void {
  if (parseContent(msg.content ?? '').status === 'stopped') {
    void ctx.fail(rec, 'cancelled');
    return;
  }
  ctx.index.addMessage(msg.id, rec.task.id);
  ctx.index.addHash(hash, rec.task.id);
  ctx.mutate(rec, (t, m) => {
    m.cancelMessageId = msg.id;
    m.cancelFlags = msg.flags ?? EPHEMERAL;
    t.messageHash ??= hash;
    if (t.status === 'STARTED' || t.status === 'SUBMITTED') t.status = 'RUNNING';
    if (t.progress === null) t.progress = '0%';
  });
}

function markProgress(
  ctx: FollowContext,
  rec: TaskRecord,
  msg: DiscordMessage,
  progress: number | null,
  hash: string | null,
  preview: DiscordAttachment | null,
  echoed?: string | null,
): void {
  ctx.index.addMessage(msg.id, rec.task.id);
  if (hash) ctx.index.addHash(hash, rec.task.id);
  ctx.mutate(rec, (t, m) => {
    t.status = 'RUNNING';
    m.progressMessageId = msg.id;
    m.progressFlags = msg.flags ?? m.progressFlags;
    if (msg.content) m.messageContent = msg.content;
    if (hash) t.messageHash = hash;
    if (progress !== null) t.progress = `${progress}%`;
    else if (t.progress === null) t.progress = '0%';
    if (preview) {
      t.imageRawUrl = preview.url;
      t.imageUrl = replaceCdn(preview.url, ctx.cdnOrigin);
    }
    if (msg.components) t.buttons = buttonsOf(msg);
    if (echoed) t.finalPrompt = echoed;
  });
}
