/**
 * Discord's attachment upload flow (reference §2.4, §2.5): ask for upload slots, PUT the bytes to
 * the storage host (its origin swapped for `proxy.upload`), then reference the uploaded files.
 */
import { request } from 'undici';
import { UploadError } from './errors.ts';
import type { RestClient } from './rest.ts';
import { type DiscordMessage, messageSchema } from './types.ts';

export interface UploadFile {
  filename: string;
  bytes: Buffer;
  contentType: string;
}

export interface UploadedRef {
  id: string;
  filename: string;
  uploaded_filename: string;
}

/** Uploads files to a channel's storage; the refs go into an interaction's or a message's `attachments`. */
export async function uploadAttachments(
  rest: RestClient,
  opts: { channelId: string; uploadOrigin: string; files: UploadFile[] },
): Promise<UploadedRef[]> {
  const slots = await rest.request<{
    attachments?: { id?: unknown; upload_url?: unknown; upload_filename?: unknown }[];
  }>('POST', `/channels/${opts.channelId}/attachments`, {
    json: {
      files: opts.files.map((f, i) => ({
        filename: f.filename,
        file_size: f.bytes.length,
        id: String(i),
        is_clip: false,
      })),
    },
  });
  const list = slots?.attachments ?? [];
  if (list.length !== opts.files.length) throw new UploadError('Discord gave no upload slot');
  const refs: UploadedRef[] = [];
  for (const [i, slot] of list.entries()) {
    const file = opts.files[i] as UploadFile;
    if (typeof slot.upload_url !== 'string' || typeof slot.upload_filename !== 'string') {
      throw new UploadError('Discord gave a malformed upload slot');
    }
    const real = new URL(slot.upload_url);
    const target = new URL(real.pathname + real.search, opts.uploadOrigin);
    let status: number;
    try {
      const res = await request(target, {
        method: 'PUT',
        headers: { 'content-type': file.contentType, 'content-length': String(file.bytes.length) },
        body: file.bytes,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      throw new UploadError(`upload host unreachable: ${(err as Error).message}`);
    }
    if (status < 200 || status >= 300) throw new UploadError(`upload host answered ${status}`);
    refs.push({
      id: String(slot.id ?? i),
      filename: slot.upload_filename.split('/').pop() ?? file.filename,
      uploaded_filename: slot.upload_filename,
    });
  }
  return refs;
}

/** Posts a message carrying uploaded files; its attachments hold the files' CDN URLs. */
export async function postMessageWithUploads(
  rest: RestClient,
  channelId: string,
  refs: UploadedRef[],
  content = '',
): Promise<DiscordMessage> {
  const body = await rest.request<unknown>('POST', `/channels/${channelId}/messages`, {
    json: {
      content,
      channel_id: channelId,
      type: 0,
      sticker_ids: [],
      attachments: refs.map((r, i) => ({
        id: String(i),
        filename: r.filename,
        uploaded_filename: r.uploaded_filename,
      })),
    },
  });
  const parsed = messageSchema.safeParse(body);
  if (!parsed.success) throw new UploadError('Discord answered the message post with no message');
  return parsed.data;
}
