/**
 * REST of the simulated Discord (`/api/v9`): token auth, the injected faults, and the routes a
 * user-account client uses — interactions (validated like Discord: channel access, command
 * id/version, message and component, modal), attachment slots, messages, command index.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DiscordAttachment, DiscordMessage } from '../../discord/types.ts';
import type { Logger } from '../../log.ts';
import type { FakeChannel, FakeUser, InteractionContext, MessageInit, ReactionContext } from './api.ts';
import type { Cdn } from './cdn.ts';
import type { RestFaults } from './faults.ts';
import type { GatewayServer } from './gateway-server.ts';
import {
  ANSWERS,
  type FormPart,
  invalidForm,
  obj,
  readBody,
  readPayload,
  sendJson,
  str,
} from './http-util.ts';
import { type DiscordStore, publicUser } from './store.ts';

/** What the routes need from the rest of the fake. */
export interface RestWorld {
  store: DiscordStore;
  cdn: Cdn;
  gateway: GatewayServer;
  faults: RestFaults;
  logger: Logger;
  maxBodyBytes: number;
  stats: { interactions: number; restCalls: number };
  postMessage(channelId: string, init: MessageInit): DiscordMessage;
  interactionHandlers(): readonly ((ix: InteractionContext) => void)[];
  reactionHandlers(): readonly ((r: ReactionContext) => void)[];
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: FakeUser;
  params: string[];
  body: Buffer;
}

interface Route {
  method: string;
  pattern: RegExp;
  run(world: RestWorld, call: Call): void;
}

