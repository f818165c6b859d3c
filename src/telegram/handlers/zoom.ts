/**
 * Custom Zoom (SPEC §7.4): the button asks, with a ForceReply message, for a zoom between 1 and 2
 * and an optional new prompt; the reply starts the ZOOMOUT_CUSTOM task with `--zoom <value>`.
 */
import { z } from 'zod';
import type { ButtonEntry } from '../callback-keys.ts';
import type { FrontContext } from '../context.ts';
import type { Tr } from '../i18n/index.ts';
import { readKey, writeKey } from '../kv.ts';
import { shownPrompt } from '../texts.ts';
import type { TgMessage } from '../updates.ts';
import { createJob, reserveSlot } from './create-job.ts';
import { say } from './reply.ts';

const entrySchema = z.object({
  taskId: z.string(),
  customId: z.string(),
  ownerId: z.number(),
  chatId: z.number(),
});

/**
 * Questions being sent and stored, per front: a quick answer can arrive before its question's key
 * is written, and must wait for it rather than be taken for a new prompt. (Questions are rare, so
 * an answer simply waits for all of them.)
 */
const asking = new WeakMap<FrontContext, Set<Promise<void>>>();

/** Asks for the zoom, as a reply to the result whose button was pressed. */
export async function askZoom(
  ctx: FrontContext,
  t: Tr,
  entry: ButtonEntry,
  chatId: number,
  resultMessageId: number | undefined,
): Promise<void> {
  const inFlight = asking.get(ctx) ?? new Set<Promise<void>>();
  asking.set(ctx, inFlight);
  const work = (async () => {
    const id = await say(ctx, chatId, t('zoomAsk'), {
      replyTo: resultMessageId,
      replyMarkup: { force_reply: true, input_field_placeholder: t('zoomPlaceholder') },
    });
    if (id !== undefined) await writeKey(ctx.kv, `zoom:${chatId}:${id}`, entry, ctx.logger);
  })();
  inFlight.add(work);
  try {
    await work;
  } finally {
    inFlight.delete(work);
  }
}

/** The zoom request a message answers, if it replies to one of our zoom questions. */
export async function pendingZoom(
  ctx: FrontContext,
  chatId: number,
  questionId: number,
): Promise<ButtonEntry | undefined> {
  await Promise.allSettled(asking.get(ctx) ?? []);
  return readKey(ctx.kv, `zoom:${chatId}:${questionId}`, entrySchema, ctx.logger);
}

/** `1.5 a castle` → {zoom: 1.5, prompt: 'a castle'}; null when no zoom in 1..2 leads the text. */
export function parseZoomReply(text: string): { zoom: number; prompt: string } | null {
  const m = /^\s*(?:--zoom\s+)?(\d+(?:[.,]\d+)?)\b\s*([\s\S]*)$/.exec(text);
  if (!m) return null;
  const zoom = Number((m[1] ?? '').replace(',', '.'));
  if (!(zoom >= 1 && zoom <= 2)) return null;
  return { zoom, prompt: (m[2] ?? '').trim() };
}

/** Handles the user's answer to a zoom question. */
export async function answerZoom(
  ctx: FrontContext,
  t: Tr,
  msg: TgMessage,
  entry: ButtonEntry,
  isAdmin: boolean,
): Promise<void> {
  const from = msg.from;
  if (!from) return;
  const chatId = msg.chat.id;
  if (from.id !== entry.ownerId && !isAdmin) {
    await say(ctx, chatId, t('notYours'), { replyTo: msg.message_id });
    return;
  }
  const parsed = parseZoomReply(msg.text ?? '');
  if (!parsed) {
    await say(ctx, chatId, t('zoomInvalid'), { replyTo: msg.message_id });
    return;
  }
  const parent = await ctx.engine.get(entry.taskId).catch(() => undefined);
  if (!parent) {
    await say(ctx, chatId, t('expired'), { replyTo: msg.message_id });
    return;
  }
  const base = (parsed.prompt || shownPrompt(parent)).replace(/\s--zoom\s+\S+/g, '').trim();
  const target = { chatId, userId: from.id, replyTo: msg.message_id, t };
  const release = await reserveSlot(ctx, target);
  if (!release) return;
  await createJob(
    ctx,
    target,
    {
      kind: 'action',
      taskId: entry.taskId,
      customId: entry.customId,
      prompt: `${base} --zoom ${parsed.zoom}`,
    },
    release,
  );
}
