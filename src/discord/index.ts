/**
 * The Discord user-account client: gateway sessions, REST, uploads. It knows nothing of Midjourney.
 */
export * from './errors.ts';
export { GatewayClient, type GatewayEvents, type GatewayOptions, type GatewayState } from './gateway.ts';
export { type RequestOptions, RestClient, type RestOptions } from './rest.ts';
export * from './snowflake.ts';
export * from './types.ts';
export * from './upload.ts';