const ID = '(\\d{1,25})';
const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/interactions$/, run: interactions },
  { method: 'POST', pattern: new RegExp(`^/channels/${ID}/attachments$`), run: attachmentSlots },
  { method: 'GET', pattern: new RegExp(`^/channels/${ID}/messages$`), run: listMessages },
  { method: 'POST', pattern: new RegExp(`^/channels/${ID}/messages$`), run: createMessage },
  { method: 'GET', pattern: new RegExp(`^/channels/${ID}/messages/${ID}$`), run: getMessage },
  { method: 'POST', pattern: new RegExp(`^/channels/${ID}/messages/${ID}/ack$`), run: ackMessage },
  {
    method: 'PUT',
    pattern: new RegExp(`^/channels/${ID}/messages/${ID}/reactions/([^/]{1,200})/@me$`),
    run: addReaction,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/channels/${ID}/application-command-index$`),
    run: channelCommandIndex,
  },
  { method: 'GET', pattern: new RegExp(`^/guilds/${ID}/application-command-index$`), run: guildCommandIndex },
  { method: 'GET', pattern: /^\/users\/@me$/, run: me },
  { method: 'POST', pattern: /^\/attachments\/refresh-urls$/, run: refreshUrls },
  { method: 'DELETE', pattern: /^\/attachments\/.+$/, run: (_w, c) => c.res.writeHead(204).end() },
];

/** Serves one `/api/v9/<sub>` request. Errors are thrown as {@link DiscordAnswer}s. */
export async function handleRest(
  world: RestWorld,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  sub: string,
): Promise<void> {
  world.stats.restCalls++;
  const { body, tooLarge } = await readBody(req, world.maxBodyBytes);
  const method = req.method ?? 'GET';
  const matching = ROUTES.filter((r) => r.pattern.test(sub));
  if (matching.length === 0) throw ANSWERS.notFound();
  const route = matching.find((r) => r.method === method);
  if (!route) throw ANSWERS.methodNotAllowed();
  const user = world.store.userByToken(req.headers.authorization);
  if (!user) throw ANSWERS.unauthorized();
  const injected = world.faults.take(sub);
  if (injected) throw injected;
  if (tooLarge) throw ANSWERS.tooLarge();
  const params = (route.pattern.exec(sub) ?? []).slice(1);
  route.run(world, { req, res, url, user, params, body });
}

function memberChannel(world: RestWorld, user: FakeUser, channelId: string): FakeChannel {
  const ch = world.store.channel(channelId);
  if (!ch) throw ANSWERS.unknownChannel();
  if (!ch.memberIds.includes(user.id)) throw ANSWERS.missingAccess();
  return ch;
}

function payloadOf(call: Call): { json: Record<string, unknown>; files: FormPart[] } {
  return readPayload(call.body, call.req.headers['content-type']);
}

// -------------------------------------------------------------------- interactions

function interactions(world: RestWorld, call: Call): void {
  const { store, gateway } = world;
  const { json, files: formFiles } = payloadOf(call);
  const type = json.type;
  if (type !== 2 && type !== 3 && type !== 5) {
    throw invalidForm(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {2, 3, 5}.');
  }
  const channelId = str(json.channel_id);
  if (!channelId) throw ANSWERS.required(['channel_id']);
  const applicationId = str(json.application_id);
  if (!applicationId) throw ANSWERS.required(['application_id']);
  const data = obj(json.data);
  if (!data) throw ANSWERS.required(['data']);
  const channel = memberChannel(world, call.user, channelId);
  const nonce = str(json.nonce);
  const sessionId = str(json.session_id);
  let message: DiscordMessage | undefined;
  let files: InteractionContext['files'] = [];

  if (type === 2) {
    const cmd = store.command(str(data.id) ?? '');
    if (!cmd || cmd.applicationId !== applicationId) {
      throw invalidForm(['data'], 'INTERACTION_APPLICATION_COMMAND_INVALID', 'Invalid application command');
    }
    if (world.faults.takeOutdated() || str(data.version) !== cmd.version) {
      throw invalidForm(
        ['data'],
        'INTERACTION_APPLICATION_COMMAND_INVALID_VERSION',
        'This command is outdated, please try again in a few minutes',
      );
    }
    files = resolveFiles(world, call.user, data.attachments, formFiles, ['data', 'attachments']);
  } else if (type === 3) {
    const messageId = str(json.message_id);
    if (!messageId) throw ANSWERS.required(['message_id']);
    message = store.message(channelId, messageId);
    if (!message) throw ANSWERS.unknownMessage();
    const customId = str(data.custom_id);
    if (!customId) throw ANSWERS.required(['data', 'custom_id']);
    if (!hasComponent(message, customId)) {
      throw invalidForm(['data'], 'COMPONENT_VALIDATION_FAILED', 'Component validation failed');
    }
  } else {
    const openerId = str(data.id);
    if (!openerId) throw ANSWERS.required(['data', 'id']);
    const modal = store.openModal(openerId, call.user.id);
    if (!modal || modal.channelId !== channelId) throw ANSWERS.unknownInteraction();
    if (str(data.custom_id) !== modal.customId) {
      throw invalidForm(['data', 'custom_id'], 'COMPONENT_VALIDATION_FAILED', 'Component validation failed');
    }
    files = resolveFiles(world, call.user, data.attachments, formFiles, ['data', 'attachments']);
    store.closeModal(openerId);
  }

  world.stats.interactions++;
  call.res.writeHead(204).end();

  const id = store.ids.next();
  const user = call.user;
  const toSession = (t: string, d: unknown, now: boolean) =>
    gateway.dispatchToSession(sessionId, user.id, t, d, now);
  const appUser = store.user(applicationId);
  const application = {
    id: applicationId,
    name: appUser?.username ?? 'Application',
    icon: null,
    description: '',
    ...(appUser?.bot ? { bot_id: appUser.id } : {}),
  };
  let inHandler = true;
  let modalOpened = false;
  const ctx: InteractionContext = {
    id,
    type,
    nonce,
    user,
    channelId,
    guildId: channel.guildId,
    sessionId,
    applicationId,
    data,
    ...(message ? { message } : {}),
    files,
    openModal(modal) {
      if (modalOpened) return;
      modalOpened = true;
      store.rememberModal(id, { userId: user.id, channelId, customId: modal.custom_id });
      toSession(
        'INTERACTION_MODAL_CREATE',
        {
          id,
          channel_id: channelId,
          custom_id: modal.custom_id,
          title: modal.title,
          components: modal.components,
          nonce,
          application,
        },
        inHandler,
      );
    },
    openIframeModal(modal) {
      if (modalOpened) return;
      modalOpened = true;
      toSession(
        'INTERACTION_IFRAME_MODAL_CREATE',
        {
          id,
          channel_id: channelId,
          custom_id: modal.custom_id,
          title: modal.title,
          iframe_path: modal.iframe_path,
          modal_size: 2,
          nonce,
          application,
        },
        inHandler,
      );
    },
  };
  toSession('INTERACTION_CREATE', { id, nonce }, true);
  // Events the handler fires (the bot's first message…) follow INTERACTION_SUCCESS, as on Discord.
  const release = gateway.hold();
  try {
    for (const handler of world.interactionHandlers()) handler(ctx);
  } catch (err) {
    world.logger.error({ err: (err as Error).message }, 'interaction handler failed');
  } finally {
    inHandler = false;
    if (!modalOpened) toSession('INTERACTION_SUCCESS', { id, nonce }, true);
    release();
  }
}

function hasComponent(message: DiscordMessage, customId: string): boolean {
  const walk = (nodes: unknown): boolean =>
    Array.isArray(nodes) &&
    nodes.some((n) => {
      const c = obj(n);
      if (!c) return false;
      if (c.custom_id === customId && c.disabled !== true) return true;
      return walk(c.components);
    });
  return walk(message.components);
}

/**
 * The files an `attachments` list points at: uploaded ones (`uploaded_filename`) or `files[n]`
 * parts of the same multipart request (matched by `id`).
 */
function resolveFiles(
  world: RestWorld,
  user: FakeUser,
  list: unknown,
  formFiles: FormPart[],
  path: string[],
): InteractionContext['files'] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidForm(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
  return list.map((raw, i) => {
    const a = obj(raw);
    const id = str(a?.id) ?? String(i);
    const here = [...path, String(i)];
    const key = str(a?.uploaded_filename);
    if (key) {
      const slot = world.cdn.uploaded(key, user.id);
      if (!slot)
        throw invalidForm(
          [...here, 'uploaded_filename'],
          'UPLOADED_FILE_NOT_FOUND',
          'Uploaded file not found.',
        );
      return {
        id,
        filename: str(a?.filename) ?? slot.filename,
        bytes: slot.file.bytes,
        contentType: slot.file.contentType,
      };
    }
    const part = formFiles.find((p) => p.name === `files[${id}]`);
    if (!part) throw ANSWERS.required([...here, 'uploaded_filename']);
    return {
      id,
      filename: str(a?.filename) ?? part.filename ?? `file${id}`,
      bytes: part.data,
      contentType: part.contentType ?? 'application/octet-stream',
    };
  });
}

// -------------------------------------------------------------------- uploads and messages

function attachmentSlots(world: RestWorld, call: Call): void {
  const channelId = call.params[0]!;
  memberChannel(world, call.user, channelId);
  const { json } = payloadOf(call);
  const files = json.files;
  if (!Array.isArray(files) || files.length === 0) throw ANSWERS.required(['files']);
  if (files.length > 10)
    throw invalidForm(['files'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  const attachments = files.map((raw, i) => {
    const f = obj(raw);
    const filename = typeof f?.filename === 'string' ? f.filename : '';
    if (!filename) throw ANSWERS.required(['files', String(i), 'filename']);
    const slot = world.cdn.openSlot(call.user.id, channelId, filename);
    return { id: str(f?.id) ?? String(i), upload_url: slot.uploadUrl, upload_filename: slot.uploadFilename };
  });
  sendJson(call.res, 200, { attachments });
}

/** `POST /attachments/refresh-urls`: new signed links for stored files (links we never issued are left out). */
function refreshUrls(world: RestWorld, call: Call): void {
  const { json } = payloadOf(call);
  const urls = json.attachment_urls;
  if (!Array.isArray(urls) || urls.length === 0) throw ANSWERS.required(['attachment_urls']);
  if (urls.length > 50)
    throw invalidForm(['attachment_urls'], 'BASE_TYPE_MAX_LENGTH', 'Must be 50 or fewer in length.');
  const refreshed_urls: { original: string; refreshed: string }[] = [];
  urls.forEach((u, i) => {
    if (typeof u !== 'string')
      throw invalidForm(
        ['attachment_urls', String(i)],
        'BASE_TYPE_STRING',
        'Could not interpret "{}" as string.',
      );
    const fresh = world.cdn.refresh(u);
    if (fresh) refreshed_urls.push({ original: u, refreshed: fresh });
  });
  sendJson(call.res, 200, { refreshed_urls });
}

function createMessage(world: RestWorld, call: Call): void {
  const channelId = call.params[0]!;
  memberChannel(world, call.user, channelId);
  const { json, files: formFiles } = payloadOf(call);
  const content = typeof json.content === 'string' ? json.content : '';
  if (content.length > 2000)
    throw invalidForm(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  const files = resolveFiles(world, call.user, json.attachments, formFiles, ['attachments']);
  const attachments: DiscordAttachment[] = files.map((f) =>
    world.cdn.store(world.store.ids.next(), channelId, f.filename, f.bytes, f.contentType),
  );
  if (!content && attachments.length === 0) throw ANSWERS.emptyMessage();
  const nonce = str(json.nonce);
  const msg = world.postMessage(channelId, {
    author: call.user,
    content,
    attachments,
    type: 0,
    ...(nonce ? { nonce } : {}),
  });
  sendJson(call.res, 200, msg);
}

function listMessages(world: RestWorld, call: Call): void {
  const channelId = call.params[0]!;
  memberChannel(world, call.user, channelId);
  const q = call.url.searchParams;
  const asked = Number(q.get('limit') ?? 50);
  const limit = Number.isInteger(asked) ? Math.min(100, Math.max(1, asked)) : 50;
  const before = q.get('before') ?? undefined;
  const after = q.get('after') ?? undefined;
  if ((before && !/^\d{1,25}$/.test(before)) || (after && !/^\d{1,25}$/.test(after))) {
    throw invalidForm([before ? 'before' : 'after'], 'NUMBER_TYPE_COERCE', 'Value is not snowflake.');
  }
  sendJson(
    call.res,
    200,
    world.store.history(channelId, { limit, ...(before ? { before } : {}), ...(after ? { after } : {}) }),
  );
}

function getMessage(world: RestWorld, call: Call): void {
  const [channelId, messageId] = call.params as [string, string];
  memberChannel(world, call.user, channelId);
  const msg = world.store.message(channelId, messageId);
  if (!msg) throw ANSWERS.unknownMessage();
  sendJson(call.res, 200, msg);
}

function ackMessage(world: RestWorld, call: Call): void {
  const [channelId, messageId] = call.params as [string, string];
  memberChannel(world, call.user, channelId);
  if (!world.store.message(channelId, messageId)) throw ANSWERS.unknownMessage();
  sendJson(call.res, 200, { token: null });
}

function addReaction(world: RestWorld, call: Call): void {
  const [channelId, messageId, rawEmoji] = call.params as [string, string, string];
  memberChannel(world, call.user, channelId);
  const message = world.store.message(channelId, messageId);
  if (!message) throw ANSWERS.unknownMessage();
  let emoji: string;
  try {
    emoji = decodeURIComponent(rawEmoji);
  } catch {
    throw invalidForm(['emoji'], 'BASE_TYPE_BAD', 'Unknown Emoji');
  }
  call.res.writeHead(204).end();
  for (const handler of world.reactionHandlers()) {
    try {
      handler({ user: call.user, channelId, message, emoji });
    } catch (err) {
      world.logger.error({ err: (err as Error).message }, 'reaction handler failed');
    }
  }
}

// -------------------------------------------------------------------- commands and user

function commandIndex(world: RestWorld, call: Call): void {
  const cmds = world.store.allCommands();
  const appIds = [...new Set(cmds.map((c) => c.applicationId))];
  sendJson(call.res, 200, {
    applications: appIds.map((id) => ({
      id,
      name: world.store.user(id)?.username ?? 'Application',
      icon: null,
      description: '',
      bot_id: id,
      flags: 0,
    })),
    application_commands: cmds.map((c) => ({
      id: c.id,
      type: c.type ?? 1,
      application_id: c.applicationId,
      version: c.version,
      name: c.name,
      description: '',
      dm_permission: true,
      integration_types: [0],
      options: [],
    })),
    version: world.store.ids.next(),
  });
}

function channelCommandIndex(world: RestWorld, call: Call): void {
  memberChannel(world, call.user, call.params[0]!);
  commandIndex(world, call);
}

function guildCommandIndex(world: RestWorld, call: Call): void {
  const member = world.store.guildMember(call.params[0]!, call.user.id);
  if (member === undefined) throw ANSWERS.unknownGuild();
  if (!member) throw ANSWERS.missingAccess();
  commandIndex(world, call);
}

function me(_world: RestWorld, call: Call): void {
  sendJson(call.res, 200, {
    ...publicUser(call.user),
    mfa_enabled: false,
    locale: 'en-US',
    verified: true,
    flags: 0,
  });
}
