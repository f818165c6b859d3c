/**
 * Test clients that speak the `/mj` API the way real ones do (reference/compat-clients.md §1):
 * new-api's relay (mj-api-secret, strict envelope parsing, a list-by-condition poller that reads
 * a bare array keyed by string id) and Dooy's web client (numeric ids, auto-modal, buttons found
 * by custom_id substring).
 */
import assert from 'node:assert/strict';
import { renderImage } from '../../src/sandbox/png.ts';

export interface CompatTaskJson {
  id: string;
  action: string;
  customId: string;
  status: string;
  progress: string;
  submitTime: number | null;
  startTime: number | null;
  finishTime: number | null;
  imageUrl: string | null;
  imageUrls: { url: string }[];
  videoUrl: string | null;
  videoUrls: { url: string }[];
  failReason: string | null;
  prompt: string;
  promptEn: string;
  description: string;
  state: string;
  buttons: { customId: string; emoji: string; label: string; type: number; style: number }[];
  properties: Record<string, unknown> & { finalPrompt?: string };
}

export interface SubmitResponse {
  code: number;
  description: string;
  result: string | string[] | null;
  properties: Record<string, unknown>;
}

export function pngDataUrl(seed: string, size = 64): string {
  return `data:image/png;base64,${renderImage({ seed, step: 100, width: size, height: size }).toString('base64')}`;
}

/** Raw call: status and parsed JSON body (an empty body fails the test, as it breaks clients). */
export async function mjCall(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(text.length > 0, `${path} answered an empty body (HTTP ${res.status})`);
  return { status: res.status, body: JSON.parse(text) as unknown };
}

/** new-api's custom_id parser (CoverPlusActionToNormalAction): what it lets through /submit/action. */
export function newApiAcceptsCustomId(customId: string): boolean {
  const parts = customId.split('::');
  const action = parts[1] === 'JOB' ? (parts[2] ?? '') : (parts[1] ?? '');
  return (
    action.includes('upsample') ||
    action === 'variation' ||
    action === 'low_variation' ||
    action === 'high_variation' ||
    action.includes('pan') ||
    action.includes('reroll') ||
    action === 'Outpaint' ||
    action === 'CustomZoom' ||
    action === 'Inpaint'
  );
}

/** Plays new-api's relay: forwards submits with mj-api-secret, polls list-by-condition. */
export class NewApiRelay {
  constructor(
    private readonly base: string,
    private readonly key: string,
    private readonly pollMs = 50,
  ) {}

  /** Forwards a submit as new-api does; checks what its unmarshalling needs, returns the answer. */
  async submit(path: string, body: Record<string, unknown>): Promise<SubmitResponse> {
    const forwarded = { ...body };
    delete forwarded.notifyHook;
    delete forwarded.accountFilter;
    const res = await mjCall(this.base, `/mj/submit/${path}`, forwarded, { 'mj-api-secret': this.key });
    assert.equal(res.status, 200, `new-api bills only on HTTP 200: ${JSON.stringify(res.body)}`);
    const r = res.body as SubmitResponse;
    assert.equal(typeof r.code, 'number');
    assert.equal(typeof r.description, 'string');
    if (path === 'upload-discord-images') assert.ok(Array.isArray(r.result));
    else assert.ok(r.result === null || typeof r.result === 'string', 'result must be a string');
    return r;
  }

  /** Submit that must be accepted (1/21/22 count as accepted); returns the task id. */
  async accepted(path: string, body: Record<string, unknown>, codes = [1, 22]): Promise<SubmitResponse> {
    const r = await this.submit(path, body);
    assert.ok(codes.includes(r.code), `${path}: ${JSON.stringify(r)}`);
    assert.match(String(r.result), /^\d{16}$/, 'tasks made on /mj have 16-digit ids');
    return r;
  }

  /** Polls list-by-condition until the task's progress is "100%" (new-api's idea of finished). */
  async poll(id: string, timeoutMs = 30_000): Promise<CompatTaskJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await mjCall(
        this.base,
        '/mj/task/list-by-condition',
        { ids: [id] },
        { 'mj-api-secret': this.key },
      );
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.body), 'new-api skips the batch unless the body is a bare array');
      const byId = new Map((res.body as CompatTaskJson[]).map((t) => [t.id, t]));
      assert.equal(byId.size, (res.body as unknown[]).length);
      for (const key of byId.keys()) assert.equal(typeof key, 'string');
      const t = byId.get(id);
      assert.ok(t, `task ${id} is in the answer`);
      const now = Date.now();
      assert.ok(
        t.submitTime !== null && now - t.submitTime < 3_600_000 && now - t.submitTime >= -1000,
        'ms times',
      );
      for (const k of ['startTime', 'finishTime'] as const) {
        const v = t[k];
        if (v !== null) assert.ok(Number.isInteger(v) && v > 1e12, `${k} in epoch ms`);
      }
      if (t.progress !== '100%') {
        assert.ok(!t.failReason, 'an unfinished task carries no failReason (new-api would refund it)');
      } else {
        if (t.status === 'FAILURE') assert.ok(t.failReason, 'FAILURE carries a failReason');
        return t;
      }
      if (Date.now() > deadline) throw new Error(`task ${id} not finished: ${JSON.stringify(t)}`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}

/** Checks that a URL serves an image. */
export async function assertServesImage(url: string | null): Promise<void> {
  assert.ok(url, 'an imageUrl');
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  const bytes = Buffer.from(await res.arrayBuffer());
  const png = bytes.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  const webp = bytes.subarray(8, 12).toString('latin1') === 'WEBP';
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  assert.ok(png || webp || jpeg, `${url} serves an image`);
}
