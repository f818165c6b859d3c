import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AccountHealth } from '../../src/engine/api.ts';
import { type Service, startService } from '../helpers/service.ts';
import { type CompatTaskJson, NewApiRelay, pngDataUrl } from './clients.ts';

/**
 * SPEC §12.1: a job with no prompt to carry `--relax` (blend, describe) is sent right after
 * Midjourney's `/relax` (`/fast`, `/turbo`), only when the account is not in that mode already;
 * the account's mode shows in `/health`, and follow-ups run in their parent's mode.
 */
describe('/mj-fast, /mj-relax, /mj-turbo switch the account for blend and describe', () => {
  let svc: Service;
  /** What the account sent, in the order the simulated Discord took it. */
  const sent: string[] = [];
  before(async () => {
    svc = await startService({ speed: 300 });
    svc.sandbox.discord.onInteraction((ix) => {
      sent.push(String(ix.data.name ?? ix.data.custom_id ?? ix.type));
    });
  });
  after(async () => {
    await svc.close();
  });

  const relay = (mode: string) => new NewApiRelay(`${svc.app.url}/mj-${mode}`, '');
  const health = async (): Promise<AccountHealth> => {
    const h = (await svc.call('/health')).body as unknown as { accounts: AccountHealth[] };
    assert.ok(h.accounts[0]);
    return h.accounts[0];
  };
  const userMode = () => svc.sandbox.bot.controls.user(svc.sandbox.accounts[0]?.user_id ?? '').mode;
  const blend = async (mode: string, seed: string): Promise<CompatTaskJson> => {
    const r = relay(mode);
    const id = (await r.accepted('blend', { base64Array: [pngDataUrl(`${seed}a`), pngDataUrl(`${seed}b`)] }))
      .result;
    return r.poll(String(id));
  };

  test('a blend on /mj-relax: /relax goes first, the blend runs relaxed, /health shows relax', async () => {
    const from = sent.length;
    const t = await blend('relax', 'r1');
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    const mine = sent.slice(from);
    assert.deepEqual(
      mine.filter((n) => n === 'relax' || n === 'blend'),
      ['relax', 'blend'],
    );
    assert.equal(userMode(), 'relax');
    assert.equal((await health()).mode, 'relax');
    // Midjourney says so on the job's own messages too.
    const seed = await svc.app.engine.get(t.id);
    const msg = svc.sandbox.discord.getMessage(seed?.discordId ?? '', seed?.messageId ?? '');
    assert.match(msg?.content ?? '', /\(relaxed\)$/);
  });

  test('already in relax: a second relax job sends no /relax', async () => {
    const from = sent.length;
    const r = relay('relax');
    const d = await r.poll(String((await r.accepted('describe', { base64: pngDataUrl('d1') })).result));
    assert.equal(d.status, 'SUCCESS', d.failReason ?? '');
    assert.deepEqual(sent.slice(from), ['describe']);
  });

  test('/mj-fast and /mj-turbo switch back; a follow-up runs in its parent mode', async () => {
    const relaxed = await blend('relax', 'r2');
    let from = sent.length;
    const fast = await blend('fast', 'f1');
    assert.equal(fast.status, 'SUCCESS', fast.failReason ?? '');
    assert.deepEqual(sent.slice(from), ['fast', 'blend']);
    assert.equal((await health()).mode, 'fast');

    from = sent.length;
    const r = relay('turbo');
    const d = await r.poll(String((await r.accepted('describe', { base64: pngDataUrl('t1') })).result));
    assert.equal(d.status, 'SUCCESS', d.failReason ?? '');
    assert.deepEqual(sent.slice(from), ['turbo', 'describe']);
    assert.equal(userMode(), 'turbo');
    assert.equal((await health()).mode, 'turbo');

    // U1 of the relaxed blend, asked for on the plain mount: the account goes back to relax first.
    from = sent.length;
    const plain = new NewApiRelay(svc.app.url, '');
    const u1 = relaxed.buttons.find((b) => b.customId.startsWith('MJ::JOB::upsample::1::'));
    assert.ok(u1);
    const up = await plain.poll(
      String((await plain.accepted('action', { taskId: relaxed.id, customId: u1.customId })).result),
    );
    assert.equal(up.status, 'SUCCESS', up.failReason ?? '');
    assert.deepEqual(sent.slice(from), ['relax', u1.customId]);
    assert.equal((await health()).mode, 'relax');
  });

  test('two blends wanting different modes at once: each runs in its own', async () => {
    const [a, b] = await Promise.all([blend('relax', 'p1'), blend('fast', 'p2')]);
    assert.equal(a.status, 'SUCCESS', a.failReason ?? '');
    assert.equal(b.status, 'SUCCESS', b.failReason ?? '');
    for (const [t, word] of [
      [a, 'relaxed'],
      [b, 'fast'],
    ] as const) {
      const seed = await svc.app.engine.get(t.id);
      const msg = svc.sandbox.discord.getMessage(seed?.discordId ?? '', seed?.messageId ?? '');
      assert.match(msg?.content ?? '', new RegExp(`\\(${word}\\)$`));
    }
  });

  test('an imagine carries its flag: no switch, whatever the mode', async () => {
    const before = (await health()).mode;
    const from = sent.length;
    const r = relay(before === 'turbo' ? 'fast' : 'turbo');
    const t = await r.poll(String((await r.accepted('imagine', { prompt: 'a quick fox' })).result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.match(t.prompt, /^a quick fox --(?:turbo|fast)$/);
    assert.deepEqual(sent.slice(from), ['imagine']);
    assert.equal((await health()).mode, before);
  });
});
