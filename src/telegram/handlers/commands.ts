/**
 * `/jobs` (the user's unfinished jobs with state and queue position) and `/cancel` (the job whose
 * message is replied to, or the user's latest).
 */
import { isTerminal } from '../../engine/task.ts';
import type { FrontContext } from '../context.ts';
import { friendlyError, jobsList, T } from '../texts.ts';
import type { TgMessage } from '../updates.ts';
import { say } from './reply.ts';

export async function listJobs(ctx: FrontContext, msg: TgMessage, userId: number): Promise<void> {
  const tasks = await ctx.jobs.list(userId);
  await say(ctx, msg.chat.id, jobsList(tasks), { replyTo: msg.message_id });
}

export async function cancelJob(
  ctx: FrontContext,
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
      await say(ctx, chatId, T.notAJob, { replyTo });
      return;
    }
  } else {
    taskId = (await ctx.jobs.list(userId)).at(-1)?.id;
    if (!taskId) {
      await say(ctx, chatId, T.nothingToCancel, { replyTo });
      return;
    }
  }
  const task = await ctx.engine.get(taskId).catch(() => undefined);
  if (!task || isTerminal(task.status)) {
    await say(ctx, chatId, T.alreadyDone, { replyTo });
    return;
  }
  const mine = (await ctx.jobs.list(userId)).some((t) => t.id === taskId);
  if (!mine && !isAdmin) {
    await say(ctx, chatId, T.notYoursCancel, { replyTo });
    return;
  }
  try {
    // The job's own status message turns into "Cancelled." through the engine's event.
    await ctx.engine.cancel(taskId);
  } catch (err) {
    await say(ctx, chatId, friendlyError(err), { replyTo });
  }
}
