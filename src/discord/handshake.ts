/**
 * What a user client says and expects when a gateway socket opens: the URL's query, the Hello
 * and READY it must receive, and the Identify it sends (a browser's, with the client state a
 * fresh web client has), kept apart from the session's state machine in gateway.ts.
 */
import { z } from 'zod';
import { clientProperties } from './properties.ts';
import { userSchema } from './types.ts';

export const helloSchema = z.looseObject({ heartbeat_interval: z.number().positive() });

export const readySchema = z.looseObject({
  session_id: z.string().min(1),
  resume_gateway_url: z.string().optional(),
  user: userSchema,
});

/** `base` with the gateway query (`encoding=json&v=9`, plus `compress=zlib-stream` when asked). */
export function gatewayUrl(base: string, compress = true): string {
  const u = new URL(base);
  u.searchParams.set('encoding', 'json');
  u.searchParams.set('v', '9');
  if (compress) u.searchParams.set('compress', 'zlib-stream');
  else u.searchParams.delete('compress');
  return u.toString();
}

/** Identify (op 2) of a user account, as the web client sends it. */
export function identifyPayload(
  token: string,
  userAgent: string,
  extraProperties?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    token,
    capabilities: 16381,
    properties: clientProperties(userAgent, extraProperties),
    presence: { status: 'online', since: 0, activities: [], afk: false },
    compress: false,
    client_state: {
      guild_versions: {},
      highest_last_message_id: '0',
      read_state_version: 0,
      user_guild_settings_version: -1,
      user_settings_version: -1,
      private_channels_version: '0',
      api_code_version: 0,
    },
  };
}
