/**
 * `/jobs` (the user's unfinished jobs with state and queue position) and `/cancel` (the job whose
 * message is replied to, or the user's latest).
 */
import { isTerminal } from '../../engine/task.ts';
import type { FrontContext } from '../context.ts';
import type { Tr } from '../i18n/index.ts';
import { resultOfMessage } from '../results.ts';
import { friendlyError, jobsList } from '../texts.ts';
import type { TgMessage } from '../updates.ts';
import { say } from './reply.ts';

export async function listJobs(ctx: FrontContext, t: Tr, msg: TgMessage, userId: number): Promise<void> {
  const tasks = await ctx.jobs.list(userId);
  await say(ctx, msg.chat.id, jobsList(t, tasks), { replyTo: msg.message_id });
}

export async function cancelJob(
  ctx: FrontContext,
  t: Tr,
  msg: TgMessage,
  userId: number,
  isAdmin: boolean,
): Promise<void> {
  const chatId = msg.chat.id;
  const replyTo = msg.message_id;
  let taskId: string | undefined;
  const replied = msg.reply_to_message;
  if (replied && replied.from?.id !== userId) {
    taskId = await ctx.progress.taskOfMessage(chatId, replied.message_id);
    if (!taskId) {
      await say(ctx, chatId, t('notAJob'), { replyTo });
      return;
    }
  } else {
    taskId = (await ctx.jobs.list(userId)).at(-1)?.id;
    if (!taskId) {
      await say(ctx, chatId, t('nothingToCancel'), { replyTo });
      return;
    }
  }
  const task = await ctx.engine.get(taskId).catch(() => undefined);
  if (!task || isTerminal(task.status)) {
    await say(ctx, chatId, t('alreadyDone'), { replyTo });
    return;
  }
  const mine = (await ctx.jobs.list(userId)).some((t) => t.id === taskId);
  if (!mine && !isAdmin) {
    await say(ctx, chatId, t('notYoursCancel'), { replyTo });
    return;
  }
  try {
    // The job's own status message turns into "Cancelled." through the engine's event.
    await ctx.engine.cancel(taskId);
  } catch (err) {
    await say(ctx, chatId, friendlyError(t, err), { replyTo });
  }
}

/** `/seed` as a reply to one of the bot's results: the seed of that result. */
export async function replySeed(
  ctx: FrontContext,
  t: Tr,
  msg: TgMessage,
  userId: number,
  isAdmin: boolean,
): Promise<void> {
  const chatId = msg.chat.id;
  const replyTo = msg.message_id;
  const replied = msg.reply_to_message;
  const result =
    replied && replied.from?.id === ctx.bot.id
      ? await resultOfMessage(ctx, chatId, replied.message_id)
      : undefined;
  const task = result ? await ctx.engine.get(result.taskId).catch(() => undefined) : undefined;
  if (!result || !task) {
    await say(ctx, chatId, t('seedWhat'), { replyTo });
    return;
  }
  if (result.ownerId !== userId && !isAdmin) {
    await say(ctx, chatId, t('notYours'), { replyTo });
    return;
  }
  try {
    const seed = await ctx.engine.seed(task.id);
    await say(ctx, chatId, t('seedValue', { seed }), { replyTo });
  } catch (err) {
    ctx.logger.info({ task: task.id, err: (err as Error).message }, 'seed not read');
    await say(ctx, chatId, t('seedFailed'), { replyTo });
  }
}
