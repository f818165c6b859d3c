/** Loads the captured Midjourney payloads of test/fixtures/midjourney. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DiscordMessage, messageSchema } from '../../src/discord/types.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'midjourney');

/** The parsed JSON of one fixture file. */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8'));
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/** One entry of messages.json, as raw JSON. */
export function rawMessage(name: string): Record<string, unknown> {
  return record(record(fixture('messages.json'), 'messages.json')[name], name);
}

/** The message (`d`) of a gateway frame in messages.json, read through the client's schema. */
export function message(name: string): DiscordMessage {
  return messageSchema.parse(rawMessage(name).d);
}
