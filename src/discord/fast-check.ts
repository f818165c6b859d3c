/**
 * Hand-written checks for the two payloads on the gateway's hot path: the envelope of every
 * dispatch and the messages of MESSAGE_CREATE / MESSAGE_UPDATE. They accept exactly what the zod
 * schemas of `types.ts` accept, check only the fields the bridge reads, and return the payload
 * itself (no copy): a busy channel sends thousands of these a minute, most of them not ours.
 */
import type { DiscordMessage, GatewayPayload } from './types.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || typeof v === 'string';
const optNullString = (v: unknown) => v === undefined || v === null || typeof v === 'string';
const optNumber = (v: unknown) => v === undefined || typeof v === 'number';

/** The gateway envelope `{op, d, s, t}`, or undefined when it is not one. */
export function readEnvelope(raw: unknown): GatewayPayload | undefined {
  if (!isObj(raw) || !Number.isInteger(raw.op)) return undefined;
  const { s, t } = raw;
  if (s !== undefined && s !== null && !Number.isInteger(s)) return undefined;
  if (!optNullString(t)) return undefined;
  return raw as GatewayPayload;
}

function user(v: unknown): boolean {
  return (
    isObj(v) &&
    typeof v.id === 'string' &&
    optString(v.username) &&
    optNullString(v.global_name) &&
    optString(v.discriminator) &&
    optNullString(v.avatar) &&
    (v.bot === undefined || typeof v.bot === 'boolean')
  );
}

function attachment(v: unknown): boolean {
  return (
    isObj(v) &&
    typeof v.id === 'string' &&
    typeof v.filename === 'string' &&
    typeof v.url === 'string' &&
    optNumber(v.size) &&
    optString(v.proxy_url) &&
    (v.width === undefined || v.width === null || typeof v.width === 'number') &&
    (v.height === undefined || v.height === null || typeof v.height === 'number') &&
    optString(v.content_type)
  );
}

function embed(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (!optString(v.title) || !optString(v.type) || !optString(v.description) || !optString(v.url))
    return false;
  if (!optNumber(v.color)) return false;
  if (v.footer !== undefined && !(isObj(v.footer) && typeof v.footer.text === 'string')) return false;
  if (v.image !== undefined && !(isObj(v.image) && typeof v.image.url === 'string')) return false;
  return true;
}

function button(v: unknown): boolean {
  if (!isObj(v) || typeof v.type !== 'number') return false;
  if (!optNumber(v.style) || !optString(v.label) || !optString(v.custom_id) || !optString(v.url))
    return false;
  if (v.disabled !== undefined && typeof v.disabled !== 'boolean') return false;
  const e = v.emoji;
  return e === undefined || (isObj(e) && optString(e.name) && optNullString(e.id));
}

/** An action row; a row without `components` gets `[]`, as the schema's default gives. */
function row(v: unknown): boolean {
  if (!isObj(v) || typeof v.type !== 'number') return false;
  if (v.components === undefined) {
    v.components = [];
    return true;
  }
  return Array.isArray(v.components) && v.components.every(button);
}

function interactionRef(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    (isObj(v) &&
      typeof v.id === 'string' &&
      optNumber(v.type) &&
      optString(v.name) &&
      (v.user === undefined || user(v.user)))
  );
}

const arrayOf = (v: unknown, check: (x: unknown) => boolean) =>
  v === undefined || (Array.isArray(v) && v.every(check));

/** A message payload the bridge can read, or undefined (the payload itself, not a copy). */
export function readMessage(d: unknown): DiscordMessage | undefined {
  if (!isObj(d) || typeof d.id !== 'string' || typeof d.channel_id !== 'string') return undefined;
  if (!optString(d.guild_id) || !optString(d.content) || !optString(d.timestamp)) return undefined;
  if (!optNullString(d.edited_timestamp) || !optNumber(d.type) || !optNumber(d.flags)) return undefined;
  if (!optString(d.webhook_id) || !optString(d.application_id)) return undefined;
  if (d.author !== undefined && !user(d.author)) return undefined;
  const n = d.nonce;
  if (n !== undefined && n !== null && typeof n !== 'string' && typeof n !== 'number') return undefined;
  if (!arrayOf(d.attachments, attachment) || !arrayOf(d.embeds, embed) || !arrayOf(d.components, row))
    return undefined;
  const ref = d.message_reference;
  if (
    ref !== undefined &&
    !(isObj(ref) && optString(ref.message_id) && optString(ref.channel_id) && optString(ref.guild_id))
  )
    return undefined;
  if (!interactionRef(d.interaction) || !interactionRef(d.interaction_metadata)) return undefined;
  return d as DiscordMessage;
}
