/**
 * The Discord user-account client: gateway sessions, REST, uploads, nonces. It knows nothing of
 * Midjourney.
 */
export { CLIENT_CLOSE, type CloseRecovery, describeClose, recoveryFor } from './close-codes.ts';
export * from './errors.ts';
export {
  GatewayClient,
  type GatewayDispatch,
  type GatewayEvents,
  type GatewayOptions,
  type GatewayState,
} from './gateway.ts';
export { gatewayUrl } from './handshake.ts';
export { type ClientProperties, clientProperties, superPropertiesHeader } from './properties.ts';
export { type RequestOptions, RestClient, type RestOptions, routeOf } from './rest.ts';
export * from './snowflake.ts';
export * from './types.ts';
export * from './upload.ts';
export { ZlibStreamDecoder, ZlibStreamError } from './zlib-stream.ts';
