import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { TASK_STATUSES } from '../../src/engine/task.ts';
import { ACTIONS } from '../../src/midjourney/actions.ts';
import { type Browser, imageLoaded, launchBrowser } from '../helpers/browser.ts';
import { type Service, startService } from '../helpers/service.ts';

// No secret here: the console on loopback is fully usable without signing in (§16).
let service: Service;
let browser: Browser;
let png: Buffer;
let png2: Buffer;

before(async () => {
  service = await startService({ speed: 20 });
  browser = await launchBrowser();
  png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
  png2 = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#cc6633' } })
    .png()
    .toBuffer();
});

after(async () => {
  await browser?.close();
  await service?.close();
});

/** Drops a PNG file on the playground's drop zone, as a person dragging it from the desktop. */
async function dropImage(page: Page, name: string): Promise<void> {
  await page.evaluate(`(() => {
    const bytes = Uint8Array.from(atob(${JSON.stringify(png.toString('base64'))}), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], ${JSON.stringify(name)}, { type: 'image/png' }));
    const zone = document.getElementById('drop');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  })()`);
}

/** Does `act`, then waits for the new task page it opens and for its task to finish. */
async function finished(page: Page, act: () => Promise<void>): Promise<string> {
  const from = page.url();
  await act();
  await page.waitForURL((u) => /^\/console\/task\/\d+$/.test(u.pathname) && u.href !== from);
  const id = page.url().split('/').pop()!;
  await page.locator('main h1', { hasText: id }).waitFor();
  await page.locator('#task-status', { hasText: /FINISHED|FAILED/ }).waitFor({ timeout: 30_000 });
  const task = await service.app.engine.get(id);
  assert.equal(task?.status, 'FINISHED', `task ${id} failed: ${task?.failReason}`);
  assert.equal(await page.locator('#task-status').textContent(), 'FINISHED');
  return id;
}

test('playground: drop and pick images, blend them, describe one and imagine a described prompt', async () => {
  const page = await browser.newPage();
  await page.goto(`${service.app.url}/console/playground`);
  await page.getByRole('heading', { name: 'Playground' }).waitFor();
  // Nothing to sign out of without a secret.
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false);

  await dropImage(page, 'dropped.png');
  await page.locator('#images').setInputFiles({ name: 'picked.png', mimeType: 'image/png', buffer: png2 });
  await page.getByRole('button', { name: 'Remove picked.png' }).waitFor();
  await page.getByRole('button', { name: 'Remove dropped.png' }).waitFor();
  await page.getByLabel('Blend shape').selectOption('LANDSCAPE');
  const blendId = await finished(page, () => page.getByRole('button', { name: 'Blend' }).click());
  await imageLoaded(page, '#task-image');
  const blend = (await service.app.engine.get(blendId))!;
  assert.equal(blend.action, 'BLEND');
  assert.equal(blend.params.dimensions, 'LANDSCAPE');

  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByRole('button', { name: 'Describe' }).click();
  await page.getByRole('alert').filter({ hasText: 'Describe needs exactly one image.' }).waitFor();
  await dropImage(page, 'one.png');
  const describeId = await finished(page, () => page.getByRole('button', { name: 'Describe' }).click());
  const described = (await service.app.engine.get(describeId))!;
  assert.equal(described.prompts.length, 4);
  const items = page.locator('ol.prompts li');
  assert.equal(await items.count(), 4);
  const imagineId = await finished(page, () =>
    items.nth(1).getByRole('button', { name: 'Imagine this' }).click(),
  );
  const imagined = (await service.app.engine.get(imagineId))!;
  assert.equal(imagined.action, 'IMAGINE');
  assert.equal(imagined.prompt, described.prompts[1]!.replace(/\s+/g, ' ').trim());

  // Gallery: the filters narrow the list; a task started elsewhere appears and runs live.
  await page.getByRole('link', { name: 'Gallery' }).click();
  await page.locator(`#gallery li[data-task="${imagineId}"]`).waitFor();
  // The filters offer the service's own lists: every status and every action, 'any' first.
  const offered = async (id: string) =>
    (await page.evaluate(`[...document.querySelectorAll('#${id} option')].map((o) => o.value)`)) as string[];
  assert.deepEqual(await offered('f-status'), ['', ...TASK_STATUSES]);
  assert.deepEqual(await offered('f-action'), ['', ...ACTIONS]);
  await page.getByLabel('Action').selectOption('DESCRIBE');
  await page.waitForURL(/action=DESCRIBE/);
  await page.locator(`#gallery li[data-task="${describeId}"]`).waitFor();
  assert.equal(await page.locator('#gallery li[data-task]').count(), 1);
  await page.getByLabel('Action').selectOption('');
  await page.getByLabel('Text').fill(imagined.prompt.slice(0, 12));
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/q=/);
  await page.locator(`#gallery li[data-task="${imagineId}"]`).waitFor();
  assert.equal(await page.locator(`#gallery li[data-task="${blendId}"]`).count(), 0);
  await page.getByLabel('Text').fill('');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator(`#gallery li[data-task="${blendId}"]`).waitFor();

  await page.evaluate('window.marker = "same page"');
  const liveId = await service.submit('/image/imagine', { prompt: 'started over the API' });
  const card = page.locator(`#gallery li[data-task="${liveId}"]`);
  await card.waitFor();
  assert.equal(await page.locator('#gallery li[data-task]').first().getAttribute('data-task'), liveId);
  await page
    .locator(`#gallery li[data-task="${liveId}"][data-status="FINISHED"]`)
    .waitFor({ timeout: 30_000 });
  await imageLoaded(page, `li[data-task="${liveId}"] img`);
  assert.equal(await page.evaluate('window.marker'), 'same page');

  assert.deepEqual(browser.errors, []);
  await page.close();
});

