import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type App, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';
import { waitFor } from '../helpers/processes.ts';
import { type CompatTaskJson, mjCall, NewApiRelay } from './clients.ts';

/**
 * SPEC §12.2, `/mj/submit/action`: with remix on, V / reroll / pan answer code 21 for a form,
 * unless the account has `remixAutoSubmit`: then they run at once with the parent's prompt (the
 * engine answers Midjourney's remix form itself).
 */
describe('accounts[].remixAutoSubmit', () => {
  let sandbox: Sandbox;
  /** Forms (type-5 interactions) the sandbox's Midjourney got answered, by form custom_id. */
  const forms: string[] = [];
  before(async () => {
    sandbox = await startSandbox({ speed: 300, logger: silentLogger() });
    sandbox.discord.onInteraction((ix) => {
      if (ix.type === 5) forms.push(String(ix.data.custom_id ?? ''));
    });
    const user = sandbox.accounts[0]?.user_id ?? '';
    sandbox.bot.controls.setRemix(user, true);
  });
  after(async () => {
    await sandbox.close();
  });

  /** The service on the sandbox's account as a configured one, remix read from `/settings`. */
  async function start(remixAutoSubmit: boolean): Promise<App> {
    const acc = sandbox.accounts[0];
    assert.ok(acc);
    const storeFile = join(mkdtempSync(join(tmpdir(), 'mjb-remix-')), 'tasks.sqlite');
    const config = parseConfig({
      listen: 'http://127.0.0.1:0',
      accounts: [{ token: acc.token, channel_id: acc.channel_id, guild_id: acc.guild_id, remixAutoSubmit }],
      proxy: sandbox.proxy,
      store: { url: `sqlite://${storeFile}` },
      images: { dir: join(storeFile, '..', 'images') },
      settings: { interactionIntervalMs: 0 },
      logLevel: 'silent',
    });
    const app = await startApp(config, {
      logger: silentLogger(),
      engine: { backoff: { minMs: 20, maxMs: 100 }, modalTimeoutMs: 5000 },
    });
    await waitFor('the account to know its remix mode', async () =>
      app.engine.health().accounts[0]?.remix === true ? true : undefined,
    );
    return app;
  }

  /** A finished grid and its U1 (the pan buttons sit on the upscale). */
  async function parents(relay: NewApiRelay): Promise<{ grid: CompatTaskJson; up: CompatTaskJson }> {
    const grid = await relay.poll(String((await relay.accepted('imagine', { prompt: 'a red kite' })).result));
    assert.equal(grid.status, 'SUCCESS', grid.failReason ?? '');
    const u1 = grid.buttons.find((b) => b.customId.startsWith('MJ::JOB::upsample::1::'));
    const up = await relay.poll(
      String((await relay.accepted('action', { taskId: grid.id, customId: u1?.customId })).result),
    );
    assert.equal(up.status, 'SUCCESS', up.failReason ?? '');
    return { grid, up };
  }

  const picks = (grid: CompatTaskJson, up: CompatTaskJson): [CompatTaskJson, string, string][] => [
    [grid, ':variation::1::', 'VARIATION'],
    [grid, '::reroll::0::', 'REROLL'],
    [up, '::pan_left::', 'PAN'],
  ];
  const button = (t: CompatTaskJson, part: string): string => {
    const b = t.buttons.find((x) => x.customId.includes(part));
    assert.ok(b, `no ${part} button on ${t.id}`);
    return b.customId;
  };

  test('on: V1, reroll and pan run at once (code 1) with the parent prompt through the remix form', async () => {
    const app = await start(true);
    try {
      const relay = new NewApiRelay(app.url, '');
      const { grid, up } = await parents(relay);
      const accounts = (await mjCall(app.url, '/mj/account/list', undefined, {})).body as {
        remixAutoSubmit: boolean;
      }[];
      assert.equal(accounts[0]?.remixAutoSubmit, true);
      for (const [parent, part, action] of picks(grid, up)) {
        const before = forms.length;
        const r = await relay.submit('action', { taskId: parent.id, customId: button(parent, part) });
        assert.equal(r.code, 1, `${part}: ${JSON.stringify(r)}`);
        const t = await relay.poll(String(r.result));
        assert.equal(t.status, 'SUCCESS', `${part}: ${t.failReason}`);
        assert.equal(t.action, action);
        assert.equal(t.prompt, 'a red kite');
        // Midjourney opened its remix form and the engine sent it back filled in.
        assert.equal(forms.length, before + 1, `${part}: one form answered`);
        assert.match(forms[before] ?? '', /^MJ::(?:RemixModal|ImagineModal|PanModal)::/);
      }
    } finally {
      await app.close();
    }
  });

  test('off (the default): V1, reroll and pan answer code 21; the modal runs the new prompt', async () => {
    const app = await start(false);
    try {
      const relay = new NewApiRelay(app.url, '');
      const { grid, up } = await parents(relay);
      const from = forms.length;
      const parked: string[] = [];
      for (const [parent, part] of picks(grid, up)) {
        const r = await relay.submit('action', { taskId: parent.id, customId: button(parent, part) });
        assert.equal(r.code, 21, `${part}: ${JSON.stringify(r)}`);
        assert.equal(r.properties.remix, true);
        assert.equal(r.properties.finalPrompt, 'a red kite');
        parked.push(String(r.result));
      }
      assert.equal(forms.length, from, 'no form answered while the caller has not filled it');
      const [v1, reroll, pan] = parked;
      await relay.accepted('modal', { taskId: v1, prompt: 'a blue kite' });
      const t = await relay.poll(String(v1));
      assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
      assert.equal(t.action, 'VARIATION');
      assert.equal(t.prompt, 'a blue kite');
      for (const id of [reroll, pan]) {
        const c = await mjCall(app.url, `/mj/task/${id}/cancel`, {}, {});
        assert.equal((c.body as { code: number }).code, 1);
      }
    } finally {
      await app.close();
    }
  });
});
