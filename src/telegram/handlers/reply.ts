/**
 * Short answers in a chat (guide, refusals, friendly errors), sent through the paced sender and
 * never awaited by the update handlers: a slow or blocked chat never holds up another.
 */
import type { FrontContext } from '../context.ts';
import { apiFailure } from '../sender.ts';
import { cut, TEXT_LIMIT } from '../texts.ts';

export interface SayOptions {
  replyTo?: number | undefined;
  replyMarkup?: object;
}

/** Sends a text message; resolves with its id, or undefined when Telegram refused it. */
export async function say(
  ctx: FrontContext,
  chatId: number,
  text: string,
  opts: SayOptions = {},
): Promise<number | undefined> {
  try {
    const msg = await ctx.sender.call<{ message_id: number }>(
      'sendMessage',
      {
        chat_id: chatId,
        text: cut(text, TEXT_LIMIT),
        ...(opts.replyMarkup ? { reply_markup: opts.replyMarkup } : {}),
        ...(opts.replyTo !== undefined
          ? { reply_parameters: { message_id: opts.replyTo, allow_sending_without_reply: true } }
          : {}),
      },
      { chatId, priority: 'message' },
    );
    return msg.message_id;
  } catch (err) {
    ctx.logger.warn({ chat: chatId, err: apiFailure(err).description }, 'telegram message not sent');
    return undefined;
  }
}

/** Answers a button press with a toast (at once, ahead of everything else in the sender). */
export async function toast(ctx: FrontContext, queryId: string, text: string, alert = false): Promise<void> {
  try {
    await ctx.sender.call(
      'answerCallbackQuery',
      { callback_query_id: queryId, text: cut(text, 200), ...(alert ? { show_alert: true } : {}) },
      { priority: 'answer' },
    );
  } catch (err) {
    ctx.logger.debug({ err: apiFailure(err).description }, 'callback answer failed');
  }
}
