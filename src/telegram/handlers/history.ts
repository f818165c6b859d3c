/**
 * `/history` (SPEC §15): the user's last finished results, five a page, in one message that
 * edits itself when ◀ ▶ are pressed; a numbered button sends that result again with its buttons,
 * which work as the original ones do. Callback data `h:<owner>:p:<page>` / `h:<owner>:o:<taskId>`.
 */
import type { Task } from '../../engine/task.ts';
import type { FrontContext } from '../context.ts';
import type { Tr } from '../i18n/index.ts';
import type { InlineKeyboard } from '../keyboard.ts';
import { deliverFinal } from '../results.ts';
import { apiFailure, isNotModified } from '../sender.ts';
import { cut, TEXT_LIMIT, taskLabel } from '../texts.ts';
import type { TgCallbackQuery } from '../updates.ts';
import { say, toast } from './reply.ts';

export const HISTORY_PREFIX = 'h:';
const PAGE_SIZE = 5;
const NUMBERS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];

/** One page of the history message. */
async function historyPage(
  ctx: FrontContext,
  t: Tr,
  userId: number,
  page: number,
): Promise<{ text: string; keyboard?: InlineKeyboard }> {
  const ids = await ctx.history.list(userId);
  const tasks: Task[] = [];
  // Results whose task has left the engine's store are skipped.
  for (const id of ids) {
    const task = await ctx.engine.get(id).catch(() => undefined);
    if (task?.status === 'FINISHED') tasks.push(task);
  }
  if (tasks.length === 0) return { text: t('histEmpty') };
  const pages = Math.ceil(tasks.length / PAGE_SIZE);
  const p = Math.min(Math.max(0, page), pages - 1);
  const shown = tasks.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
  const lines = shown.map((task, i) => `${NUMBERS[i]} ${taskLabel(t, task, 80)}`);
  const text = cut(`${t('histTitle', { page: p + 1, pages })}\n\n${lines.join('\n')}`, TEXT_LIMIT);
  const open = shown.map((task, i) => ({
    text: NUMBERS[i] ?? String(i + 1),
    callback_data: `${HISTORY_PREFIX}${userId}:o:${task.id}`,
  }));
  const nav = [
    ...(p > 0 ? [{ text: '◀', callback_data: `${HISTORY_PREFIX}${userId}:p:${p - 1}` }] : []),
    ...(p < pages - 1 ? [{ text: '▶', callback_data: `${HISTORY_PREFIX}${userId}:p:${p + 1}` }] : []),
  ];
  return { text, keyboard: { inline_keyboard: nav.length > 0 ? [open, nav] : [open] } };
}

export async function showHistory(
  ctx: FrontContext,
  t: Tr,
  chatId: number,
  userId: number,
  replyTo: number,
): Promise<void> {
  const view = await historyPage(ctx, t, userId, 0);
  await say(ctx, chatId, view.text, { replyTo, ...(view.keyboard ? { replyMarkup: view.keyboard } : {}) });
}

/** A press on a history message: turn the page, or open a result. */
export async function onHistoryPress(ctx: FrontContext, t: Tr, cq: TgCallbackQuery): Promise<void> {
  const m = /^h:(\d+):(p|o):(\d{1,30})$/.exec(cq.data ?? '');
  const message = cq.message;
  if (!m || !message) {
    await toast(ctx, cq.id, t('expired'));
    return;
  }
  const owner = Number(m[1]);
  if (owner !== cq.from.id) {
    await toast(ctx, cq.id, t('notYours'));
    return;
  }
  const chatId = message.chat.id;
  if (m[2] === 'p') {
    await toast(ctx, cq.id, '');
    const view = await historyPage(ctx, t, owner, Number(m[3]));
    try {
      await ctx.sender.call(
        'editMessageText',
        {
          chat_id: chatId,
          message_id: message.message_id,
          text: view.text,
          ...(view.keyboard ? { reply_markup: view.keyboard } : {}),
        },
        { chatId, priority: 'message' },
      );
    } catch (err) {
      if (!isNotModified(err))
        ctx.logger.warn({ chat: chatId, err: apiFailure(err).description }, 'history page not shown');
    }
    return;
  }
  const taskId = m[3] ?? '';
  const mine = (await ctx.history.list(owner)).includes(taskId);
  const task = mine ? await ctx.engine.get(taskId).catch(() => undefined) : undefined;
  if (task?.status !== 'FINISHED') {
    await toast(ctx, cq.id, t('histGone'));
    return;
  }
  await toast(ctx, cq.id, '');
  await deliverFinal(ctx, task, { chatId, ownerId: owner, replyTo: message.message_id, t });
}
