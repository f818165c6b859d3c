import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Task } from '../../src/engine/task.ts';
import { renderImage } from '../../src/sandbox/png.ts';
import { button, type Service, startService } from '../helpers/service.ts';

function dataUri(seed: string): string {
  return `data:image/png;base64,${renderImage({ seed, step: 100, width: 64, height: 64 }).toString('base64')}`;
}

/** Fetches a URL and checks it is an MP4: an ISO base media file starts with its `ftyp` box. */
async function assertMp4(url: string | null): Promise<void> {
  assert.ok(url, 'a video URL');
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', `${url} starts with an ftyp box`);
  assert.ok(
    bytes.includes(Buffer.from('moov')) && bytes.includes(Buffer.from('mdat')),
    'moov and mdat boxes',
  );
}

describe('video, V8 and the em dash against the sandbox (SPEC §14)', () => {
  let svc: Service;
  let batch: Task;
  let picked: Task;

  before(async () => {
    svc = await startService({ speed: 300 });
  });
  after(async () => {
    await svc.close();
  });

  test('imagine → U1 → Animate (High motion) → a FINISHED VIDEO task whose videoUrl serves an MP4', async () => {
    const grid = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a paper boat on a pond' }));
    assert.equal(grid.status, 'FINISHED', grid.failReason ?? '');
    const up = await svc.waitTask(
      await svc.submit('/image/action', { taskId: grid.id, customId: button(grid, (b) => b.label === 'U1') }),
    );
    assert.equal(up.status, 'FINISHED', up.failReason ?? '');
    const animate = button(up, (b) => b.label === 'Animate (High motion)');
    assert.match(animate, /^MJ::JOB::animate_high::1::[0-9a-f-]{36}::SOLO$/);
    batch = await svc.waitTask(await svc.submit('/image/action', { taskId: up.id, customId: animate }));
    assert.equal(batch.status, 'FINISHED', batch.failReason ?? '');
    assert.equal(batch.action, 'VIDEO');
    assert.equal(batch.videoUrls.length, 4, 'a batch of four videos');
    await assertMp4(batch.videoUrl);
    for (const v of batch.videoUrls) await assertMp4(v.url);
    assert.match(batch.finalPrompt ?? '', /--motion high --video 1/);
    const picks = batch.buttons.flat().map((b) => b.custom_id);
    assert.equal(picks.filter((id) => id.startsWith('MJ::JOB::video_virtual_upscale::')).length, 4);
  });

  test('a video of the batch is picked (virtual upscale), then extended', async () => {
    picked = await svc.waitTask(
      await svc.submit('/image/action', {
        taskId: batch.id,
        customId: button(batch, (b) => b.custom_id.startsWith('MJ::JOB::video_virtual_upscale::2::')),
      }),
    );
    assert.equal(picked.status, 'FINISHED', picked.failReason ?? '');
    assert.equal(picked.action, 'VIDEO_UPSCALE');
    assert.equal(picked.params.index, 2);
    assert.equal(picked.videoUrls.length, 1);
    await assertMp4(picked.videoUrl);
    const extend = button(picked, (b) => b.label === 'Extend (High motion)');
    assert.match(extend, /^MJ::JOB::animate_high_extend::1::/);
    const extended = await svc.waitTask(
      await svc.submit('/image/action', { taskId: picked.id, customId: extend }),
    );
    assert.equal(extended.status, 'FINISHED', extended.failReason ?? '');
    assert.equal(extended.action, 'VIDEO_EXTEND');
    await assertMp4(extended.videoUrl);
    assert.notEqual(extended.videoUrl, picked.videoUrl);
  });

  test('an imagine with --video and a start image is a VIDEO task with a video result', async () => {
    const id = await svc.submit('/image/imagine', {
      prompt: 'waves rolling in --video 1 --motion low --bs 2',
      images: [dataUri('start frame')],
    });
    const t = await svc.waitTask(id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.action, 'VIDEO');
    assert.match(t.prompt, /^https?:\/\/\S+ waves rolling in --video 1 --motion low --bs 2$/, t.prompt);
    assert.equal(t.videoUrls.length, 2);
    await assertMp4(t.videoUrl);
  });

  test('engine.video() builds the video prompt from its parts', async () => {
    const task = await svc.app.engine.video({
      prompt: 'a lighthouse at dusk',
      image: dataUri('lighthouse'),
      motion: 'high',
      loop: true,
      batchSize: 1,
    });
    const t = await svc.waitTask(task.id);
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.match(t.prompt, /^https?:\/\/\S+ a lighthouse at dusk --video 1 --motion high --end loop --bs 1$/);
    assert.equal(t.videoUrls.length, 1);
    await assertMp4(t.videoUrl);
  });

  test('--v 8 finishes as a grid without upscale buttons; an em dash before a parameter becomes --', async () => {
    const t = await svc.waitTask(await svc.submit('/image/imagine', { prompt: 'a quiet harbour —v 8' }));
    assert.equal(t.status, 'FINISHED', t.failReason ?? '');
    assert.equal(t.prompt, 'a quiet harbour --v 8');
    assert.match(t.finalPrompt ?? '', /--v 8$/);
    const ids = t.buttons.flat().map((b) => b.custom_id);
    assert.equal(ids.filter((id) => id.includes('upsample')).length, 0, JSON.stringify(ids));
    assert.ok(
      ids.some((id) => id.startsWith('MJ::JOB::variation::1::')),
      'the V buttons are there',
    );
    assert.ok(t.imageUrl, 'the grid image');
  });
});
