/**
 * Button presses (SPEC §7.4). Every press is answered at once with a toast; the key in
 * `callback_data` is looked up in the store (stale → `This button has expired`); in groups only
 * the job's owner or an admin may press; then the Midjourney action (or cancel, or the imagine of
 * a described prompt, or the Custom Zoom question) is started.
 */
import { isTerminal } from '../../engine/task.ts';
import { parseCustomId } from '../../midjourney/custom-ids.ts';
import { OWN } from '../callback-keys.ts';
import type { FrontContext } from '../context.ts';
import { friendlyError } from '../texts.ts';
import type { TgCallbackQuery } from '../updates.ts';
import { createJob, type JobRequest, reserveSlot } from './create-job.ts';
import { HISTORY_PREFIX, onHistoryPress } from './history.ts';
import { say, toast } from './reply.ts';
import { onSettingsPress, SETTINGS_PREFIX } from './settings-menu.ts';
import { askZoom } from './zoom.ts';

export async function onCallback(ctx: FrontContext, cq: TgCallbackQuery): Promise<void> {
  const from = cq.from;
  const t = await ctx.prefs.trOf(from.id, from.language_code);
  if (!ctx.access.allowed(from)) {
    await toast(ctx, cq.id, t('notAllowedToast'));
    return;
  }
  if (cq.data?.startsWith(SETTINGS_PREFIX)) {
    await onSettingsPress(ctx, t, cq);
    return;
  }
  if (cq.data?.startsWith(HISTORY_PREFIX)) {
    await onHistoryPress(ctx, t, cq);
    return;
  }
  const entry = await ctx.keys.resolve(cq.data);
  const task = entry ? await ctx.engine.get(entry.taskId).catch(() => undefined) : undefined;
  if (!entry || !task) {
    await toast(ctx, cq.id, t('expired'));
    return;
  }
  const isAdmin = ctx.access.isAdmin(from);
  if (entry.ownerId !== from.id && !isAdmin) {
    await toast(ctx, cq.id, t('notYours'));
    return;
  }
  const chatId = cq.message?.chat.id ?? entry.chatId;
  const resultId = cq.message?.message_id;
  const target = { chatId, userId: from.id, replyTo: resultId, t };

  if (entry.customId === OWN.cancel) {
    if (isTerminal(task.status)) {
      await toast(ctx, cq.id, t('alreadyDone'));
      return;
    }
    await toast(ctx, cq.id, t('cancelling'));
    try {
      await ctx.engine.cancel(task.id);
    } catch (err) {
      await say(ctx, chatId, friendlyError(t, err), { replyTo: resultId });
    }
    return;
  }

  let req: JobRequest;
  const own = /^mjb:imagine:(\d)$/.exec(entry.customId);
  if (own) {
    const prompt = task.prompts[Number(own[1]) - 1];
    if (!prompt) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    req = { kind: 'imagine', prompt, images: [], raw: true };
  } else {
    const info = parseCustomId(entry.customId);
    if (!info) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    if (info.action === 'ZOOMOUT_CUSTOM') {
      await toast(ctx, cq.id, t('zoomToast'));
      await askZoom(ctx, t, { ...entry, ownerId: from.id, chatId }, chatId, resultId);
      return;
    }
    req = { kind: 'action', taskId: task.id, customId: entry.customId };
  }
  const release = await reserveSlot(ctx, target, true);
  if (!release) {
    await toast(ctx, cq.id, t('userLimit', { max: ctx.maxJobsPerUser }), true);
    return;
  }
  await toast(ctx, cq.id, t('working'));
  await createJob(ctx, target, req, release);
}
