import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Service, startService } from '../helpers/service.ts';
import {
  assertServesImage,
  type CompatTaskJson,
  mjCall,
  pngDataUrl,
  type SubmitResponse,
} from './clients.ts';

const KEY = 'dooy-key';

/**
 * Plays Dooy's chatgpt-web-midjourney-proxy (src/api/mjapi.ts): mj-api-secret, numeric ids where it
 * keeps them as numbers, an automatic /submit/modal on code 21 or a description with "confirm",
 * buttons found by custom_id substring, GET /task/{id}/fetch polled until SUCCESS/FAILURE/100%.
 */
class DooyClient {
  constructor(private readonly base: string) {}

  private async post(path: string, body: unknown): Promise<SubmitResponse> {
    const res = await mjCall(this.base, `/mj${path}`, body, { 'mj-api-secret': KEY });
    assert.ok(res.status >= 200 && res.status < 300, `${path}: HTTP ${res.status}`);
    return res.body as SubmitResponse;
  }

  /** A submit with Dooy's follow-through: a form is confirmed at once. Returns the task id as a number. */
  async submit(path: string, body: Record<string, unknown>): Promise<number> {
    let r = await this.post(path, body);
    if (path === '/submit/action' && r.description.includes('confirm')) {
      r = await this.post('/submit/modal', { taskId: r.result, prompt: r.properties.finalPrompt });
    } else if (r.code === 21) {
      r = await this.post('/submit/modal', { taskId: r.result });
    }
    assert.ok(r.code === 1 || r.code === 22, `${path}: ${JSON.stringify(r)}`);
    const id = Number(r.result);
    assert.equal(String(id), r.result, 'the id stays exact as a JavaScript number');
    return id;
  }

  async poll(id: number): Promise<CompatTaskJson> {
    for (let i = 0; i < 400; i++) {
      const res = await mjCall(this.base, `/mj/task/${id}/fetch`, undefined, { 'mj-api-secret': KEY });
      assert.equal(res.status, 200);
      const t = res.body as CompatTaskJson;
      if (t.status === 'SUCCESS' || t.status === 'FAILURE' || t.progress === '100%') return t;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`task ${id} did not finish`);
  }

  /** Its batch refresh: list-by-condition with numeric ids. */
  async list(ids: number[]): Promise<CompatTaskJson[]> {
    const res = await mjCall(this.base, '/mj/task/list-by-condition', { ids }, { 'mj-api-secret': KEY });
    assert.equal(res.status, 200);
    return res.body as CompatTaskJson[];
  }

  static find(t: CompatTaskJson, part: string): string {
    const b = t.buttons.find((x) => x.customId.includes(part));
    assert.ok(b, `no ${part} button on ${t.id}`);
    return b.customId;
  }
}