test("a phone's width: every page fits without sideways scrolling", async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 375, height: 740 });
  const id = await service.submit('/image/imagine', { prompt: 'a long prompt '.repeat(40) });
  await service.waitTask(id);
  for (const path of ['/', '/console/gallery', '/console/playground', `/console/task/${id}`]) {
    await page.goto(service.app.url + path);
    await page.locator('main h1').waitFor();
    const [scroll, width] = (await page.evaluate(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    )) as [number, number];
    assert.ok(scroll <= width, `${path}: ${scroll}px wide in a ${width}px window`);
  }
  // Keyboard: the first Tab reaches the skip link, the next ones the navigation.
  await page.goto(service.app.url);
  await page.locator('main h1').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.textContent'), 'Dashboard');
  assert.deepEqual(browser.errors, []);
  await page.close();
});

test('from another machine without a secret the console only looks', async () => {
  // The browser reaches the same loopback service under a name that is not this machine's.
  const remote = await launchBrowser(undefined, ['--host-resolver-rules=MAP console.test 127.0.0.1']);
  try {
    const base = service.app.url.replace('127.0.0.1', 'console.test');
    const page = await remote.newPage();
    await page.goto(`${base}/console/playground`);
    await page.getByText('Read-only from this address').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Imagine' }).isDisabled(), true);
    const id = await service.submit('/image/imagine', { prompt: 'seen from afar' });
    await service.waitTask(id);
    await page.goto(`${base}/console/task/${id}`);
    await page.locator('#task-status').waitFor();
    const buttons = page.locator('.btnrow button');
    assert.ok((await buttons.count()) > 0);
    for (const b of await buttons.all()) assert.equal(await b.isDisabled(), true);
    // Even a hand-made request is refused.
    const status = await page.evaluate(
      `fetch('/console/api/imagine', { method: 'POST', headers: { 'content-type': 'application/json', 'x-mjb-console': '1' }, body: '{"prompt":"x"}' }).then((r) => r.status)`,
    );
    assert.equal(status, 403);
    // Chromium logs the refused request itself, and nothing else is logged.
    assert.equal(remote.errors.length, 1, remote.errors.join('\n'));
    assert.match(remote.errors[0]!, /Failed to load resource: .* status of 403/);
  } finally {
    await remote.close();
  }
});
