import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { type Browser, imageLoaded, launchBrowser } from '../helpers/browser.ts';
import { type Service, startService } from '../helpers/service.ts';

const SECRET = 'open sesame 42';
const DOCS = join(import.meta.dirname, '..', '..', 'docs');

let service: Service;
let browser: Browser;

before(async () => {
  // Slow enough that a person (and the test) sees several progress steps.
  service = await startService({ speed: 10, settings: { secret: SECRET } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await service?.close();
});

// The page-side code is given as text: the tests' TypeScript has no DOM types.

/** Every value the task page's progress shows, recorded in the page as it changes. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(`
    window.seen = [];
    window.marker = 'same page';
    new MutationObserver(() => {
      const t = document.getElementById('task-progress')?.textContent;
      if (t && window.seen[window.seen.length - 1] !== t) window.seen.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  `);
}

test('sign in, see the pool, imagine, watch it live, press U1, find both in the gallery', async () => {
  const page = await browser.newPage();
  await page.goto(service.app.url);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  // A wrong secret is refused and no session cookie is set.
  await page.getByLabel('Secret').fill('not the secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong secret.' }).waitFor();
  assert.deepEqual(await browser.context.cookies(), []);
  assert.equal(await page.getByRole('heading', { name: 'Dashboard' }).count(), 0);
  // The refusal itself is the one error Chromium logs (the sign-in request's 401).
  const refusal = browser.errors.splice(0);
  assert.equal(refusal.length, 1, refusal.join('\n'));
  assert.match(refusal[0]!, /Failed to load resource: .* status of 401/);

  // The right one, by keyboard only: the field has the focus, Enter submits.
  await page.getByLabel('Secret').fill('');
  await page.keyboard.type(SECRET);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const [cookie] = await browser.context.cookies();
  assert.equal(cookie?.httpOnly, true);
  assert.equal(cookie?.sameSite, 'Strict');
  assert.ok(!cookie?.value.includes(SECRET));

  // Dashboard: the sandbox account is ready.
  const account = service.sandbox.accounts[0]!.channel_id;
  const row = page.locator(`#accounts tr[data-account="${account}"]`);
  await row.getByText('ready', { exact: true }).waitFor();
  assert.equal(await page.locator('#service-status').textContent(), 'ok');
  assert.equal(await page.locator('.chart').count(), 1);

  // Playground: imagine, then the task page follows the job without a reload.
  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk, oil painting');
  await recordProgress(page);
  await page.getByRole('button', { name: 'Imagine' }).click();
  await page.waitForURL(/\/console\/task\/\d+$/);
  const gridId = page.url().split('/').pop()!;
  await page.locator('#task-status', { hasText: 'FINISHED' }).waitFor({ timeout: 30_000 });
  const seen = (await page.evaluate('window.seen')) as string[];
  const percents = seen.filter((s) => /^\d+%$/.test(s));
  assert.ok(percents.length >= 2, `progress seen: ${seen.join(', ')}`);
  assert.equal(seen[seen.length - 1], 'done');
  assert.equal(await page.evaluate('window.marker'), 'same page');
  assert.ok((await imageLoaded(page, '#task-image')) > 0);
  const grid = (await service.app.engine.get(gridId))!;
  assert.equal(grid.status, 'FINISHED');
  assert.equal(grid.prompt, 'a lighthouse at dusk, oil painting');

  // U1 opens the upscale's page, which shows its image.
  await page.getByRole('button', { name: 'U1', exact: true }).click();
  await page.waitForURL((u) => /\/console\/task\/\d+$/.test(u.pathname) && !u.pathname.endsWith(gridId));
  const upscaleId = page.url().split('/').pop()!;
  await page.locator('main h1', { hasText: upscaleId }).waitFor();
  await page.locator('#task-status', { hasText: 'FINISHED' }).waitFor({ timeout: 30_000 });
  assert.match((await page.locator('h1').textContent()) ?? '', /^UPSCALE/);
  assert.ok((await imageLoaded(page, '#task-image')) > 0);
  await page.getByRole('link', { name: `task ${gridId}` }).waitFor();
  const upscale = (await service.app.engine.get(upscaleId))!;
  assert.equal(upscale.action, 'UPSCALE');
  assert.equal(upscale.params.parentId, gridId);

  // Gallery: both, newest first, each with a picture.
  await page.getByRole('link', { name: 'Gallery' }).click();
  const cards = page.locator('#gallery li[data-task]');
  await cards.nth(1).waitFor();
  assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-task'))), [
    upscaleId,
    gridId,
  ]);
  for (const id of [upscaleId, gridId]) assert.ok((await imageLoaded(page, `li[data-task="${id}"] img`)) > 0);

  // Back on the dashboard, the hour's chart counts both jobs.
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.locator('figcaption', { hasText: 'failure rate 0%' }).waitFor();
  assert.ok((await page.locator('.chart rect.ok').count()) >= 1);

  // The README's picture, from this very run (refreshed on request, so a test run leaves the
  // tracked file alone).
  await page.goto(`${service.app.url}/console/task/${gridId}`);
  await imageLoaded(page, '#task-image');
  const shot = await page.screenshot({ fullPage: false });
  assert.deepEqual([...shot.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  const target = join(DOCS, 'console.png');
  if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(target)) {
    mkdirSync(DOCS, { recursive: true });
    writeFileSync(target, shot);
  } else {
    writeFileSync(join(mkdtempSync(join(tmpdir(), 'mjb-shot-')), 'console.png'), shot);
  }
  assert.ok(readFileSync(target).length > 1000);

  assert.deepEqual(browser.errors, []);
  await page.close();
});
