/**
 * Starts the whole service in-process against the sandbox (real loopback sockets), for the
 * end-to-end tests: an HTTP client for the API and waiting helpers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type App, type AppOptions, startApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import type { Task } from '../../src/engine/task.ts';
import { silentLogger } from '../../src/log.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { code: number; msg: string; data?: unknown; taskId?: string };
}

export interface Service {
  app: App;
  sandbox: Sandbox;
  storeFile: string;
  call(
    path: string,
    body?: unknown,
    init?: { method?: string; headers?: Record<string, string> },
  ): Promise<ApiAnswer>;
  fetchTask(id: string): Promise<Task>;
  /** Polls `/task/fetch` until `until` holds (default: a final status). */
  waitTask(id: string, until?: (t: Task) => boolean, timeoutMs?: number): Promise<Task>;
  submit(path: string, body: unknown): Promise<string>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  speed?: number;
  accounts?: number;
  settings?: Record<string, unknown>;
  config?: Record<string, unknown>;
  storeFile?: string;
  sandbox?: Sandbox;
  telegramTiming?: AppOptions['telegramTiming'];
  telegramRetryMs?: number;
  telegramStartWaitMs?: number;
  imageTiming?: AppOptions['imageTiming'];
  /**
   * `/info` + `/settings` of each account at start and then every this many ms (SPEC §14). Off by
   * default here: those interactions would take faults a test injects for its own job.
   */
  infoRefreshMs?: number;
}

export async function startService(opts: ServiceOptions = {}): Promise<Service> {
  const speed = opts.speed ?? 200;
  const sandbox =
    opts.sandbox ?? (await startSandbox({ speed, accounts: opts.accounts ?? 1, logger: silentLogger() }));
  const storeFile = opts.storeFile ?? join(mkdtempSync(join(tmpdir(), 'mjb-e2e-')), 'tasks.sqlite');
  const config = parseConfig({
    listen: 'http://127.0.0.1:0',
    store: { url: `sqlite://${storeFile}` },
    sandbox: { speed },
    logLevel: 'silent',
    ...opts.config,
    // Stored results go beside the test's own store file, never into the working tree.
    images: { dir: join(dirname(storeFile), 'images'), ...(opts.config?.images as object | undefined) },
    settings: { interactionIntervalMs: 0, ...opts.settings },
  });
  const app = await startApp(config, {
    logger: silentLogger(),
    sandbox,
    engine: {
      backoff: { minMs: 20, maxMs: 100 },
      deleteGraceMs: 300,
      modalTimeoutMs: 5000,
      infoRefreshMs: opts.infoRefreshMs ?? 0,
    },
    notifierRetryMs: 50,
    imageTiming: { download: { backoffMs: 20, timeoutMs: 10_000 }, ...opts.imageTiming },
    ...(opts.telegramTiming ? { telegramTiming: opts.telegramTiming } : {}),
    ...(opts.telegramRetryMs !== undefined ? { telegramRetryMs: opts.telegramRetryMs } : {}),
    ...(opts.telegramStartWaitMs !== undefined ? { telegramStartWaitMs: opts.telegramStartWaitMs } : {}),
  });
  // Tests start from a ready pool, as a service that has been up for a moment would be.
  const readyBy = Date.now() + 10_000;
  while (app.engine.health().status !== 'ok' && Date.now() < readyBy)
    await new Promise((r) => setTimeout(r, 10));
  const call: Service['call'] = async (path, body, init = {}) => {
    const method = init.method ?? (body === undefined ? 'GET' : 'POST');
    const res = await fetch(app.url + path, {
      method,
      headers: { 'content-type': 'application/json', ...init.headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as ApiAnswer['body'] };
  };
  const fetchTask = async (id: string): Promise<Task> => {
    const prefix =
      typeof opts.settings?.apiPrefix === 'string' && opts.settings.apiPrefix
        ? `/${opts.settings.apiPrefix}`
        : '';
    const res = await call(`${prefix}/task/fetch?taskId=${id}`);
    if (res.status !== 200) throw new Error(`fetch ${id}: ${res.status} ${res.body.msg}`);
    return res.body.data as Task;
  };
  // Follows the engine's own events, so a short-lived state (RUNNING at high speed) is never missed
  // between two polls; a final state is then read back through the API.
  const waitTask: Service['waitTask'] = (id, until, timeoutMs = 20_000) => {
    const done = until ?? ((t: Task) => t.status === 'FINISHED' || t.status === 'FAILED');
    return new Promise<Task>((resolve, reject) => {
      let last: Task | undefined;
      const finish = (t: Task) => {
        clearTimeout(timer);
        app.engine.off('task', onTask);
        if (t.status === 'FINISHED' || t.status === 'FAILED') fetchTask(id).then(resolve, reject);
        else resolve(t);
      };
      const onTask = (t: Task) => {
        if (t.id !== id) return;
        last = t;
        if (done(t)) finish(t);
      };
      const timer = setTimeout(() => {
        app.engine.off('task', onTask);
        reject(new Error(`task ${id} did not reach the expected state; last: ${JSON.stringify(last)}`));
      }, timeoutMs);
      app.engine.on('task', onTask);
      fetchTask(id).then((t) => {
        last ??= t;
        if (done(t)) finish(t);
      }, reject);
    });
  };
  const submit = async (path: string, body: unknown): Promise<string> => {
    const res = await call(path, body);
    if (res.status !== 200 || typeof res.body.taskId !== 'string') {
      throw new Error(`submit ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body.taskId;
  };
  return {
    app,
    sandbox,
    storeFile,
    call,
    fetchTask,
    waitTask,
    submit,
    async close() {
      await app.close();
      if (!opts.sandbox) await sandbox.close();
    },
  };
}

/** Finds a button of a finished task by custom_id prefix or label. */
export function button(
  task: Task,
  match: (b: { custom_id: string; label?: string | undefined }) => boolean,
): string {
  for (const row of task.buttons) for (const b of row) if (match(b)) return b.custom_id;
  throw new Error(`no such button on task ${task.id}: ${JSON.stringify(task.buttons)}`);
}
