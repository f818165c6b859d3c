/**
 * Final messages of a job (SPEC §7.3): a grid as a photo with the prompt and Midjourney's buttons;
 * an upscale as a photo with its buttons plus the full file as a document; a describe result as
 * text with buttons 1–4; a failure as a short friendly line. A photo Telegram refuses goes out as
 * a document, and if that fails too, as a link: a final result is never silently dropped.
 */
import { z } from 'zod';
import type { Task } from '../engine/task.ts';
import { isGridResult } from '../midjourney/actions.ts';
import { gridImages } from './album.ts';
import { OWN } from './callback-keys.ts';
import type { FrontContext } from './context.ts';
import type { Tr } from './i18n/index.ts';
import { type InlineKeyboard, inlineKeyboard, resultButtons } from './keyboard.ts';
import { readKey, writeKey } from './kv.ts';
import { type FetchedBytes, fetchBytes, fileNameOf } from './media.ts';
import { apiFailure } from './sender.ts';
import {
  CAPTION_LIMIT,
  cut,
  describeText,
  failureText,
  resultCaption,
  shownPrompt,
  TEXT_LIMIT,
} from './texts.ts';

/** Where a result goes. */
export interface ResultTarget {
  chatId: number;
  ownerId: number;
  replyTo: number | null;
  /** The language of the job's owner. */
  t: Tr;
}

/** Telegram's upload limits: photos 10 MB, documents 50 MB. */
const PHOTO_MAX = 10 * 1024 * 1024;
const DOCUMENT_MAX = 50 * 1024 * 1024;

const SINGLE_IMAGE = new Set([
  'UPSCALE',
  'UPSCALE_V5_2X',
  'UPSCALE_V5_4X',
  'UPSCALE_V6_2X_SUBTLE',
  'UPSCALE_V6_2X_CREATIVE',
]);

interface SentMessage {
  message_id: number;
}

function replyParams(replyTo: number | null, multipart: boolean): Record<string, unknown> {
  if (replyTo === null) return {};
  const value = { message_id: replyTo, allow_sending_without_reply: true };
  // telegraf's multipart encoder only serialises a few known object fields; this one must be text.
  return { reply_parameters: multipart ? JSON.stringify(value) : value };
}

const resultSchema = z.object({ taskId: z.string(), ownerId: z.number() });

/** Sends the final message(s) of a finished or failed task; returns the ids of what was sent. */
export async function deliverFinal(ctx: FrontContext, task: Task, target: ResultTarget): Promise<number[]> {
  const ids = await sendFinal(ctx, task, target);
  // Which result a message shows, for commands given as a reply to it (`/seed`).
  if (task.status === 'FINISHED') {
    const entry = { taskId: task.id, ownerId: target.ownerId };
    await Promise.all(ids.map((id) => writeKey(ctx.kv, `res:${target.chatId}:${id}`, entry, ctx.logger)));
  }
  return ids;
}

/** The result a bot message shows, if it is one. */
export function resultOfMessage(
  ctx: FrontContext,
  chatId: number,
  messageId: number,
): Promise<z.infer<typeof resultSchema> | undefined> {
  return readKey(ctx.kv, `res:${chatId}:${messageId}`, resultSchema, ctx.logger);
}