describe("Dooy's web client against /mj", () => {
  let svc: Service;
  let dooy: DooyClient;
  let grid: CompatTaskJson;
  let upscale: CompatTaskJson;

  before(async () => {
    svc = await startService({ speed: 300, settings: { secret: KEY } });
    dooy = new DooyClient(svc.app.url);
  });
  after(async () => {
    await svc.close();
  });

  test('imagine with its body, polled by fetch; list-by-condition with numeric ids', async () => {
    const id = await dooy.submit('/submit/imagine', {
      base64Array: [],
      notifyHook: '',
      prompt: 'a paper boat on a river',
      state: '',
      botType: 'MID_JOURNEY',
    });
    grid = await dooy.poll(id);
    assert.equal(grid.status, 'SUCCESS', grid.failReason ?? '');
    assert.equal(grid.imageUrls.length, grid.imageUrls.length, 'imageUrls is an array');
    await assertServesImage(grid.imageUrl);
    const [listed] = await dooy.list([id, 1234567890123456]);
    assert.equal(listed?.id, String(id));
    assert.equal(listed?.status, 'SUCCESS');
  });

  test('U2 via /submit/change with a numeric taskId; custom zoom auto-confirmed by "confirm"', async () => {
    const u = await dooy.submit('/submit/change', { action: 'UPSCALE', index: 2, taskId: Number(grid.id) });
    upscale = await dooy.poll(u);
    assert.equal(upscale.status, 'SUCCESS', upscale.failReason ?? '');
    assert.equal(upscale.customId, DooyClient.find(grid, ':upsample::2'));
    const z = await dooy.submit('/submit/action', {
      customId: DooyClient.find(upscale, 'CustomZoom::'),
      taskId: upscale.id,
    });
    const zoom = await dooy.poll(z);
    assert.equal(zoom.status, 'SUCCESS', zoom.failReason ?? '');
    assert.equal(zoom.action, 'ZOOM');
    assert.ok(zoom.prompt.includes('--zoom 2'), zoom.prompt);
  });

  test('buttons found by substring run: V1, reroll, vary strong, zoom out 2x, pan', async () => {
    const picks: [CompatTaskJson, string, string][] = [
      [grid, ':variation::1', 'VARIATION'],
      [grid, 'reroll::0', 'REROLL'],
      [upscale, 'high_variation', 'VARIATION'],
      [upscale, 'Outpaint::50', 'ZOOM'],
      [upscale, 'pan_left', 'PAN'],
    ];
    for (const [parent, part, action] of picks) {
      const t = await dooy.poll(
        await dooy.submit('/submit/action', { customId: DooyClient.find(parent, part), taskId: parent.id }),
      );
      assert.equal(t.status, 'SUCCESS', `${part}: ${t.failReason}`);
      assert.equal(t.action, action);
    }
  });

  test('describe, then PicReader::3 (code 21 → modal without a prompt) imagines the third prompt', async () => {
    const d = await dooy.poll(await dooy.submit('/submit/describe', { base64: pngDataUrl('dooy-describe') }));
    assert.equal(d.status, 'SUCCESS', d.failReason ?? '');
    const r = (
      await mjCall(
        svc.app.url,
        '/mj/submit/action',
        { customId: DooyClient.find(d, 'Job::PicReader::3'), taskId: Number(d.id) },
        { 'mj-api-secret': KEY },
      )
    ).body as SubmitResponse;
    assert.equal(r.code, 21);
    const seedTask = await svc.app.engine.get(d.id);
    assert.equal(r.properties.finalPrompt, seedTask?.prompts[2]);
    const modal = (
      await mjCall(svc.app.url, '/mj/submit/modal', { taskId: Number(r.result) }, { 'mj-api-secret': KEY })
    ).body as SubmitResponse;
    assert.equal(modal.code, 1, JSON.stringify(modal));
    const t = await dooy.poll(Number(r.result));
    assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
    assert.equal(t.prompt, seedTask?.prompts[2]);
  });
  test('with remix on, V1 answers code 21 with remix: true; the modal runs it with the new prompt', async () => {
    const account = svc.app.engine.accounts.get(grid.properties.discordInstanceId as string);
    assert.ok(account);
    account.remix = true;
    try {
      const r = (
        await mjCall(
          svc.app.url,
          '/mj/submit/action',
          { customId: DooyClient.find(grid, ':variation::1'), taskId: grid.id },
          { 'mj-api-secret': KEY },
        )
      ).body as SubmitResponse;
      assert.equal(r.code, 21, JSON.stringify(r));
      assert.equal(r.properties.remix, true);
      assert.equal(r.properties.finalPrompt, 'a paper boat on a river');
      const id = await dooy.submit('/submit/modal', { taskId: r.result, prompt: 'a paper boat on a lake' });
      const t = await dooy.poll(id);
      assert.equal(t.status, 'SUCCESS', t.failReason ?? '');
      assert.equal(t.action, 'VARIATION');
      assert.equal(t.prompt, 'a paper boat on a lake');
    } finally {
      account.remix = false;
    }
  });
});
