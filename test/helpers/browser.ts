/**
 * Headless Chromium for the console tests: Debian's `chromium` driven by playwright-core, with a
 * fresh profile each time and nothing that reaches the network by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught page errors, per page, as `"<kind>: <text>"`. */
  errors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** `extraArgs`: e.g. `--host-resolver-rules=MAP console.test 127.0.0.1` to reach loopback under another name. */
export async function launchBrowser(
  viewport = { width: 1280, height: 900 },
  extraArgs: string[] = [],
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'mjb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()} (${page.url()})`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message} (${page.url()})`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    errors,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the image `selector` names has loaded; its natural width. Polled from the test:
 * waitForFunction's in-page polling evaluates strings, which the console's CSP refuses.
 */
export async function imageLoaded(page: Page, selector: string, timeoutMs = 15_000): Promise<number> {
  const probe = `(() => { const i = document.querySelector(${JSON.stringify(selector)}); return i && i.complete ? i.naturalWidth : 0; })()`;
  for (const by = Date.now() + timeoutMs; Date.now() < by; ) {
    const width = (await page.evaluate(probe)) as number;
    if (width > 0) return width;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`image ${selector} did not load in ${timeoutMs} ms`);
}
