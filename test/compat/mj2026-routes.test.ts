import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Service, startService } from '../helpers/service.ts';
import { type CompatTaskJson, mjCall, NewApiRelay, pngDataUrl, type SubmitResponse } from './clients.ts';

describe('/mj routes on the Midjourney 2026 engine API: their refusals and niji', () => {
  let svc: Service;
  before(async () => {
    svc = await startService({ speed: 300, settings: { bannedWords: ['forbiddenword'] } });
  });
  after(async () => {
    await svc.close();
  });
  const submit = async (path: string, body: unknown) => {
    const res = await mjCall(svc.app.url, path, body, {});
    assert.equal(res.status, 200);
    return res.body as SubmitResponse;
  };

  test('video: image and motion are required; a banned word → 24; extend needs an extend button', async () => {
    const noImage = await submit('/mj/submit/video', { prompt: 'waves', motion: 'low' });
    assert.equal(noImage.code, 4);
    assert.equal(noImage.description, 'image is required (or base64)');
    const noMotion = await submit('/mj/submit/video', { prompt: 'waves', image: pngDataUrl('v') });
    assert.equal(noMotion.code, 4);
    assert.match(noMotion.description, /^motion is required/);
    const badMotion = await submit('/mj/submit/video', { image: pngDataUrl('v'), motion: 'fast' });
    assert.equal(badMotion.description, 'motion must be low or high');
    const banned = await submit('/mj/submit/video', {
      prompt: 'forbiddenword waves',
      image: pngDataUrl('v'),
      motion: 'high',
    });
    assert.equal(banned.code, 24);
    assert.equal(banned.properties.bannedWord, 'forbiddenword');
    const relay = new NewApiRelay(svc.app.url, '');
    const grid = await relay.poll(
      String((await relay.accepted('imagine', { prompt: 'a quiet sea' })).result),
    );
    const extend = await submit('/mj/submit/video', { action: 'extend', taskId: grid.id, index: 1 });
    assert.equal(extend.code, 4);
    assert.match(extend.description, /has no extend button/);
    const unknown = await submit('/mj/submit/video', { action: 'extend', taskId: '1234567890123456' });
    assert.equal(unknown.code, 3);
  });

  test('shorten: prompt required, banned word → 24', async () => {
    assert.equal((await submit('/mj/submit/shorten', {})).description, 'prompt is required');
    const banned = await submit('/mj/submit/shorten', { prompt: 'a ForbiddenWord story' });
    assert.equal(banned.code, 24);
  });

  test('image-seed of an unknown task → HTTP 404 with code 3', async () => {
    const res = await mjCall(svc.app.url, '/mj/task/1234567890123456/image-seed', undefined, {});
    assert.equal(res.status, 404);
    assert.equal((res.body as SubmitResponse).code, 3);
  });

  test('botType NIJI_JOURNEY imagines through the niji bot', async () => {
    const r = await submit('/mj/submit/imagine', { prompt: 'a fox', botType: 'NIJI_JOURNEY' });
    assert.equal(r.code === 1 || r.code === 22, true, JSON.stringify(r));
    const seed = await svc.app.engine.get(String(r.result));
    assert.equal(seed?.bot, 'niji');
    const [t] = (await mjCall(svc.app.url, '/mj/task/list-by-condition', { ids: [r.result] }, {}))
      .body as CompatTaskJson[];
    assert.equal(t?.properties.botType, 'NIJI_JOURNEY');
  });
});
