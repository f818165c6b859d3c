import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderImage } from '../../src/sandbox/png.ts';
import { type Service, startService } from '../helpers/service.ts';
import {
  assertServesImage,
  type CompatTaskJson,
  NewApiRelay,
  newApiAcceptsCustomId,
  pngDataUrl,
} from './clients.ts';

const KEY = 'sk-channel-key';

describe('new-api relay against /mj (SPEC §12.4)', () => {
  let svc: Service;
  let relay: NewApiRelay;
  let grid: CompatTaskJson;
  let upscale: CompatTaskJson;

  before(async () => {
    svc = await startService({ speed: 300, settings: { secret: KEY } });
    relay = new NewApiRelay(svc.app.url, KEY);
  });
  after(async () => {
    await svc.close();
  });

  const button = (t: CompatTaskJson, part: string): string => {
    const b = t.buttons.find((x) => x.customId.includes(part));
    assert.ok(b, `task ${t.id} has a ${part} button: ${JSON.stringify(t.buttons)}`);
    assert.ok(newApiAcceptsCustomId(b.customId), `new-api forwards ${b.customId}`);
    return b.customId;
  };

  test('imagine: accepted with a 16-digit id, polled to SUCCESS with an image and buttons', async () => {
    const r = await relay.accepted('imagine', {
      prompt: 'a lighthouse at dusk',
      base64Array: [],
      notifyHook: 'http://new-api.example/mj/notify',
      state: 'user-42',
    });
    grid = await relay.poll(String(r.result));
    assert.equal(grid.status, 'SUCCESS', grid.failReason ?? '');
    assert.equal(grid.action, 'IMAGINE');
    assert.equal(grid.prompt, 'a lighthouse at dusk');
    assert.equal(grid.promptEn, grid.prompt);
    assert.equal(grid.state, 'user-42');
    assert.ok((grid.submitTime ?? 0) <= (grid.startTime ?? 0));
    assert.ok((grid.startTime ?? 0) <= (grid.finishTime ?? 0));
    assert.ok(grid.properties.finalPrompt?.includes('a lighthouse at dusk'));
    assert.equal(grid.properties.finalZhPrompt, grid.properties.finalPrompt);
    assert.match(String(grid.properties.messageHash), /^[0-9a-f-]{36}$/);
    // geekai's way of reading the job hash: buttons[0].customId split on '::', [4] if more than 5 parts.
    const parts = grid.buttons[0]?.customId.split('::') ?? [];
    assert.equal(parts.length > 5 ? parts[4] : parts.at(-1), grid.properties.messageHash);
    for (const b of grid.buttons) {
      assert.deepEqual(Object.keys(b).sort(), ['customId', 'emoji', 'label', 'style', 'type']);
      assert.equal(b.type, 2);
    }
    await assertServesImage(grid.imageUrl);
  });

  test('U1 through /submit/action → an UPSCALE', async () => {
    const r = await relay.accepted('action', { taskId: grid.id, customId: button(grid, '::upsample::1::') });
    upscale = await relay.poll(String(r.result));
    assert.equal(upscale.status, 'SUCCESS', upscale.failReason ?? '');
    assert.equal(upscale.action, 'UPSCALE');
    await assertServesImage(upscale.imageUrl);
  });

  test('custom zoom: code 21 with a MODAL task, then /submit/modal runs that same task', async () => {
    const r = await relay.submit('action', { taskId: upscale.id, customId: button(upscale, 'CustomZoom::') });
    assert.equal(r.code, 21, JSON.stringify(r));
    assert.equal(r.description, 'Waiting for window confirm');
    assert.equal(r.properties.finalPrompt, 'a lighthouse at dusk --zoom 2');
    const modalId = String(r.result);
    assert.match(modalId, /^\d{16}$/);
    const [waiting] = (await (
      await fetch(`${svc.app.url}/mj/task/list-by-condition`, {
        method: 'POST',
        headers: { 'mj-api-secret': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [modalId] }),
      })
    ).json()) as CompatTaskJson[];
    assert.equal(waiting?.status, 'MODAL');
    assert.equal(waiting?.progress, '0%');
    const ran = await relay.accepted('modal', { taskId: modalId, prompt: 'a lighthouse at dusk --zoom 1.5' });
    assert.equal(ran.result, modalId, 'the modal runs the MODAL task itself');
    const t = await relay.poll(modalId);
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'ZOOM');
    await assertServesImage(t.imageUrl);
  });

  test('vary region: code 21, then /submit/modal with a mask', async () => {
    const r = await relay.submit('action', { taskId: upscale.id, customId: button(upscale, 'Inpaint::1') });
    assert.equal(r.code, 21, JSON.stringify(r));
    const mask = `data:image/png;base64,${renderImage({ seed: 'mask', step: 1, width: 32, height: 32 }).toString('base64')}`;
    await relay.accepted('modal', {
      taskId: r.result,
      prompt: 'a lighthouse with a red roof',
      maskBase64: mask,
    });
    const t = await relay.poll(String(r.result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'VARIATION');
    assert.equal(t.prompt, 'a lighthouse with a red roof');
    await assertServesImage(t.imageUrl);
  });

  test('describe: SUCCESS with the four prompts as description and finalPrompt', async () => {
    const r = await relay.accepted('describe', { base64: pngDataUrl('describe-me') });
    const t = await relay.poll(String(r.result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'DESCRIBE');
    assert.ok(t.properties.finalPrompt?.includes('1️⃣'));
    assert.equal(t.description, t.properties.finalPrompt);
    await assertServesImage(t.imageUrl);
  });

  test('blend: SUCCESS with an image', async () => {
    const r = await relay.accepted('blend', {
      base64Array: [pngDataUrl('one'), pngDataUrl('two')],
      dimensions: 'SQUARE',
    });
    const t = await relay.poll(String(r.result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'BLEND');
    await assertServesImage(t.imageUrl);
  });

  test('shorten: SUCCESS with five prompts; a pick (code 21 → /submit/modal) imagines it', async () => {
    const r = await relay.accepted('shorten', {
      prompt: 'a very detailed and rather long prompt about an old lighthouse standing at dusk',
    });
    const t = await relay.poll(String(r.result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'SHORTEN');
    assert.ok(t.description, 'the shortened prompts as description');
    const pick = t.buttons.find((b) => b.customId.includes('PromptAnalyzer'));
    assert.ok(pick, `a shorten pick button: ${JSON.stringify(t.buttons)}`);
    const modal = await relay.accepted('action', { taskId: t.id, customId: pick.customId }, [21]);
    const run = await relay.accepted('modal', { taskId: modal.result }, [1, 22]);
    const imagined = await relay.poll(String(run.result));
    assert.equal(imagined.status, 'SUCCESS', imagined.failReason ?? '');
    await assertServesImage(imagined.imageUrl);
  });

  test('video: SUCCESS with a videoUrl that serves an MP4', async () => {
    const r = await relay.accepted('video', {
      prompt: 'waves rolling in',
      image: pngDataUrl('shore'),
      motion: 'low',
    });
    const t = await relay.poll(String(r.result), 60_000);
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.action, 'VIDEO');
    assert.ok(t.videoUrl, 'a videoUrl');
    const bytes = Buffer.from(await (await fetch(t.videoUrl)).arrayBuffer());
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4 starts with its ftyp box');
    assert.ok(t.videoUrls.length >= 1);
  });

  test("image-seed: the grid's seed as a string of digits, the same when asked again", async () => {
    const ask = async () => {
      const res = await fetch(`${svc.app.url}/mj/task/${grid.id}/image-seed`, {
        headers: { 'mj-api-secret': KEY },
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { code: number; result: string };
    };
    const first = await ask();
    assert.equal(first.code, 1, JSON.stringify(first));
    assert.match(first.result, /^\d+$/);
    assert.equal((await ask()).result, first.result);
  });

  test('upload-discord-images: code 1 with hosted URLs that serve the images', async () => {
    const r = await relay.submit('upload-discord-images', {
      base64Array: [pngDataUrl('up-1'), pngDataUrl('up-2')],
    });
    assert.equal(r.code, 1, JSON.stringify(r));
    const urls = r.result as string[];
    assert.equal(urls.length, 2);
    for (const u of urls) await assertServesImage(u);
  });

  test('a batch poll of several ids answers each once, unknown ones left out', async () => {
    const res = await fetch(`${svc.app.url}/mj/task/list-by-condition`, {
      method: 'POST',
      headers: { 'mj-api-secret': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [grid.id, '1234567890123456', upscale.id, grid.id] }),
    });
    assert.equal(res.status, 200);
    const list = (await res.json()) as CompatTaskJson[];
    assert.deepEqual(
      list.map((t) => t.id),
      [grid.id, upscale.id],
    );
  });
});
