/**
 * The parts of incoming Telegram updates the bot reads, checked with zod (telegraf's own types are
 * a wide union; this keeps the handlers simple and safe against odd payloads).
 */
import { z } from 'zod';

const userSchema = z.looseObject({
  id: z.number(),
  is_bot: z.boolean().optional(),
  first_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});
export type TgUser = z.infer<typeof userSchema>;

const chatSchema = z.looseObject({
  id: z.number(),
  type: z.string(),
});

const photoSizeSchema = z.looseObject({
  file_id: z.string(),
  width: z.number().optional(),
  height: z.number().optional(),
  file_size: z.number().optional(),
});

const documentSchema = z.looseObject({
  file_id: z.string(),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  file_size: z.number().optional(),
});

const baseMessage = {
  message_id: z.number(),
  date: z.number().optional(),
  chat: chatSchema,
  from: userSchema.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  photo: z.array(photoSizeSchema).optional(),
  document: documentSchema.optional(),
  media_group_id: z.string().optional(),
  sticker: z.looseObject({ file_id: z.string() }).optional(),
};

const replySchema = z.looseObject(baseMessage);
export type TgReplied = z.infer<typeof replySchema>;

export const messageSchema = z.looseObject({ ...baseMessage, reply_to_message: replySchema.optional() });
export type TgMessage = z.infer<typeof messageSchema>;

export const callbackQuerySchema = z.looseObject({
  id: z.string(),
  from: userSchema,
  message: z.looseObject({ message_id: z.number(), chat: chatSchema }).optional(),
  data: z.string().optional(),
});
export type TgCallbackQuery = z.infer<typeof callbackQuerySchema>;

/** An image a message carries: the largest photo size, or a document of an image type. */
export interface ImageRef {
  fileId: string;
  size: number | undefined;
  mime: string;
}

export function imageOf(msg: TgReplied | TgMessage | undefined): ImageRef | undefined {
  if (!msg) return undefined;
  if (msg.photo && msg.photo.length > 0) {
    const best = msg.photo.reduce((a, b) =>
      (b.width ?? 0) * (b.height ?? 0) > (a.width ?? 0) * (a.height ?? 0) ? b : a,
    );
    return { fileId: best.file_id, size: best.file_size, mime: 'image/jpeg' };
  }
  const doc = msg.document;
  if (doc && /^image\/(png|jpeg|webp|gif)$/i.test(doc.mime_type ?? '')) {
    return { fileId: doc.file_id, size: doc.file_size, mime: (doc.mime_type ?? 'image/jpeg').toLowerCase() };
  }
  return undefined;
}

/** A command at the start of a text or caption: `/imagine@bot a fox` → {name, target, args}. */
export interface Command {
  name: string;
  target: string | undefined;
  args: string;
}

export function parseCommand(text: string | undefined): Command | undefined {
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+([\s\S]*))?$/.exec((text ?? '').trim());
  if (!m) return undefined;
  return { name: (m[1] ?? '').toLowerCase(), target: m[2], args: (m[3] ?? '').trim() };
}

export function isGroup(chat: { type: string }): boolean {
  return chat.type !== 'private';
}
