/**
 * The Midjourney room: pure functions that turn requests into interaction payloads and the
 * bot's messages into facts. No I/O here.
 */

export * from './account-info.ts';
export * from './actions.ts';
export * from './commands.ts';
export * from './content.ts';
export * from './custom-ids.ts';
export * from './ids.ts';
export * from './message.ts';
export * from './notices.ts';
export * from './payloads.ts';
export * from './prompt.ts';
export * from './seed.ts';
