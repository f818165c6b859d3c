/**
 * A fake Telegram Bot API server on 127.0.0.1 for tests: it speaks the real envelope
 * (`{ok,result}` / `{ok:false,error_code,description,parameters}`) with Telegram's own error
 * descriptions, takes JSON, urlencoded and multipart bodies (telegraf uploads multipart), long-polls
 * `getUpdates`, delivers to a webhook, serves files, enforces the limits that matter (64-byte
 * callback data, 4096/1024 characters, "message is not modified", flood control with
 * `retry_after`) and keeps every call and the current state of every chat for assertions.
 *
 * Test side: inject updates (`sendText`, `sendPhoto`, `sendAlbum`, `press`), switch failures
 * (`refusePhotos`, `block`, `failNext`, `flood`), read `calls`, `messages(chatId)`, `answers`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  first_name?: string;
  username?: string;
}

/** A message as the fake keeps it (bot's and users'), with its current content. */
export interface FakeMessage {
  message_id: number;
  chatId: number;
  from: FakeUser;
  fromBot: boolean;
  date: number;
  text?: string;
  caption?: string;
  photo?: { file_id: string; size: number; width: number; height: number };
  document?: { file_id: string; file_name: string; size: number; mime_type?: string };
  video?: { file_id: string; size: number; file_name: string };
  sticker?: { file_id: string; emoji: string };
  reply_markup?: Record<string, unknown>;
  reply_to?: number;
  media_group_id?: string;
  deleted: boolean;
  sentAt: number;
  /** Times (ms) of successful edits of this message, any kind. */
  editTimes: number[];
}

export interface RecordedCall {
  method: string;
  chatId: number | undefined;
  messageId: number | undefined;
  /** Parameters as received; uploaded files appear as `{file: <name>, size}`. */
  params: Record<string, unknown>;
  /** When the request arrived (ms). */
  at: number;
  ok: boolean;
  errorCode?: number;
  description?: string;
}

export interface CallbackAnswer {
  text?: string;
  show_alert?: boolean;
  at: number;
}

export interface FloodLimits {
  /** Calls accepted per chat within `windowMs` (send, edit, delete methods). */
  perChat?: number;
  /** Calls accepted overall within `windowMs`. */
  global?: number;
  windowMs?: number;
  /** Window of the overall limit (default: `windowMs`). */
  globalWindowMs?: number;
  /** The `retry_after` answered (seconds). */
  retryAfterS?: number;
}

export interface FailRule {
  count: number;
  code: number;
  description: string;
  retryAfterS?: number;
}

export interface FakeTelegramOptions {
  token?: string;
  botUser?: Partial<FakeUser>;
  flood?: FloodLimits;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}

const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

/** Methods that count against flood control, per chat and overall. */
const FLOODED = new Set([
  'sendmessage',
  'sendphoto',
  'senddocument',
  'sendmediagroup',
  'editmessagetext',
  'editmessagecaption',
  'editmessagemedia',
  'editmessagereplymarkup',
  'deletemessage',
]);

interface StoredFile {
  id: string;
  path: string;
  bytes: Buffer;
}

interface Upload {
  filename: string;
  bytes: Buffer;
}

interface Waiter {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  offset: number;
  limit: number;
}

function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  return { width: 512, height: 512 };
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
}

