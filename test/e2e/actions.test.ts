import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { renderImage } from '../../src/sandbox/png.ts';
import { button, type Service, startService } from '../helpers/service.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function dataUri(seed: string): string {
  return `data:image/png;base64,${renderImage({ seed, step: 100, width: 64, height: 64 }).toString('base64')}`;
}

describe('every Midjourney action over the HTTP API, against the sandbox', () => {
  let svc: Service;
  let grid: Task;
  let upscale: Task;

  before(async () => {
    svc = await startService({ speed: 300 });
  });
  after(async () => {
    await svc.close();
  });

  test('imagine: PENDING → RUNNING with progress and a preview → FINISHED with a PNG and buttons', async () => {
    const seen: Task[] = [];
    svc.app.engine.on('task', (t: Task) => seen.push(t));
    const res = await svc.call('/image/imagine', { prompt: '  a red   fox in snow  ', data: { mine: 1 } });
    assert.equal(res.status, 200);
    assert.equal(res.body.code, 0);
    assert.equal(res.body.msg, 'ok');
    assert.deepEqual(res.body.data, []);
    const id = res.body.taskId as string;
    assert.match(id, /^\d{19}$/);
    assert.ok(
      Math.abs(Number(id.slice(0, 10)) - Date.now() / 1000) < 60,
      'the id starts with the unix seconds',
    );
    grid = await svc.waitTask(id);
    assert.equal(grid.status, 'FINISHED', grid.failReason ?? '');
    const mine = seen.filter((t) => t.id === id);
    assert.deepEqual(
      [...new Set(mine.map((t) => t.status))],
      ['PENDING', 'STARTED', 'SUBMITTED', 'RUNNING', 'FINISHED'],
      'every status in order',
    );
    const progress = mine.filter((t) => t.status === 'RUNNING').map((t) => t.progress);
    assert.ok(progress.includes('46%'), `progress went through the percentages: ${progress.join(',')}`);
    assert.ok(
      mine.some((t) => t.status === 'RUNNING' && t.imageUrl?.includes('_grid_0.webp')),
      'a preview image was shown while running',
    );
    assert.equal(grid.progress, '100%');
    assert.equal(grid.prompt, 'a red fox in snow');
    assert.deepEqual(grid.data, { mine: 1 });
    assert.ok(grid.finalPrompt?.includes('a red fox in snow'));
    assert.match(grid.messageHash ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(grid.messageId);
    // Stored by default (§6.7): the service serves its own copy.
    assert.ok(grid.imageUrl?.startsWith(`${svc.app.url}/image/file/${grid.id}/`), grid.imageUrl ?? '');
    assert.ok(grid.imageRawUrl?.startsWith('https://cdn.discordapp.com/'));
    const img = await fetch(grid.imageUrl as string);
    assert.equal(img.status, 200);
    const bytes = Buffer.from(await img.arrayBuffer());
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
    const labels = grid.buttons.flat().map((b) => b.label ?? b.emoji?.name);
    for (const l of ['U1', 'U2', 'U3', 'U4', 'V1', 'V2', 'V3', 'V4', '🔄']) assert.ok(labels.includes(l), l);
  });

  test('U1 → an upscale with the single-image buttons', async () => {
    const id = await svc.submit('/image/action', {
      taskId: grid.id,
      customId: button(grid, (b) => b.label === 'U1'),
    });
    upscale = await svc.waitTask(id);
    assert.equal(upscale.status, 'FINISHED', upscale.failReason ?? '');
    assert.equal(upscale.action, 'UPSCALE');
    assert.equal(upscale.params.parentId, grid.id);
    assert.equal(upscale.params.index, 1);
    assert.equal(upscale.discordId, grid.discordId);
    assert.notEqual(upscale.messageId, grid.messageId);
    const ids = upscale.buttons.flat().map((b) => b.custom_id);
    assert.ok(ids.some((c) => c.startsWith('MJ::JOB::high_variation::')));
    assert.ok(ids.some((c) => c.startsWith('MJ::Outpaint::50::')));
    assert.ok(!ids.some((c) => c.startsWith('MJ::BOOKMARK')), 'the bookmark is left out');
  });

  const followUps: [
    string,
    (b: { custom_id: string; label?: string | undefined }) => boolean,
    string,
    'grid' | 'upscale',
    Record<string, unknown>,
  ][] = [
    ['V1', (b) => b.label === 'V1', 'VARIATION', 'grid', {}],
    ['reroll', (b) => b.custom_id.startsWith('MJ::JOB::reroll::'), 'REROLL', 'grid', {}],
    [
      'vary strong',
      (b) => b.custom_id.startsWith('MJ::JOB::high_variation::'),
      'VARIATION_STRONG',
      'upscale',
      {},
    ],
    [
      'vary subtle',
      (b) => b.custom_id.startsWith('MJ::JOB::low_variation::'),
      'VARIATION_SUBTLE',
      'upscale',
      {},
    ],
    ['zoom out 2x', (b) => b.custom_id.startsWith('MJ::Outpaint::50::'), 'ZOOMOUT', 'upscale', {}],
    ['zoom out 1.5x', (b) => b.custom_id.startsWith('MJ::Outpaint::75::'), 'ZOOMOUT', 'upscale', {}],
    ['pan left', (b) => b.custom_id.startsWith('MJ::JOB::pan_left::'), 'PANLEFT', 'upscale', {}],
    ['pan up', (b) => b.custom_id.startsWith('MJ::JOB::pan_up::'), 'PANUP', 'upscale', {}],
    [
      'upscale subtle',
      (b) => /^MJ::JOB::upsample_v\d\w*_2x_subtle::/.test(b.custom_id),
      'UPSCALE_V6_2X_SUBTLE',
      'upscale',
      {},
    ],
    [
      'custom zoom',
      (b) => b.custom_id.startsWith('MJ::CustomZoom::'),
      'ZOOMOUT_CUSTOM',
      'upscale',
      { prompt: 'a red fox in snow --zoom 1.8' },
    ],
  ];
  for (const [name, pick, action, from, extra] of followUps) {
    test(`${name} → ${action} finishes on the parent's account`, async () => {
      const parent = from === 'grid' ? grid : upscale;
      const id = await svc.submit('/image/action', {
        taskId: parent.id,
        customId: button(parent, pick),
        ...extra,
      });
      const t = await svc.waitTask(id);
      assert.equal(t.status, 'FINISHED', t.failReason ?? '');
      assert.equal(t.action, action);
      assert.equal(t.discordId, parent.discordId);
      assert.ok(t.imageUrl);
      assert.ok(t.buttons.length > 0);
      assert.notEqual(t.messageId, parent.messageId);
    });
  }

  test('vary region: the mask and prompt go through the inpaint form', async () => {
    const mask = renderImage({ seed: 'mask', step: 1, width: 32, height: 32 }).toString('base64');
    const id = await svc.submit('/image/action', {
      taskId: upscale.id,
      customId: button(upscale, (b) => b.custom_id.startsWith('MJ::Inpaint::')),
      prompt: 'a red fox with a hat',
      mask,
    });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.action, 'VARIATION_REGION');
    assert.equal((await svc.app.store.get(id))?.meta.mask, undefined, 'the mask is not kept');
  });

  test('describe returns four prompts, and a picked prompt imagines it', async () => {
    const id = await svc.submit('/image/describe', { images: [dataUri('describe-me')] });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.action, 'DESCRIBE');
    assert.equal(t.prompts.length, 4);
    assert.ok(t.description?.includes('1️⃣'));
    assert.match(t.images[0] ?? '', /^data:image\/png;\d+ bytes$/);
    const pick = await svc.submit('/image/action', {
      taskId: t.id,
      customId: button(t, (b) => b.custom_id === 'MJ::Job::PicReader::2'),
    });
    const picked = await svc.waitTask(pick);
    assert.equal(picked.status, 'FINISHED', picked.failReason ?? '');
    assert.equal(picked.action, 'PIC_READER');
    assert.equal(picked.prompt, t.prompts[1]);
  });

  test('blend of two images finishes with the chosen dimensions', async () => {
    const id = await svc.submit('/image/blend', {
      images: [dataUri('one'), dataUri('two')],
      dimensions: 'PORTRAIT',
    });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.action, 'BLEND');
    assert.ok(t.finalPrompt?.includes('--ar 2:3'), t.finalPrompt ?? '');
    // Once uploaded, the images' bytes are not written again with every state change.
    assert.deepEqual((await svc.app.store.get(id))?.meta.inputImages, []);
  });

  test('imagine with an image prompt puts the uploaded CDN URL before the prompt', async () => {
    const id = await svc.submit('/image/imagine', {
      prompt: 'in the style of this',
      images: [dataUri('style')],
    });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.match(t.prompt, /^https:\/\/cdn\.discordapp\.com\/attachments\/\S+ in the style of this$/);
  });

  test('cancel: a running job is stopped on Midjourney and fails with "cancelled"', async () => {
    const slow = await startService({ speed: 20 });
    try {
      const id = await slow.submit('/image/imagine', { prompt: 'a slow painting' });
      const running = await slow.waitTask(id, (t) => t.status === 'RUNNING' && t.messageHash !== null);
      const res = await slow.call('/task/cancel', { taskId: id });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const t = await slow.waitTask(id);
      assert.equal(t.status, 'FAILED');
      assert.equal(t.failReason, 'cancelled');
      assert.equal(
        slow.sandbox.bot.jobByHash(running.messageHash as string)?.state,
        'cancelled',
        'Midjourney stopped the job',
      );
      const again = await slow.call('/task/cancel', { taskId: id });
      assert.equal(again.status, 409);
    } finally {
      await slow.close();
    }
  });

  test('health says sandbox and lists the account without its token', async () => {
    const res = await svc.call('/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.mode, 'sandbox');
    const text = JSON.stringify(res.body);
    for (const a of svc.sandbox.accounts) assert.ok(!text.includes(a.token));
  });

  test('list shows the newest first and filters by status', async () => {
    const res = await svc.call('/task/list?status=FINISHED&limit=3');
    assert.equal(res.status, 200);
    const list = res.body.data as Task[];
    assert.equal(list.length, 3);
    assert.ok(list.every((t) => t.status === 'FINISHED'));
    assert.ok((list[0]?.id ?? '') >= (list[1]?.id ?? ''));
  });
});