async function sendFinal(ctx: FrontContext, task: Task, target: ResultTarget): Promise<number[]> {
  if (task.status === 'FAILED') {
    return [await sendText(ctx, target, failureText(target.t, task), undefined)];
  }
  const keyOf = (customId: string) =>
    ctx.keys.create({ taskId: task.id, customId, ownerId: target.ownerId, chatId: target.chatId });
  const keyboard = await inlineKeyboard(resultButtons(task), keyOf);
  if (task.action === 'DESCRIBE' || task.action === 'SHORTEN') {
    return [await sendText(ctx, target, describeText(target.t, task), keyboard)];
  }
  const caption = resultCaption(target.t, task);
  const videos =
    task.videoUrls.length > 0 ? task.videoUrls.map((v) => v.url) : task.videoUrl ? [task.videoUrl] : [];
  if (videos.length > 0) return sendVideos(ctx, task, target, videos, caption, keyboard);
  const url = task.imageUrl;
  let image: FetchedBytes | undefined;
  if (url) {
    try {
      image = await fetchBytes(url, { maxBytes: DOCUMENT_MAX, timeoutMs: ctx.timing.downloadTimeoutMs * 2 });
    } catch (err) {
      ctx.logger.warn({ task: task.id, err: (err as Error).message }, 'result image download failed');
    }
  }
  if (!image || !url) return [await sendLink(ctx, target, caption, url, keyboard)];
  if (isGridResult(task) && (await ctx.prefs.get(target.ownerId)).album) {
    const ids = await sendAlbum(ctx, task, target, image.bytes, caption, keyboard);
    if (ids) return ids;
  }
  const filename = fileNameOf(url, `${task.id}.png`);
  const sent: number[] = [];
  let asDocument = image.bytes.length > PHOTO_MAX;
  const file = { source: image.bytes, filename };
  const captioned = {
    caption,
    ...(keyboard ? { reply_markup: keyboard } : {}),
    ...replyParams(target.replyTo, true),
  };
  if (!asDocument) {
    const id = await sendFile(ctx, task, target, 'sendPhoto', { photo: file, ...captioned });
    if (id === undefined) asDocument = true;
    else sent.push(id);
  }
  if (asDocument || SINGLE_IMAGE.has(task.action)) {
    // An upscale's full file comes after its photo; a refused photo comes as this document.
    const id = await sendFile(ctx, task, target, 'sendDocument', {
      document: file,
      ...(asDocument ? captioned : {}),
    });
    if (id !== undefined) sent.push(id);
    else if (asDocument) sent.push(await sendLink(ctx, target, caption, url, keyboard));
  }
  return sent;
}

/**
 * A grid as an album of its four images, then the buttons in a message of their own (an album
 * cannot carry a keyboard); undefined when the album could not be made or was refused.
 */
async function sendAlbum(
  ctx: FrontContext,
  task: Task,
  target: ResultTarget,
  grid: Buffer,
  caption: string,
  keyboard: InlineKeyboard | undefined,
): Promise<number[] | undefined> {
  let images: Buffer[];
  try {
    images = await gridImages(ctx, task, grid);
  } catch (err) {
    ctx.logger.warn({ task: task.id, err: (err as Error).message }, 'grid not cut for the album');
    return undefined;
  }
  let sent: SentMessage[];
  try {
    sent = await ctx.sender.call<SentMessage[]>(
      'sendMediaGroup',
      {
        chat_id: target.chatId,
        media: images.map((bytes, i) => ({
          type: 'photo',
          media: { source: bytes, filename: `${task.id}_${i + 1}.png` },
          ...(i === 0 && caption ? { caption } : {}),
        })),
        ...replyParams(target.replyTo, true),
      },
      { chatId: target.chatId, priority: 'final' },
    );
  } catch (err) {
    if (!refusedMedia(err)) throw err;
    ctx.logger.warn({ task: task.id, err: apiFailure(err).description }, 'album refused by Telegram');
    return undefined;
  }
  const prompt = cut(shownPrompt(task), 300);
  const text = prompt ? target.t('albumButtons', { prompt }) : target.t('albumButtonsBare');
  const buttons = await sendText(ctx, { ...target, replyTo: null }, text, keyboard);
  return [...sent.map((m) => m.message_id), buttons];
}

/**
 * A video result: each video with `sendVideo` (a refused one as a document, else a link), the
 * buttons under the last one.
 */
