/**
 * Discord payload shapes the client reads, as zod schemas (types are derived from them).
 * Every schema is loose: Discord adds fields all the time and the client must not break on them.
 */
import { z } from 'zod';

/** Gateway envelope `{op, d, s, t}`. */
export const gatewayPayloadSchema = z.looseObject({
  op: z.number().int(),
  d: z.unknown().optional(),
  s: z.number().int().nullable().optional(),
  t: z.string().nullable().optional(),
});
export type GatewayPayload = z.infer<typeof gatewayPayloadSchema>;

export const userSchema = z.looseObject({
  id: z.string(),
  username: z.string().optional(),
  global_name: z.string().nullable().optional(),
  discriminator: z.string().optional(),
  avatar: z.string().nullable().optional(),
  bot: z.boolean().optional(),
});
export type DiscordUser = z.infer<typeof userSchema>;

export const attachmentSchema = z.looseObject({
  id: z.string(),
  filename: z.string(),
  size: z.number().optional(),
  url: z.string(),
  proxy_url: z.string().optional(),
  width: z.number().nullable().optional(),
  height: z.number().nullable().optional(),
  content_type: z.string().optional(),
});
export type DiscordAttachment = z.infer<typeof attachmentSchema>;

export const embedSchema = z.looseObject({
  title: z.string().optional(),
  type: z.string().optional(),
  description: z.string().optional(),
  url: z.string().optional(),
  color: z.number().optional(),
  footer: z.looseObject({ text: z.string() }).optional(),
  image: z.looseObject({ url: z.string() }).optional(),
});
export type DiscordEmbed = z.infer<typeof embedSchema>;

export const buttonSchema = z.looseObject({
  type: z.number(),
  style: z.number().optional(),
  label: z.string().optional(),
  emoji: z.looseObject({ name: z.string().optional(), id: z.string().nullable().optional() }).optional(),
  custom_id: z.string().optional(),
  url: z.string().optional(),
  disabled: z.boolean().optional(),
});
export type DiscordComponent = z.infer<typeof buttonSchema>;

export const actionRowSchema = z.looseObject({
  type: z.number(),
  components: z.array(buttonSchema).default([]),
});
export type DiscordActionRow = z.infer<typeof actionRowSchema>;

const interactionRefSchema = z.looseObject({
  id: z.string(),
  type: z.number().optional(),
  name: z.string().optional(),
  user: userSchema.optional(),
});

/** A message as MESSAGE_CREATE / MESSAGE_UPDATE carry it; on UPDATE every field but ids may be missing. */
export const messageSchema = z.looseObject({
  id: z.string(),
  channel_id: z.string(),
  guild_id: z.string().optional(),
  author: userSchema.optional(),
  content: z.string().optional(),
  timestamp: z.string().optional(),
  edited_timestamp: z.string().nullable().optional(),
  attachments: z.array(attachmentSchema).optional(),
  embeds: z.array(embedSchema).optional(),
  components: z.array(actionRowSchema).optional(),
  nonce: z.union([z.string(), z.number()]).nullable().optional(),
  type: z.number().optional(),
  flags: z.number().optional(),
  webhook_id: z.string().optional(),
  application_id: z.string().optional(),
  message_reference: z
    .looseObject({
      message_id: z.string().optional(),
      channel_id: z.string().optional(),
      guild_id: z.string().optional(),
    })
    .optional(),
  interaction: interactionRefSchema.nullable().optional(),
  interaction_metadata: interactionRefSchema.nullable().optional(),
});
export type DiscordMessage = z.infer<typeof messageSchema>;

export const messageDeleteSchema = z.looseObject({
  id: z.string(),
  channel_id: z.string(),
  guild_id: z.string().optional(),
});
export type DiscordMessageDelete = z.infer<typeof messageDeleteSchema>;

/** INTERACTION_CREATE / INTERACTION_SUCCESS / INTERACTION_FAILURE. */
export const interactionEventSchema = z.looseObject({
  id: z.string(),
  nonce: z.string().nullable().optional(),
  reason_code: z.number().optional(),
});
export type InteractionEvent = z.infer<typeof interactionEventSchema>;

/** INTERACTION_MODAL_CREATE / INTERACTION_IFRAME_MODAL_CREATE. */
export const modalCreateSchema = z.looseObject({
  id: z.string(),
  channel_id: z.string().optional(),
  custom_id: z.string(),
  title: z.string().optional(),
  nonce: z.string().nullable().optional(),
  iframe_path: z.string().optional(),
  components: z
    .array(
      z.looseObject({
        type: z.number(),
        components: z
          .array(z.looseObject({ custom_id: z.string().optional(), type: z.number() }))
          .default([]),
      }),
    )
    .optional(),
});
export type ModalCreate = z.infer<typeof modalCreateSchema>;
