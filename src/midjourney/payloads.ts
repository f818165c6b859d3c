/**
 * Bodies of `POST /api/v9/interactions` for Midjourney, field for field the templates every
 * working bridge sends (reference §2.2): slash commands (type 2), button clicks (type 3) and
 * modal submits (type 5).
 */
import type { CommandRef } from './commands.ts';
import { MIDJOURNEY_APP_ID } from './ids.ts';

/** Where and as whom an interaction is sent. */
export interface PayloadContext {
  /** Omitted for a DM channel with the bot: Discord then takes `guild_id: null`. */
  guildId?: string;
  channelId: string;
  /** The gateway session that should receive the INTERACTION_* events. */
  sessionId: string;
  /** Snowflake-shaped; Midjourney echoes it on its first reply. */
  nonce: string;
  /** The bot spoken to: Midjourney's by default, the niji bot's for niji tasks. */
  applicationId?: string;
}

/** A file already uploaded through the attachment flow (reference §2.4). */
export interface UploadRef {
  filename: string;
  uploaded_filename: string;
}

/** The `/blend` dimension choices (SPEC §5.2). */
export const BLEND_DIMENSIONS = {
  PORTRAIT: '--ar 2:3',
  SQUARE: '--ar 1:1',
  LANDSCAPE: '--ar 3:2',
} as const;

export type BlendDimensions = (typeof BLEND_DIMENSIONS)[keyof typeof BLEND_DIMENSIONS];

function slashCommand<R extends object>(ctx: PayloadContext, cmd: CommandRef, name: string, rest: R) {
  return {
    type: 2,
    guild_id: ctx.guildId ?? null,
    channel_id: ctx.channelId,
    application_id: ctx.applicationId ?? MIDJOURNEY_APP_ID,
    session_id: ctx.sessionId,
    nonce: ctx.nonce,
    data: { version: cmd.version, id: cmd.id, name, type: 1, ...rest },
  };
}

function attachmentsOf(uploads: readonly UploadRef[]) {
  return uploads.map((u, i) => ({
    id: String(i),
    filename: u.filename,
    uploaded_filename: u.uploaded_filename,
  }));
}

/** `/imagine prompt:<prompt>`; image prompts are already URLs inside `prompt`. */
export function imaginePayload(ctx: PayloadContext, cmd: CommandRef, prompt: string) {
  return slashCommand(ctx, cmd, 'imagine', { options: [{ type: 3, name: 'prompt', value: prompt }] });
}

/** `/describe image:<upload>`. */
export function describePayload(ctx: PayloadContext, cmd: CommandRef, upload: UploadRef) {
  return slashCommand(ctx, cmd, 'describe', {
    options: [{ type: 11, name: 'image', value: 0 }],
    attachments: attachmentsOf([upload]),
  });
}

/** `/blend image1:… imageN:… [dimensions:…]`; each image option's value is its attachment index. */
export function blendPayload(
  ctx: PayloadContext,
  cmd: CommandRef,
  uploads: readonly UploadRef[],
  dimensions?: BlendDimensions,
) {
  const options: { type: number; name: string; value: number | string }[] = uploads.map((_, i) => ({
    type: 11,
    name: `image${i + 1}`,
    value: i,
  }));
  if (dimensions) options.push({ type: 3, name: 'dimensions', value: dimensions });
  return slashCommand(ctx, cmd, 'blend', { options, attachments: attachmentsOf(uploads) });
}

/** A click on a button of a bot message. */
export interface ButtonClick {
  messageId: string;
  /** The target message's `flags` (64 for ephemeral ones); Discord rejects a mismatch. */
  messageFlags: number;
  customId: string;
  /** Defaults to Midjourney's; niji messages need the niji id. */
  applicationId?: string;
}

/** Type 3: pressing a button. */
export function buttonPayload(ctx: PayloadContext, click: ButtonClick) {
  return {
    type: 3,
    guild_id: ctx.guildId ?? null,
    channel_id: ctx.channelId,
    message_id: click.messageId,
    application_id: click.applicationId ?? ctx.applicationId ?? MIDJOURNEY_APP_ID,
    session_id: ctx.sessionId,
    nonce: ctx.nonce,
    message_flags: click.messageFlags,
    data: { component_type: 2, custom_id: click.customId },
  };
}

/** The answer to a modal Midjourney opened (INTERACTION_MODAL_CREATE). */
export interface ModalSubmit {
  /** `id` of the INTERACTION_MODAL_CREATE event. */
  interactionId: string;
  /** `custom_id` of the modal, as Discord sent it. */
  modalCustomId: string;
  /** One text input each, in the modal's order. */
  fields: readonly { customId: string; value: string }[];
  applicationId?: string;
}

/** Type 5: submitting a modal; every text input sits in its own action row. */
export function modalSubmitPayload(ctx: PayloadContext, submit: ModalSubmit) {
  return {
    type: 5,
    application_id: submit.applicationId ?? ctx.applicationId ?? MIDJOURNEY_APP_ID,
    channel_id: ctx.channelId,
    guild_id: ctx.guildId ?? null,
    data: {
      id: submit.interactionId,
      custom_id: submit.modalCustomId,
      components: submit.fields.map((f) => ({
        type: 1,
        components: [{ type: 4, custom_id: f.customId, value: f.value }],
      })),
    },
    session_id: ctx.sessionId,
    nonce: ctx.nonce,
  };
}

/** `/shorten prompt:<prompt>`. */
export function shortenPayload(ctx: PayloadContext, cmd: CommandRef, prompt: string) {
  return slashCommand(ctx, cmd, 'shorten', { options: [{ type: 3, name: 'prompt', value: prompt }] });
}

/** A slash command without options (`/info`, `/settings`, `/fast`, `/relax`, `/turbo`). */
export function plainCommandPayload(ctx: PayloadContext, cmd: CommandRef, name: string) {
  return slashCommand(ctx, cmd, name, { options: [] });
}
