import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readEnvelope, readMessage } from '../../src/discord/fast-check.ts';
import { gatewayPayloadSchema, messageSchema } from '../../src/discord/types.ts';
import { fixture } from '../midjourney/fixtures.ts';

const frames = Object.entries(fixture('messages.json') as Record<string, unknown>)
  .map(([name, frame]) => ({ name, frame: frame as { t?: unknown; d: Record<string, unknown> } }))
  .filter(({ name, frame }) => !name.startsWith('_') && String(frame.t).startsWith('MESSAGE_'));

const copy = <T>(v: T): T => structuredClone(v);

test('every captured Midjourney message is read by the fast check as by the schema', () => {
  assert.ok(frames.length >= 4);
  for (const { name, frame } of frames) {
    assert.ok(readEnvelope(copy(frame)), `${name}: envelope`);
    const d = copy(frame.d);
    const parsed = messageSchema.safeParse(copy(frame.d));
    assert.equal(readMessage(d) !== undefined, parsed.success, name);
    if (parsed.success)
      assert.deepEqual(JSON.parse(JSON.stringify(d)), JSON.parse(JSON.stringify(parsed.data)));
  }
});

test('the fast check refuses what the schema refuses, field by field', () => {
  const base = copy(frames.find((f) => f.name === 'b_imagine_final_grid')?.frame.d);
  assert.ok(base);
  const broken: [string, (m: Record<string, unknown>) => void][] = [
    ['id a number', (m) => (m.id = 1)],
    ['no channel', (m) => delete m.channel_id],
    ['author without id', (m) => (m.author = { username: 'x' })],
    ['attachment without url', (m) => (m.attachments = [{ id: '1', filename: 'a.png' }])],
    ['embeds not an array', (m) => (m.embeds = {})],
    ['button without type', (m) => (m.components = [{ type: 1, components: [{ custom_id: 'x' }] }])],
    ['nonce an object', (m) => (m.nonce = {})],
    ['reference id a number', (m) => (m.message_reference = { message_id: 5 })],
    ['interaction without id', (m) => (m.interaction_metadata = { name: 'imagine' })],
    ['content a number', (m) => (m.content = 3)],
  ];
  for (const [what, spoil] of broken) {
    const spoilt: Record<string, unknown> = copy(base);
    spoil(spoilt);
    assert.equal(messageSchema.safeParse(copy(spoilt)).success, false, `schema: ${what}`);
    assert.equal(readMessage(spoilt), undefined, what);
  }
});

test('for any JSON value the fast checks agree with the schemas', () => {
  const base = copy(frames.find((f) => f.name === 'b_imagine_final_grid')?.frame.d) ?? {};
  const keys = Object.keys(base).concat(['interaction', 'message_reference', 'nonce']);
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
      const m = copy(base);
      m[key] = value;
      const schema = messageSchema.safeParse(copy(m)).success;
      return (readMessage(copy(m)) !== undefined) === schema;
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      return (
        (readEnvelope(copy(value)) !== undefined) === gatewayPayloadSchema.safeParse(copy(value)).success
      );
    }),
    { numRuns: 1000 },
  );
});