function asArray(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (typeof v !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function asBool(v: unknown): boolean {
  return v === true || v === 'true';
}

/** Splits a multipart body into its text fields and its files. */
export function parseMultipart(
  body: Buffer,
  boundary: string,
): { fields: Record<string, string>; files: Record<string, Upload> } {
  const fields: Record<string, string> = {};
  const files: Record<string, Upload> = {};
  const data = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let pos = data.indexOf(delimiter);
  while (pos !== -1) {
    const start = pos + delimiter.length;
    if (data.subarray(start, start + 2).toString() === '--') break;
    const next = data.indexOf(delimiter, start);
    if (next === -1) break;
    const part = data.subarray(start + 2, next);
    const split = part.indexOf('\r\n\r\n');
    const head = split === -1 ? '' : part.subarray(0, split).toString('utf8');
    const content = split === -1 ? Buffer.alloc(0) : part.subarray(split + 4);
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1];
    if (name !== undefined) {
      if (filename !== undefined) files[name] = { filename, bytes: Buffer.from(content) };
      else fields[name] = content.toString('utf8');
    }
    pos = next;
  }
  return { fields, files };
}

export class FakeTelegram {
  readonly token: string;
  readonly botUser: FakeUser;
  /** Every Bot API call, in arrival order. */
  readonly calls: RecordedCall[] = [];
  /** Answers to callback queries, by query id. */
  readonly answers = new Map<string, CallbackAnswer>();
  /** Commands set with setMyCommands for the default scope and no language. */
  commands: unknown[] = [];
  /** Every command list set, by `<scope JSON or "default">|<language_code or "">`. */
  readonly commandSets = new Map<string, { command: string; description: string }[]>();
  /** Refuse photos (sendPhoto, editMessageMedia with a photo) as Telegram does for bad files. */
  refusePhotos: false | 'too-big' | 'dimensions' = false;
  webhook: { url: string; secret: string } | null = null;
  /** Results of webhook deliveries (HTTP status, or 0 when it could not connect). */
  readonly webhookDeliveries: { updateId: number; status: number }[] = [];
  flood: Required<FloodLimits>;

  private server: Server | undefined;
  private base = '';
  private readonly chats = new Map<number, FakeChat>();
  private readonly users = new Map<number, FakeUser>();
  private readonly msgs = new Map<number, Map<number, FakeMessage>>();
  private readonly nextMessageId = new Map<number, number>();
  private readonly files = new Map<string, StoredFile>();
  private readonly filesByPath = new Map<string, StoredFile>();
  private readonly updates: { update_id: number; [k: string]: unknown }[] = [];
  private readonly openQueries = new Set<string>();
  private readonly blocked = new Set<number>();
  private readonly failRules = new Map<string, FailRule[]>();
  private readonly chatHits = new Map<number, number[]>();
  private readonly chatPausedUntil = new Map<number, number>();
  private globalHits: number[] = [];
  private globalPausedUntil = 0;
  private waiter: Waiter | undefined;
  private nextUpdateId = 1;
  private nextFile = 1;
  private nextQuery = 1;
  private nextAlbum = 1;
  private deliveries: Promise<void> = Promise.resolve();

  constructor(opts: FakeTelegramOptions = {}) {
    this.token = opts.token ?? '123456789:AAFakeTokenForTests_0123456789abcdef';
    this.botUser = {
      id: Number(this.token.split(':')[0]),
      is_bot: true,
      first_name: 'MJ Bridge',
      username: 'mj_bridge_bot',
      ...opts.botUser,
    };
    const windowMs = opts.flood?.windowMs ?? 1000;
    this.flood = {
      perChat: 1_000_000,
      global: 1_000_000,
      windowMs,
      globalWindowMs: windowMs,
      retryAfterS: 1,
      ...opts.flood,
    };
  }

  /** `apiRoot` for telegraf / the bot's config. */
  get apiRoot(): string {
    return this.base;
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ok: false,
            error_code: 500,
            description: `Internal Server Error: ${String(err)}`,
          }),
        );
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.base = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.res.destroy();
      this.waiter = undefined;
    }
    await this.deliveries.catch(() => undefined);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ people and chats

  /** A user with a private chat (chat id = user id). */
  user(id: number, opts: { username?: string; first_name?: string; language_code?: string } = {}): FakeUser {
    const u: FakeUser = {
      id,
      is_bot: false,
      first_name: opts.first_name ?? `User${id}`,
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.language_code ? { language_code: opts.language_code } : {}),
    };
    this.users.set(id, u);
    this.chats.set(id, {
      id,
      type: 'private',
      first_name: u.first_name,
      ...(u.username ? { username: u.username } : {}),
    });
    return u;
  }

  /** A group chat (negative id). */
  group(id: number, title = 'Test group'): FakeChat {
    const chat: FakeChat = { id, type: 'supergroup', title };
    this.chats.set(id, chat);
    return chat;
  }

  /** The bot is blocked by this user (403 on every send to the chat). */
  block(chatId: number): void {
    this.blocked.add(chatId);
  }

  /** The next `count` calls of `method` fail with this error. */
  failNext(method: string, rule: FailRule): void {
    const list = this.failRules.get(method.toLowerCase()) ?? [];
    list.push({ ...rule });
    this.failRules.set(method.toLowerCase(), list);
  }

  /** Stores a file as if a user had uploaded it; returns its file_id. */
  storeFile(bytes: Buffer, ext = 'jpg'): string {
    const n = this.nextFile++;
    const f: StoredFile = { id: `FILE${n}_${bytes.length}`, path: `photos/file_${n}.${ext}`, bytes };
    this.files.set(f.id, f);
    this.filesByPath.set(f.path, f);
    return f.id;
  }

  // ------------------------------------------------------------------ injecting updates

  private chatOf(id: number): FakeChat {
    const chat = this.chats.get(id);
    if (!chat) throw new Error(`fake telegram: unknown chat ${id} (create it with user() or group())`);
    return chat;
  }

  private newMessageId(chatId: number): number {
    const id = (this.nextMessageId.get(chatId) ?? 0) + 1;
    this.nextMessageId.set(chatId, id);
    return id;
  }

  private store(m: FakeMessage): void {
    let chat = this.msgs.get(m.chatId);
    if (!chat) {
      chat = new Map();
      this.msgs.set(m.chatId, chat);
    }
    chat.set(m.message_id, m);
  }

  /** The Bot API JSON of a stored message. */
  messageJson(m: FakeMessage, withReply = true): Record<string, unknown> {
    const out: Record<string, unknown> = {
      message_id: m.message_id,
      from: m.from,
      chat: this.chatOf(m.chatId),
      date: m.date,
    };
    if (m.text !== undefined) out.text = m.text;
    if (m.caption !== undefined) out.caption = m.caption;
    if (m.photo) {
      out.photo = [
        {
          file_id: `${m.photo.file_id}_s`,
          file_unique_id: `u${m.photo.file_id}_s`,
          width: Math.min(90, m.photo.width),
          height: Math.min(90, m.photo.height),
          file_size: Math.min(1000, m.photo.size),
        },
        {
          file_id: m.photo.file_id,
          file_unique_id: `u${m.photo.file_id}`,
          width: m.photo.width,
          height: m.photo.height,
          file_size: m.photo.size,
        },
      ];
    }
    if (m.document) out.document = { ...m.document, file_unique_id: `u${m.document.file_id}` };
    if (m.video)
      out.video = {
        file_id: m.video.file_id,
        file_unique_id: `u${m.video.file_id}`,
        file_name: m.video.file_name,
        file_size: m.video.size,
        width: 0,
        height: 0,
        duration: 5,
      };
    if (m.sticker)
      out.sticker = {
        file_id: m.sticker.file_id,
        file_unique_id: `u${m.sticker.file_id}`,
        emoji: m.sticker.emoji,
        type: 'regular',
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
      };
    if (m.media_group_id) out.media_group_id = m.media_group_id;
    if (m.reply_markup) out.reply_markup = m.reply_markup;
    if (withReply && m.reply_to !== undefined) {
      const replied = this.msgs.get(m.chatId)?.get(m.reply_to);
      if (replied) out.reply_to_message = this.messageJson(replied, false);
    }
    return out;
  }

  private pushUpdate(update: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++;
    const full = { update_id, ...update };
    this.updates.push(full);
    if (this.webhook) this.deliver(full);
    else this.wakeWaiter();
    return update_id;
  }

  private userMessage(
    chatId: number,
    from: FakeUser,
    content: Partial<
      Pick<FakeMessage, 'text' | 'caption' | 'photo' | 'document' | 'media_group_id' | 'sticker'>
    >,
    replyTo: number | undefined,
  ): FakeMessage {
    this.chatOf(chatId);
    return this.newMessage(chatId, from, false, content, replyTo);
  }

  /** Stores a new message of `from` in the chat, with the next message id. */
  private newMessage(
    chatId: number,
    from: FakeUser,
    fromBot: boolean,
    content: Partial<FakeMessage>,
    replyTo: number | undefined,
  ): FakeMessage {
    const m: FakeMessage = {
      message_id: this.newMessageId(chatId),
      chatId,
      from,
      fromBot,
      date: Math.floor(Date.now() / 1000),
      ...content,
      ...(replyTo !== undefined ? { reply_to: replyTo } : {}),
      deleted: false,
      sentAt: Date.now(),
      editTimes: [],
    };
    this.store(m);
    return m;
  }

  /** A user writes a text (a prompt, a command, a reply). */
  sendText(opts: { chatId?: number; from: FakeUser; text: string; replyTo?: number }): FakeMessage {
    const m = this.userMessage(opts.chatId ?? opts.from.id, opts.from, { text: opts.text }, opts.replyTo);
    const json = this.messageJson(m);
    if (opts.text.startsWith('/')) {
      const length = opts.text.split(/\s/)[0]?.length ?? 0;
      json.entities = [{ type: 'bot_command', offset: 0, length }];
    }
    this.pushUpdate({ message: json });
    return m;
  }

  private photoContent(bytes: Buffer): FakeMessage['photo'] {
    const id = this.storeFile(bytes, 'jpg');
    return { file_id: id, size: bytes.length, ...pngSize(bytes) };
  }

  /** A user sends a photo, optionally with a caption, as a reply, or as part of an album. */
  sendPhoto(opts: {
    chatId?: number;
    from: FakeUser;
    bytes: Buffer;
    caption?: string;
    replyTo?: number;
    mediaGroupId?: string;
  }): FakeMessage {
    const m = this.userMessage(
      opts.chatId ?? opts.from.id,
      opts.from,
      {
        photo: this.photoContent(opts.bytes),
        ...(opts.caption !== undefined ? { caption: opts.caption } : {}),
        ...(opts.mediaGroupId ? { media_group_id: opts.mediaGroupId } : {}),
      },
      opts.replyTo,
    );
    this.pushUpdate({ message: this.messageJson(m) });
    return m;
  }

  /** A user sends a file as a document (e.g. an uncompressed PNG). */
  sendDocument(opts: {
    chatId?: number;
    from: FakeUser;
    bytes: Buffer;
    mime: string;
    caption?: string;
  }): FakeMessage {
    const id = this.storeFile(opts.bytes, opts.mime.split('/')[1] ?? 'bin');
    const m = this.userMessage(
      opts.chatId ?? opts.from.id,
      opts.from,
      {
        document: {
          file_id: id,
          file_name: `upload.${opts.mime.split('/')[1]}`,
          size: opts.bytes.length,
          mime_type: opts.mime,
        },
        ...(opts.caption !== undefined ? { caption: opts.caption } : {}),
      },
      undefined,
    );
    this.pushUpdate({ message: this.messageJson(m) });
    return m;
  }

  /** A user sends a sticker. */
  sendSticker(opts: { chatId?: number; from: FakeUser; emoji?: string }): FakeMessage {
    const m = this.userMessage(
      opts.chatId ?? opts.from.id,
      opts.from,
      { sticker: { file_id: this.storeFile(Buffer.from('sticker'), 'webp'), emoji: opts.emoji ?? '👍' } },
      undefined,
    );
    this.pushUpdate({ message: this.messageJson(m) });
    return m;
  }

  /** A user sends an album: N photos sharing one media_group_id, the caption on the first. */
  sendAlbum(opts: { chatId?: number; from: FakeUser; images: Buffer[]; caption?: string }): FakeMessage[] {
    const group = `album${this.nextAlbum++}${Date.now()}`;
    return opts.images.map((bytes, i) =>
      this.sendPhoto({
        from: opts.from,
        bytes,
        mediaGroupId: group,
        ...(opts.chatId !== undefined ? { chatId: opts.chatId } : {}),
        ...(i === 0 && opts.caption !== undefined ? { caption: opts.caption } : {}),
      }),
    );
  }

  /** A user presses an inline button; returns the callback query id. */
  press(opts: { chatId?: number; from: FakeUser; messageId: number; data: string }): string {
    const chatId = opts.chatId ?? opts.from.id;
    const msg = this.msgs.get(chatId)?.get(opts.messageId);
    if (!msg) throw new Error(`fake telegram: no message ${opts.messageId} in chat ${chatId}`);
    const id = `Q${this.nextQuery++}`;
    this.openQueries.add(id);
    this.pushUpdate({
      callback_query: {
        id,
        from: opts.from,
        message: this.messageJson(msg),
        chat_instance: `ci${chatId}`,
        data: opts.data,
      },
    });
    return id;
  }

  // ------------------------------------------------------------------ inspecting

  /** Every message of a chat (users' and the bot's), oldest first, deleted ones included. */
  messages(chatId: number): FakeMessage[] {
    return [...(this.msgs.get(chatId)?.values() ?? [])].sort((a, b) => a.message_id - b.message_id);
  }

  /** The bot's messages in a chat that are still there. */
  botMessages(chatId: number): FakeMessage[] {
    return this.messages(chatId).filter((m) => m.fromBot && !m.deleted);
  }

  message(chatId: number, messageId: number): FakeMessage | undefined {
    return this.msgs.get(chatId)?.get(messageId);
  }

  callsOf(method: string, chatId?: number): RecordedCall[] {
    const m = method.toLowerCase();
    return this.calls.filter(
      (c) => c.method.toLowerCase() === m && (chatId === undefined || c.chatId === chatId),
    );
  }

  /** Polls `probe` until it returns something truthy. */
  async waitFor<T>(
    probe: () => T | undefined | null | false,
    timeoutMs = 5000,
    what = 'condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`fake telegram: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ------------------------------------------------------------------ HTTP

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) {
      const stored =
        file[1] === this.token ? this.filesByPath.get(decodeURIComponent(file[2] ?? '')) : undefined;
      if (!stored) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': stored.bytes.length,
      });
      res.end(stored.bytes);
      return;
    }
    const api = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const at = Date.now();
    const body = await readBody(req);
    if (!api) {
      this.send(res, new ApiError(404, 'Not Found'));
      return;
    }
    if (api[1] !== this.token) {
      // Recorded too, so a test can tell whether a refused bot keeps knocking.
      this.calls.push({
        method: api[2] ?? '',
        chatId: undefined,
        messageId: undefined,
        params: {},
        at,
        ok: false,
        errorCode: 401,
        description: 'Unauthorized',
      });
      this.send(res, new ApiError(401, 'Unauthorized'));
      return;
    }
    const method = api[2] ?? '';
    let params: Record<string, unknown>;
    let uploads: Record<string, Upload> = {};
    try {
      ({ params, uploads } = parseParams(req, url, body));
    } catch {
      this.send(res, new ApiError(400, "Bad Request: can't parse request body"));
      return;
    }
    const recorded: RecordedCall = {
      method,
      chatId: asNumber(params.chat_id),
      messageId: asNumber(params.message_id),
      params: {
        ...params,
        ...Object.fromEntries(
          Object.entries(uploads).map(([k, f]) => [k, { file: f.filename, size: f.bytes.length }]),
        ),
      },
      at,
      ok: false,
    };
    this.calls.push(recorded);
    if (method.toLowerCase() === 'getupdates') {
      this.getUpdates(params, res, recorded);
      return;
    }
    try {
      const result = this.call(method, params, uploads, at);
      recorded.ok = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result }));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, `Internal Server Error: ${String(err)}`);
      recorded.errorCode = e.code;
      recorded.description = e.description;
      this.send(res, e);
    }
  }

  private send(res: ServerResponse, e: ApiError): void {
    res.writeHead(e.code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ok: false,
        error_code: e.code,
        description: e.description,
        ...(e.parameters ? { parameters: e.parameters } : {}),
      }),
    );
  }

  private getUpdates(params: Record<string, unknown>, res: ServerResponse, recorded: RecordedCall): void {
    if (this.webhook) {
      const e = new ApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
      recorded.errorCode = 409;
      recorded.description = e.description;
      this.send(res, e);
      return;
    }
    const offset = asNumber(params.offset) ?? 0;
    const limit = Math.min(100, Math.max(1, asNumber(params.limit) ?? 100));
    const timeoutS = asNumber(params.timeout) ?? 0;
    // Asking with an offset confirms every update before it.
    if (offset > 0)
      while (this.updates.length > 0 && (this.updates[0]?.update_id ?? 0) < offset) this.updates.shift();
    if (this.waiter) {
      const old = this.waiter;
      this.waiter = undefined;
      clearTimeout(old.timer);
      this.send(
        old.res,
        new ApiError(
          409,
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
        ),
      );
    }
    const ready = this.updates.slice(0, limit);
    if (ready.length > 0 || timeoutS <= 0) {
      recorded.ok = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: ready }));
      return;
    }
    const waiter: Waiter = {
      res,
      offset,
      limit,
      timer: setTimeout(() => {
        if (this.waiter !== waiter) return;
        this.waiter = undefined;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, result: [] }));
      }, timeoutS * 1000),
    };
    res.on('close', () => {
      if (this.waiter === waiter) {
        clearTimeout(waiter.timer);
        this.waiter = undefined;
      }
    });
    this.waiter = waiter;
  }

  private wakeWaiter(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    const ready = this.updates.filter((u) => u.update_id >= w.offset).slice(0, w.limit);
    w.res.writeHead(200, { 'content-type': 'application/json' });
    w.res.end(JSON.stringify({ ok: true, result: ready }));
  }

  private deliver(update: { update_id: number }): void {
    const hook = this.webhook;
    if (!hook) return;
    this.deliveries = this.deliveries.then(async () => {
      try {
        const res = await request(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': hook.secret },
          body: JSON.stringify(update),
        });
        await res.body.text();
        this.webhookDeliveries.push({ updateId: update.update_id, status: res.statusCode });
      } catch {
        this.webhookDeliveries.push({ updateId: update.update_id, status: 0 });
      }
    });
  }

  // ------------------------------------------------------------------ methods

  private checkFlood(method: string, chatId: number | undefined, at: number): void {
    if (!FLOODED.has(method.toLowerCase())) return;
    const { windowMs, retryAfterS } = this.flood;
    const tooMany = () =>
      new ApiError(429, `Too Many Requests: retry after ${retryAfterS}`, { retry_after: retryAfterS });
    if (at < this.globalPausedUntil) throw tooMany();
    if (chatId !== undefined && at < (this.chatPausedUntil.get(chatId) ?? 0)) throw tooMany();
    this.globalHits = this.globalHits.filter((t) => t > at - this.flood.globalWindowMs);
    if (this.globalHits.length >= this.flood.global) {
      this.globalPausedUntil = at + retryAfterS * 1000;
      throw tooMany();
    }
    if (chatId !== undefined) {
      const hits = (this.chatHits.get(chatId) ?? []).filter((t) => t > at - windowMs);
      if (hits.length >= this.flood.perChat) {
        this.chatPausedUntil.set(chatId, at + retryAfterS * 1000);
        this.chatHits.set(chatId, hits);
        throw tooMany();
      }
      hits.push(at);
      this.chatHits.set(chatId, hits);
    }
    this.globalHits.push(at);
  }

  private call(
    method: string,
    p: Record<string, unknown>,
    uploads: Record<string, Upload>,
    at: number,
  ): unknown {
    const rules = this.failRules.get(method.toLowerCase());
    const rule = rules?.[0];
    if (rule && rules) {
      rule.count--;
      if (rule.count <= 0) rules.shift();
      throw new ApiError(
        rule.code,
        rule.description,
        rule.retryAfterS !== undefined ? { retry_after: rule.retryAfterS } : undefined,
      );
    }
    const chatId = asNumber(p.chat_id);
    this.checkFlood(method, chatId, at);
    switch (method.toLowerCase()) {
      case 'getme':
        return {
          ...this.botUser,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        };
      case 'setmycommands': {
        const list = Array.isArray(p.commands) ? p.commands : (asArray(p.commands) ?? []);
        const commands: { command: string; description: string }[] = [];
        for (const item of list) {
          const c = asObject(item) ?? {};
          const command = String(c.command ?? '');
          const description = String(c.description ?? '');
          if (!/^[a-z0-9_]{1,32}$/.test(command)) throw new ApiError(400, 'Bad Request: BOT_COMMAND_INVALID');
          if (description.length < 1 || description.length > 256)
            throw new ApiError(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
          commands.push({ command, description });
        }
        const scope = asObject(p.scope);
        const lang = typeof p.language_code === 'string' ? p.language_code : '';
        if (lang && !/^[a-z]{2}$/.test(lang))
          throw new ApiError(400, 'Bad Request: invalid language code specified');
        const key = `${scope && scope.type !== 'default' ? JSON.stringify(scope) : 'default'}|${lang}`;
        this.commandSets.set(key, commands);
        if (key === 'default|') this.commands = commands;
        return true;
      }
      case 'setwebhook': {
        const url = String(p.url ?? '');
        if (!/^https?:\/\//.test(url))
          throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        this.webhook = { url, secret: String(p.secret_token ?? '') };
        return true;
      }
      case 'deletewebhook':
        this.webhook = null;
        if (asBool(p.drop_pending_updates)) this.updates.length = 0;
        return true;
      case 'getwebhookinfo':
        return {
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.updates.length,
        };
      case 'sendchataction':
        this.target(chatId);
        return true;
      case 'sendmessage':
        return this.sendMessage(p, chatId);
      case 'sendphoto':
        return this.sendMedia('photo', p, uploads, chatId);
      case 'senddocument':
        return this.sendMedia('document', p, uploads, chatId);
      case 'sendvideo':
        return this.sendMedia('video', p, uploads, chatId);
      case 'sendmediagroup':
        return this.sendMediaGroup(p, uploads, chatId);
      case 'editmessagetext':
        return this.editText(p, chatId, at);
      case 'editmessagecaption':
        return this.editCaption(p, chatId, at);
      case 'editmessagemedia':
        return this.editMedia(p, uploads, chatId, at);
      case 'editmessagereplymarkup':
        return this.editMarkup(p, chatId, at);
      case 'deletemessage': {
        const m = this.find(chatId, p.message_id);
        if (!m) throw new ApiError(400, 'Bad Request: message to delete not found');
        m.deleted = true;
        return true;
      }
      case 'answercallbackquery': {
        const id = String(p.callback_query_id ?? '');
        if (!this.openQueries.delete(id)) {
          throw new ApiError(
            400,
            'Bad Request: query is too old and response timeout expired or query ID is invalid',
          );
        }
        const text = typeof p.text === 'string' ? p.text : undefined;
        if (text !== undefined && text.length > 200) throw new ApiError(400, 'Bad Request: MESSAGE_TOO_LONG');
        this.answers.set(id, {
          ...(text !== undefined ? { text } : {}),
          show_alert: asBool(p.show_alert),
          at,
        });
        return true;
      }
      case 'getfile': {
        // The small size of a photo is served from the same upload.
        const f = this.files.get(String(p.file_id ?? '').replace(/_s$/, ''));
        if (!f) throw new ApiError(400, 'Bad Request: invalid file_id');
        return { file_id: f.id, file_unique_id: `u${f.id}`, file_size: f.bytes.length, file_path: f.path };
      }
      default:
        throw new ApiError(404, 'Not Found');
    }
  }

  /** The chat a send goes to, with Telegram's refusals. */
  private target(chatId: number | undefined): FakeChat {
    const chat = chatId === undefined ? undefined : this.chats.get(chatId);
    if (!chat || chatId === undefined) throw new ApiError(400, 'Bad Request: chat not found');
    if (this.blocked.has(chatId)) throw new ApiError(403, 'Forbidden: bot was blocked by the user');
    return chat;
  }

  private find(chatId: number | undefined, messageId: unknown): FakeMessage | undefined {
    const id = asNumber(messageId);
    if (chatId === undefined || id === undefined) return undefined;
    const m = this.msgs.get(chatId)?.get(id);
    return m && !m.deleted ? m : undefined;
  }

  private checkMarkup(value: unknown): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    const markup = asObject(value);
    if (!markup) throw new ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object");
    const rows = markup.inline_keyboard;
    if (rows !== undefined) {
      if (!Array.isArray(rows))
        throw new ApiError(
          400,
          'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array',
        );
      for (const row of rows) {
        if (!Array.isArray(row))
          throw new ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
          );
        for (const b of row as unknown[]) {
          const button = asObject(b) ?? {};
          if (typeof button.text !== 'string' || button.text === '')
            throw new ApiError(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
          const data = button.callback_data;
          if (
            data !== undefined &&
            (typeof data !== 'string' || Buffer.byteLength(data) < 1 || Buffer.byteLength(data) > 64)
          ) {
            throw new ApiError(400, 'Bad Request: BUTTON_DATA_INVALID');
          }
        }
      }
    }
    return markup;
  }

  private replyTarget(chatId: number, p: Record<string, unknown>): number | undefined {
    const params = asObject(p.reply_parameters);
    const id = asNumber(params?.message_id) ?? asNumber(p.reply_to_message_id);
    if (id === undefined) return undefined;
    const exists = this.find(chatId, id) !== undefined;
    const lenient = asBool(params?.allow_sending_without_reply) || asBool(p.allow_sending_without_reply);
    if (!exists && !lenient) throw new ApiError(400, 'Bad Request: message to be replied not found');
    return exists ? id : undefined;
  }

  private checkText(text: unknown): string {
    if (typeof text !== 'string' || text.trim() === '')
      throw new ApiError(400, 'Bad Request: message text is empty');
    if ([...text].length > 4096) throw new ApiError(400, 'Bad Request: message is too long');
    return text;
  }

  private checkCaption(caption: unknown): string | undefined {
    if (caption === undefined || caption === null) return undefined;
    const text = String(caption);
    if ([...text].length > 1024) throw new ApiError(400, 'Bad Request: message caption is too long');
    return text;
  }

  private botMessage(chatId: number, content: Partial<FakeMessage>, p: Record<string, unknown>): FakeMessage {
    return this.newMessage(chatId, this.botUser, true, content, this.replyTarget(chatId, p));
  }

  private sendMessage(p: Record<string, unknown>, chatId: number | undefined): unknown {
    this.target(chatId);
    const text = this.checkText(p.text);
    const markup = this.checkMarkup(p.reply_markup);
    const m = this.botMessage(chatId as number, { text, ...(markup ? { reply_markup: markup } : {}) }, p);
    return this.messageJson(m);
  }

  /** A file parameter: an upload, a known file_id, or (refused here) a URL. */
  private fileParam(
    value: unknown,
    uploads: Record<string, Upload>,
    field: string,
  ): { bytes: Buffer; name: string; id?: string } {
    const upload = uploads[field];
    if (upload) return { bytes: upload.bytes, name: upload.filename };
    if (typeof value === 'string' && value.startsWith('attach://')) {
      const att = uploads[value.slice('attach://'.length)];
      if (att) return { bytes: att.bytes, name: att.filename };
    }
    if (typeof value === 'string') {
      const known = this.files.get(value) ?? this.files.get(value.replace(/_s$/, ''));
      if (known) return { bytes: known.bytes, name: known.path, id: known.id };
      if (/^https?:\/\//.test(value)) throw new ApiError(400, 'Bad Request: failed to get HTTP URL content');
      throw new ApiError(400, 'Bad Request: wrong file identifier/HTTP URL specified');
    }
    throw new ApiError(400, `Bad Request: there is no ${field} in the request`);
  }

  private refusePhoto(): void {
    if (this.refusePhotos === 'too-big') throw new ApiError(400, 'Bad Request: file is too big');
    if (this.refusePhotos === 'dimensions') throw new ApiError(400, 'Bad Request: PHOTO_INVALID_DIMENSIONS');
  }

  private sendMedia(
    kind: 'photo' | 'document' | 'video',
    p: Record<string, unknown>,
    uploads: Record<string, Upload>,
    chatId: number | undefined,
  ): unknown {
    this.target(chatId);
    const file = this.fileParam(p[kind], uploads, kind);
    const caption = this.checkCaption(p.caption);
    const markup = this.checkMarkup(p.reply_markup);
    if (kind === 'photo') this.refusePhoto();
    const id =
      file.id ?? this.storeFile(file.bytes, kind === 'photo' ? 'jpg' : (file.name.split('.').pop() ?? 'bin'));
    const content: Partial<FakeMessage> =
      kind === 'photo'
        ? { photo: { file_id: id, size: file.bytes.length, ...pngSize(file.bytes) } }
        : kind === 'video'
          ? { video: { file_id: id, file_name: file.name, size: file.bytes.length } }
          : { document: { file_id: id, file_name: file.name, size: file.bytes.length } };
    const m = this.botMessage(
      chatId as number,
      {
        ...content,
        ...(caption !== undefined ? { caption } : {}),
        ...(markup ? { reply_markup: markup } : {}),
      },
      p,
    );
    return this.messageJson(m);
  }

  /** An album: 2–10 photos/videos sharing a media_group_id; Telegram takes no keyboard here. */
  private sendMediaGroup(
    p: Record<string, unknown>,
    uploads: Record<string, Upload>,
    chatId: number | undefined,
  ): unknown {
    this.target(chatId);
    const items = Array.isArray(p.media) ? p.media : asArray(p.media);
    if (!items) throw new ApiError(400, 'Bad Request: failed to parse media');
    if (items.length < 2 || items.length > 10)
      throw new ApiError(400, 'Bad Request: wrong number of items in the media group');
    const parsed = items.map((raw) => {
      const item = asObject(raw) ?? {};
      const type = String(item.type ?? '');
      if (!['photo', 'video', 'document', 'audio'].includes(type))
        throw new ApiError(400, 'Bad Request: invalid media type in the media group');
      const file = this.fileParam(item.media, uploads, 'media');
      const caption = this.checkCaption(item.caption);
      if (type === 'photo') this.refusePhoto();
      return { type, file, caption };
    });
    const group = `${this.nextAlbum++}${Date.now()}`;
    const replyTo = this.replyTarget(chatId as number, p);
    return parsed.map(({ type, file, caption }) => {
      const id = file.id ?? this.storeFile(file.bytes, type === 'photo' ? 'jpg' : 'bin');
      const content: Partial<FakeMessage> =
        type === 'photo'
          ? { photo: { file_id: id, size: file.bytes.length, ...pngSize(file.bytes) } }
          : type === 'video'
            ? { video: { file_id: id, file_name: file.name, size: file.bytes.length } }
            : { document: { file_id: id, file_name: file.name, size: file.bytes.length } };
      const m = this.newMessage(
        chatId as number,
        this.botUser,
        true,
        { ...content, media_group_id: group, ...(caption !== undefined ? { caption } : {}) },
        replyTo,
      );
      return this.messageJson(m);
    });
  }

  private editable(chatId: number | undefined, p: Record<string, unknown>): FakeMessage {
    this.target(chatId);
    const m = this.find(chatId, p.message_id);
    if (!m) throw new ApiError(400, 'Bad Request: message to edit not found');
    if (!m.fromBot) throw new ApiError(400, "Bad Request: message can't be edited");
    return m;
  }

  private edited(m: FakeMessage, at: number): unknown {
    m.editTimes.push(at);
    return this.messageJson(m);
  }

  private editText(p: Record<string, unknown>, chatId: number | undefined, at: number): unknown {
    const m = this.editable(chatId, p);
    if (m.text === undefined) throw new ApiError(400, 'Bad Request: there is no text in the message to edit');
    const text = this.checkText(p.text);
    const markup = this.checkMarkup(p.reply_markup);
    if (text === m.text && JSON.stringify(markup) === JSON.stringify(m.reply_markup))
      throw new ApiError(400, NOT_MODIFIED);
    m.text = text;
    this.setMarkup(m, markup);
    return this.edited(m, at);
  }

  private editCaption(p: Record<string, unknown>, chatId: number | undefined, at: number): unknown {
    const m = this.editable(chatId, p);
    if (!m.photo && !m.document && !m.video)
      throw new ApiError(400, 'Bad Request: there is no caption in the message to edit');
    const caption = this.checkCaption(p.caption);
    const markup = this.checkMarkup(p.reply_markup);
    if ((caption ?? '') === (m.caption ?? '') && JSON.stringify(markup) === JSON.stringify(m.reply_markup)) {
      throw new ApiError(400, NOT_MODIFIED);
    }
    if (caption === undefined) delete m.caption;
    else m.caption = caption;
    this.setMarkup(m, markup);
    return this.edited(m, at);
  }

  private editMedia(
    p: Record<string, unknown>,
    uploads: Record<string, Upload>,
    chatId: number | undefined,
    at: number,
  ): unknown {
    const m = this.editable(chatId, p);
    const media = asObject(p.media);
    if (!media) throw new ApiError(400, "Bad Request: can't parse InputMedia: media isn't specified");
    // As in the current Bot API, a text message may be turned into a media message.
    if (!m.photo && !m.document && !m.video && m.text === undefined)
      throw new ApiError(400, 'Bad Request: there is no media in the message to edit');
    const type = String(media.type ?? '');
    const file = this.fileParam(media.media, uploads, 'media');
    const caption = this.checkCaption(media.caption);
    const markup = this.checkMarkup(p.reply_markup);
    if (type === 'photo') this.refusePhoto();
    const id = file.id ?? this.storeFile(file.bytes, 'jpg');
    if (
      id === m.photo?.file_id &&
      caption === m.caption &&
      JSON.stringify(markup) === JSON.stringify(m.reply_markup)
    ) {
      throw new ApiError(400, NOT_MODIFIED);
    }
    delete m.text;
    if (type === 'photo') {
      delete m.document;
      delete m.video;
      m.photo = { file_id: id, size: file.bytes.length, ...pngSize(file.bytes) };
    } else if (type === 'video') {
      delete m.document;
      delete m.photo;
      m.video = { file_id: id, file_name: file.name, size: file.bytes.length };
    } else {
      delete m.photo;
      m.document = { file_id: id, file_name: file.name, size: file.bytes.length };
    }
    if (caption === undefined) delete m.caption;
    else m.caption = caption;
    this.setMarkup(m, markup);
    return this.edited(m, at);
  }

  private editMarkup(p: Record<string, unknown>, chatId: number | undefined, at: number): unknown {
    const m = this.editable(chatId, p);
    const markup = this.checkMarkup(p.reply_markup);
    if (JSON.stringify(markup) === JSON.stringify(m.reply_markup)) throw new ApiError(400, NOT_MODIFIED);
    this.setMarkup(m, markup);
    return this.edited(m, at);
  }

  /** An edit without reply_markup removes the inline keyboard, as Telegram does. */
  private setMarkup(m: FakeMessage, markup: Record<string, unknown> | undefined): void {
    if (markup) m.reply_markup = markup;
    else delete m.reply_markup;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseParams(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
): { params: Record<string, unknown>; uploads: Record<string, Upload> } {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams.entries());
  const type = String(req.headers['content-type'] ?? '');
  if (body.length === 0) return { params, uploads: {} };
  if (type.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
    return { params: { ...params, ...(parsed as Record<string, unknown>) }, uploads: {} };
  }
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return {
      params: { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8')).entries()) },
      uploads: {},
    };
  }
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (type.startsWith('multipart/form-data') && boundary) {
    const { fields, files } = parseMultipart(body, boundary);
    return { params: { ...params, ...fields }, uploads: files };
  }
  throw new Error(`unsupported content type ${type}`);
}

/** Starts a fake Bot API server on a free loopback port. */
export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  return new FakeTelegram(opts).listen();
}