async function sendVideos(
  ctx: FrontContext,
  task: Task,
  target: ResultTarget,
  urls: string[],
  caption: string,
  keyboard: InlineKeyboard | undefined,
): Promise<number[]> {
  const sent: number[] = [];
  for (const [i, url] of urls.entries()) {
    const last = i === urls.length - 1;
    const markup = last && keyboard ? { reply_markup: keyboard } : {};
    let bytes: Buffer | undefined;
    try {
      bytes = (await fetchBytes(url, { maxBytes: DOCUMENT_MAX, timeoutMs: ctx.timing.downloadTimeoutMs * 2 }))
        .bytes;
    } catch (err) {
      ctx.logger.warn({ task: task.id, err: (err as Error).message }, 'result video download failed');
    }
    const text = urls.length > 1 ? `${caption}\n${i + 1}/${urls.length}` : caption;
    if (bytes) {
      const file = { source: bytes, filename: fileNameOf(url, `${task.id}_${i + 1}.mp4`) };
      const payload = { caption: cut(text, CAPTION_LIMIT), ...markup, ...replyParams(target.replyTo, true) };
      const id =
        (await sendFile(ctx, task, target, 'sendVideo', {
          video: file,
          supports_streaming: true,
          ...payload,
        })) ?? (await sendFile(ctx, task, target, 'sendDocument', { document: file, ...payload }));
      if (id !== undefined) {
        sent.push(id);
        continue;
      }
    }
    sent.push(await sendText(ctx, target, `${text}\n\n${url}`, last ? keyboard : undefined));
  }
  return sent;
}

/** Sends a photo or document; undefined when Telegram will not take the file. */
async function sendFile(
  ctx: FrontContext,
  task: Task,
  target: ResultTarget,
  method: 'sendPhoto' | 'sendDocument' | 'sendVideo',
  payload: Record<string, unknown>,
): Promise<number | undefined> {
  try {
    const msg = await ctx.sender.call<SentMessage>(
      method,
      { chat_id: target.chatId, ...payload },
      { chatId: target.chatId, priority: 'final' },
    );
    return msg.message_id;
  } catch (err) {
    if (!refusedMedia(err)) throw err;
    ctx.logger.warn({ task: task.id, method, err: apiFailure(err).description }, 'file refused by Telegram');
    return undefined;
  }
}

/** A 4xx other than flood control and lost access: Telegram will not take this file. */
function refusedMedia(err: unknown): boolean {
  const f = apiFailure(err);
  return (f.code >= 400 && f.code < 500 && f.code !== 429 && f.code !== 403) || f.code === 413;
}

async function sendText(
  ctx: FrontContext,
  target: ResultTarget,
  text: string,
  keyboard: InlineKeyboard | undefined,
): Promise<number> {
  const msg = await ctx.sender.call<SentMessage>(
    'sendMessage',
    {
      chat_id: target.chatId,
      text: cut(text, TEXT_LIMIT),
      ...(keyboard ? { reply_markup: keyboard } : {}),
      ...replyParams(target.replyTo, false),
    },
    { chatId: target.chatId, priority: 'final' },
  );
  return msg.message_id;
}

function sendLink(
  ctx: FrontContext,
  target: ResultTarget,
  caption: string,
  url: string | null,
  keyboard: InlineKeyboard | undefined,
): Promise<number> {
  const text = url ? `${caption}\n\n${url}` : `${caption}\n\n${target.t('imageNotSent')}`;
  return sendText(ctx, target, text, keyboard);
}

/** The keyboard of a status message: one Cancel button. */
export async function cancelKeyboard(
  ctx: FrontContext,
  t: Tr,
  taskId: string,
  ownerId: number,
  chatId: number,
): Promise<{ keyboard: InlineKeyboard; key: string }> {
  const key = await ctx.keys.create({ taskId, customId: OWN.cancel, ownerId, chatId });
  return { keyboard: { inline_keyboard: [[{ text: t('cancelButton'), callback_data: key }]] }, key };
}
