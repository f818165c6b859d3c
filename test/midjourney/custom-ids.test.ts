import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACTIONS } from '../../src/midjourney/actions.ts';
import {
  CUSTOM_ID_FORMS,
  type CustomIdInfo,
  isActionableButton,
  parseCustomId,
} from '../../src/midjourney/index.ts';
import { fixture, message } from './fixtures.ts';

const table = fixture('custom-ids.json') as {
  parse: (CustomIdInfo & { customId: string })[];
  unknown: string[];
};

describe('parseCustomId: every form of the reference', () => {
  for (const { customId, ...expected } of table.parse) {
    test(`${customId} → ${expected.action} #${expected.index}`, () => {
      assert.deepEqual(parseCustomId(customId), expected);
      assert.equal(isActionableButton(customId), true);
    });
  }
});

describe('parseCustomId: look-alikes and forms the bridge cannot press', () => {
  for (const customId of table.unknown) {
    test(`${JSON.stringify(customId)} → null`, () => {
      assert.equal(parseCustomId(customId), null);
      assert.equal(isActionableButton(customId), false);
    });
  }
});

test('the table is unambiguous: each known custom_id fits exactly one form', () => {
  for (const { customId } of table.parse) {
    const fits = CUSTOM_ID_FORMS.filter((f) => f.pattern.test(customId)).map((f) => f.form);
    assert.equal(fits.length, 1, `${customId} fits ${fits.join(', ')}`);
  }
});

test('a versioned upscale is never mistaken for a plain upscale', () => {
  const info = parseCustomId('MJ::JOB::upsample_v6_2x_subtle::1::a7cb1552-f779-4094-9afe-2acf22dae280::SOLO');
  assert.equal(info?.action, 'UPSCALE_V6_2X_SUBTLE');
});

test('every follow-up action has at least one button form', () => {
  const covered = new Set(CUSTOM_ID_FORMS.map((f) => f.action));
  // Started by a command only (IMAGINE and DESCRIBE have buttons too: shorten picks, describe retry).
  const notButtons = ['BLEND', 'SHORTEN'];
  const missing = ACTIONS.filter((a) => !notButtons.includes(a) && !covered.has(a));
  assert.deepEqual(missing, []);
});

test('every button of the real messages (b), (c), (d) is pressable except the bookmark and the link', () => {
  const ids = ['b_imagine_final_grid', 'c_progress_cancel_ephemeral', 'd_upscale_of_strong_variation']
    .flatMap((n) => message(n).components ?? [])
    .flatMap((row) => row.components)
    .map((c) => c.custom_id)
    .filter((id): id is string => id !== undefined);
  assert.deepEqual(
    ids.filter((id) => !isActionableButton(id)),
    ['MJ::BOOKMARK::f58fa448-1620-4aca-9621-005ef9f3b383'],
  );
  assert.equal(ids.length, 17);
});
