/**
 * Discord's attachment upload flow: ask the channel for upload slots, PUT the bytes to the storage
 * host (its origin replaced by `proxy.upload`, path and query kept), then reference the uploaded
 * files by `uploaded_filename` — in an interaction, or in a message that hosts them on the CDN.
 */
import { request } from 'undici';
import { z } from 'zod';
import { UploadError } from './errors.ts';
import type { RestClient } from './rest.ts';
import { type DiscordMessage, messageSchema } from './types.ts';

export interface UploadFile {
  filename: string;
  bytes: Buffer;
  contentType: string;
}

/** What an interaction's or a message's `attachments[]` needs to point at an uploaded file. */
export interface UploadedRef {
  id: string;
  filename: string;
  uploaded_filename: string;
}

const slotsSchema = z.looseObject({
  attachments: z.array(
    z.looseObject({
      id: z.union([z.string(), z.number()]).optional(),
      upload_url: z.string().min(1),
      upload_filename: z.string().min(1),
    }),
  ),
});

/**
 * Uploads files to a channel's storage and returns their refs, in the order given.
 * @throws {UploadError} no usable slot, or the storage host refused or could not be reached.
 * @throws {DiscordHttpError} Discord refused the slots (e.g. 403 for a channel we cannot post in).
 */
export async function uploadAttachments(
  rest: RestClient,
  opts: { channelId: string; uploadOrigin: string; files: UploadFile[] },
): Promise<UploadedRef[]> {
  if (opts.files.length === 0) return [];
  const answer = await rest.request<unknown>('POST', `/channels/${opts.channelId}/attachments`, {
    json: {
      files: opts.files.map((f, i) => ({
        id: String(i),
        filename: f.filename,
        file_size: f.bytes.length,
        is_clip: false,
      })),
    },
  });
  const slots = slotsSchema.safeParse(answer);
  if (!slots.success) throw new UploadError('Discord answered the upload request without upload slots');
  if (slots.data.attachments.length !== opts.files.length) {
    throw new UploadError(
      `Discord gave ${slots.data.attachments.length} upload slots for ${opts.files.length} files`,
    );
  }
  const refs: UploadedRef[] = [];
  for (const [i, slot] of slots.data.attachments.entries()) {
    const file = opts.files[i]!;
    const target = rewriteOrigin(slot.upload_url, opts.uploadOrigin);
    await putBytes(target, file, rest.timeoutMs * 2);
    refs.push({
      id: slot.id === undefined ? String(i) : String(slot.id),
      filename: file.filename,
      uploaded_filename: slot.upload_filename,
    });
  }
  return refs;
}

/**
 * Posts a message carrying uploaded files. Discord hosts them: the returned message's
 * `attachments[i].url` are CDN URLs, in the order of `refs`.
 */
export async function postMessageWithUploads(
  rest: RestClient,
  channelId: string,
  refs: UploadedRef[],
  content = '',
): Promise<DiscordMessage> {
  const answer = await rest.request<unknown>('POST', `/channels/${channelId}/messages`, {
    json: {
      content,
      channel_id: channelId,
      type: 0,
      sticker_ids: [],
      attachments: refs.map((r) => ({
        id: r.id,
        filename: r.filename,
        uploaded_filename: r.uploaded_filename,
      })),
    },
  });
  const parsed = messageSchema.safeParse(answer);
  if (!parsed.success) throw new UploadError('Discord answered the message post without a message');
  return parsed.data;
}

/**
 * `url` with its origin replaced by `origin` (which may carry a path prefix, e.g. a reverse proxy's
 * `https://proxy.example/gcs`); path and query are kept.
 */
export function rewriteOrigin(url: string, origin: string): string {
  let real: URL;
  try {
    real = new URL(url);
  } catch {
    throw new UploadError('Discord gave an upload URL that is not a URL');
  }
  return origin.replace(/\/+$/, '') + real.pathname + real.search;
}

async function putBytes(target: string, file: UploadFile, timeoutMs: number): Promise<void> {
  let status: number;
  let text = '';
  try {
    const res = await request(target, {
      method: 'PUT',
      headers: { 'content-type': file.contentType, 'content-length': String(file.bytes.length) },
      body: file.bytes,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown };
    const why = e?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(e?.message ?? err);
    throw new UploadError(`upload host unreachable for ${file.filename}: ${why}`);
  }
  if (status < 200 || status >= 300) {
    const snippet = text.replace(/\s+/g, ' ').slice(0, 120);
    throw new UploadError(
      `upload host answered ${status} for ${file.filename}${snippet ? `: ${snippet}` : ''}`,
      status,
    );
  }
}
