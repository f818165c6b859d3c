import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { renderImage } from '../../src/sandbox/png.ts';
import { button, type Service, startService } from '../helpers/service.ts';

let svc: Service;
before(async () => {
  svc = await startService({ speed: 300 });
});
after(async () => {
  await svc.close();
});

test("describe's Retry describes again, and Imagine all imagines the described prompts", async () => {
  const image = `data:image/png;base64,${renderImage({ seed: 'describe me', step: 100, width: 64, height: 64 }).toString('base64')}`;
  const d = await svc.waitTask(await svc.submit('/image/describe', { images: [image] }));
  assert.equal(d.status, 'FINISHED', d.failReason ?? '');
  const retry = await svc.waitTask(
    await svc.submit('/image/action', {
      taskId: d.id,
      customId: button(d, (b) => b.custom_id === 'MJ::Picread::Retry'),
    }),
  );
  assert.equal(retry.status, 'FINISHED', retry.failReason ?? '');
  assert.equal(retry.action, 'DESCRIBE');
  assert.equal(retry.prompts.length, 4);
  assert.notEqual(retry.messageId, d.messageId, 'a new describe result');
  const all = await svc.waitTask(
    await svc.submit('/image/action', {
      taskId: d.id,
      customId: button(d, (b) => b.label === 'Imagine all'),
    }),
  );
  assert.equal(all.status, 'FINISHED', all.failReason ?? '');
  assert.equal(all.action, 'PIC_READER');
  assert.ok(d.prompts.includes(all.finalPrompt ?? ''), `${all.finalPrompt} is one of the described prompts`);
  assert.ok(
    all.buttons.flat().some((b) => b.label === 'U1'),
    'a grid',
  );
});
