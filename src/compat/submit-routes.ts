/**
 * `/mj/submit/*` (SPEC §12.2): every answer is HTTP 200 with the envelope. New jobs get 16-digit
 * ids and compat-shaped callbacks; buttons that need a form answer code 21 with a parked MODAL
 * task, which `/submit/modal` runs.
 */
import type { z } from 'zod';
import type { CommonInput, EngineApi } from '../engine/api.ts';
import { isAwaitingModal } from '../engine/modal-tasks.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import { type CustomIdInfo, parseCustomId, REMIXABLE_ACTIONS } from '../midjourney/index.ts';
import { CODE, type CompatAnswer, CompatError, envelope, viaEngine } from './envelope.ts';
import type { Route } from './router.ts';
import {
  actionSchema,
  blendSchema,
  changeSchema,
  describeSchema,
  imagineSchema,
  modalSchema,
  parseBody,
  shortenSchema,
  simpleChangeSchema,
  uploadSchema,
  videoSchema,
} from './schemas.ts';
import { type Speed, withSpeed } from './speed.ts';

/** The envelope of a task just handed to the engine: 1 when an account took it, 22 when it waits. */
async function accepted(engine: EngineApi, task: Task): Promise<CompatAnswer> {
  const now = (await engine.get(task.id)) ?? task;
  if (now.status === 'PENDING' && now.queuePosition) {
    return envelope(CODE.QUEUED, `In queue, there are ${now.queuePosition - 1} tasks ahead`, task.id, {
      numberOfQueues: now.queuePosition,
    });
  }
  return envelope(CODE.SUBMITTED, 'Submit success', task.id);
}

/** Inputs every compat job shares: its hook, its `state`, a 16-digit id, compat callbacks. */
function commonOf(b: { notifyHook?: string | null; state?: string | null }): CommonInput {
  return {
    ...(b.notifyHook ? { notifyUrl: b.notifyHook } : {}),
    ...(b.state !== undefined && b.state !== null ? { data: b.state } : {}),
    shortId: true,
    origin: { kind: 'compat', ...(b.notifyHook ? { notifyHook: b.notifyHook } : {}) },
  };
}

/** A new job's common inputs, with the speed of the mount it came through (SPEC §12.1). */
function newJobOf(
  b: { notifyHook?: string | null; state?: string | null },
  speed: Speed | null,
): CommonInput {
  return { ...commonOf(b), ...(speed ? { speed } : {}) };
}

/**
 * Whether a remixable click must wait for its form (code 21): the account has Midjourney's remix
 * on (reported by the engine once it knows) and does not answer remix forms by itself
 * (`accounts[].remixAutoSubmit`: the engine then fills in the parent's prompt).
 */
function remixForm(engine: EngineApi, accountId: string | null): boolean {
  const account = engine.health().accounts.find((a) => a.id === accountId);
  return account?.remix === true && account.remixAutoSubmit !== true;
}

/** The text Midjourney's form would be pre-filled with (`properties.finalPrompt` of code 21). */
export function formPrompt(parent: Task, info: CustomIdInfo): string {
  if (info.action === 'PIC_READER' || parent.action === 'SHORTEN')
    return parent.prompts[info.index - 1] ?? '';
  if (info.action === 'ZOOMOUT_CUSTOM') return `${parent.prompt.replace(/\s*--zoom\s+\S+/g, '')} --zoom 2`;
  return parent.prompt;
}

async function parentTask(engine: EngineApi, id: string): Promise<Task> {
  const parent = await viaEngine(() => engine.get(id));
  if (!parent) throw new CompatError(CODE.NOT_FOUND, `task ${id} not found`);
  return parent;
}

/** Presses a parent's button: code 21 with a parked task when it needs a form, else the job. */
async function press(
  engine: EngineApi,
  parent: Task,
  customId: string,
  b: { notifyHook?: string | null; state?: string | null },
): Promise<CompatAnswer> {
  const info = parseCustomId(customId);
  if (!info)
    throw new CompatError(CODE.INVALID, `customId ${customId} is not a Midjourney button we can press`);
  const remix = REMIXABLE_ACTIONS.has(info.action) && remixForm(engine, parent.discordId);
  const input = { taskId: parent.id, customId, ...commonOf(b) };
  if (info.step !== 'click' || remix) {
    const parked = await viaEngine(() => engine.prepare(input));
    return envelope(CODE.MODAL, 'Waiting for window confirm', parked.id, {
      finalPrompt: formPrompt(parent, info),
      remix,
    });
  }
  return accepted(engine, await viaEngine(() => engine.action(input)));
}

/** The custom_id of a parent's U/V/reroll button (`/submit/change`). */
function changeButton(parent: Task, action: 'UPSCALE' | 'VARIATION' | 'REROLL', index: number): string {
  const pattern =
    action === 'REROLL'
      ? /^MJ::JOB::reroll::0::/
      : new RegExp(`^MJ::JOB::${action === 'UPSCALE' ? 'upsample' : 'variation'}::${index}::`);
  for (const row of parent.buttons)
    for (const btn of row) if (pattern.test(btn.custom_id)) return btn.custom_id;
  const name = action === 'REROLL' ? 'reroll' : `${action === 'UPSCALE' ? 'U' : 'V'}${index}`;
  throw new CompatError(CODE.INVALID, `task ${parent.id} has no ${name} button`);
}

/**
 * `/submit/video`: a new video from a start image, or (`action: "extend"`) the parent video's
 * extend button for `index` (and `motion`, when given).
 */
async function video(
  engine: EngineApi,
  b: z.infer<typeof videoSchema>,
  speed: Speed | null,
): Promise<CompatAnswer> {
  if (b.action === 'extend') {
    if (!b.taskId) throw new CompatError(CODE.INVALID, 'taskId is required to extend a video');
    const parent = await parentTask(engine, b.taskId);
    const index = b.index || 1;
    const motion = b.motion ? `animate_${b.motion}_extend` : 'animate_(?:high|low)_extend';
    const pattern = new RegExp(`^MJ::JOB::${motion}::${index}::`);
    const button = parent.buttons.flat().find((x) => pattern.test(x.custom_id));
    if (!button)
      throw new CompatError(CODE.INVALID, `task ${parent.id} has no extend button for video ${index}`);
    return press(engine, parent, button.custom_id, b);
  }
  const image = b.image || b.base64;
  if (!image) throw new CompatError(CODE.INVALID, 'image is required (or base64)');
  if (!b.motion) throw new CompatError(CODE.INVALID, 'motion is required (low or high)');
  const prompt = withSpeed(b.prompt ?? '', speed);
  const task = await viaEngine(
    () =>
      engine.video({
        prompt,
        image,
        motion: b.motion as 'low' | 'high',
        ...(b.endImage ? { endImage: b.endImage } : {}),
        ...(b.loop ? { loop: true } : {}),
        ...(b.batchSize ? { batchSize: b.batchSize } : {}),
        ...newJobOf(b, speed),
      }),
    prompt,
  );
  return accepted(engine, task);
}

const NOT_ON_DISCORD: Record<string, string> = {
  edits: "Midjourney's editor",
  retexture: "Midjourney's retexture",
  swap: 'face swap',
};

/** The `/mj/submit/*` routes (and the face-swap route real clients call). */
export function submitRoutes(engine: EngineApi): Route[] {
  return [
    {
      pattern: /^\/mj\/submit\/imagine$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(imagineSchema, await r.body());
          const prompt = withSpeed(b.prompt, r.speed);
          const bot = b.botType === 'NIJI_JOURNEY' ? 'niji' : 'midjourney';
          const task = await viaEngine(
            () => engine.imagine({ prompt, images: b.base64Array ?? [], bot, ...newJobOf(b, r.speed) }),
            prompt,
          );
          return accepted(engine, task);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/action$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(actionSchema, await r.body());
          return press(engine, await parentTask(engine, b.taskId), b.customId, b);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/change$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(changeSchema, await r.body());
          if (b.action !== 'REROLL' && !b.index) throw new CompatError(CODE.INVALID, 'index is required');
          const parent = await parentTask(engine, b.taskId);
          return press(engine, parent, changeButton(parent, b.action, b.index ?? 0), b);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/simple-change$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(simpleChangeSchema, await r.body());
          const [id = '', what = ''] = b.content.trim().split(/\s+/);
          const kind = what.toUpperCase();
          const action = kind === 'R' ? 'REROLL' : kind.startsWith('U') ? 'UPSCALE' : 'VARIATION';
          const parent = await parentTask(engine, id);
          return press(engine, parent, changeButton(parent, action, Number(kind.slice(1)) || 0), b);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/modal$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(modalSchema, await r.body());
          const task = await parentTask(engine, b.taskId);
          if (!isAwaitingModal(task)) {
            // A second confirm of the same form (some clients send two) is not an error.
            if (!isTerminal(task.status) && task.params.customId !== undefined)
              return envelope(CODE.SUBMITTED, 'Submit success', task.id);
            throw new CompatError(CODE.INVALID, `task ${task.id} is not waiting for a form`);
          }
          const info = parseCustomId(String(task.params.customId ?? ''));
          const parent = await parentTask(engine, String(task.params.parentId ?? ''));
          const mask = b.maskBase64 || undefined;
          if (info?.action === 'VARIATION_REGION' && !mask)
            throw new CompatError(CODE.INVALID, 'maskBase64 is required for Vary (Region)');
          const prompt = b.prompt || (info ? formPrompt(parent, info) : parent.prompt);
          const form = { ...(prompt ? { prompt } : {}), ...(mask ? { mask } : {}) };
          return accepted(engine, await viaEngine(() => engine.release(task.id, form), prompt));
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/describe$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(describeSchema, await r.body());
          const image = (b.base64 || b.link) as string;
          const task = await viaEngine(() => engine.describe({ image, ...newJobOf(b, r.speed) }));
          return accepted(engine, task);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/blend$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(blendSchema, await r.body());
          const task = await viaEngine(() =>
            engine.blend({
              images: b.base64Array,
              ...(b.dimensions ? { dimensions: b.dimensions } : {}),
              ...newJobOf(b, r.speed),
            }),
          );
          return accepted(engine, task);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/shorten$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(shortenSchema, await r.body());
          const bot = b.botType === 'NIJI_JOURNEY' ? 'niji' : 'midjourney';
          // The flag stays in the shortened prompts, so the imagines picked from them keep the speed.
          const prompt = withSpeed(b.prompt, r.speed);
          const task = await viaEngine(
            () => engine.shorten({ prompt, bot, ...newJobOf(b, r.speed) }),
            prompt,
          );
          return accepted(engine, task);
        },
      },
    },
    {
      pattern: /^\/mj\/submit\/video$/,
      methods: { POST: async (r) => video(engine, parseBody(videoSchema, await r.body()), r.speed) },
    },
    {
      pattern: /^\/mj\/submit\/upload-discord-images$/,
      methods: {
        POST: async (r) => {
          const b = parseBody(uploadSchema, await r.body());
          const urls = await viaEngine(() => engine.hostImages(b.base64Array));
          return envelope(CODE.SUBMITTED, 'Success', urls);
        },
      },
    },
    {
      pattern: /^\/mj\/(?:submit\/(edits?|retexture)|insight-face\/(swap))$/,
      methods: {
        POST: async (r) => {
          const what = NOT_ON_DISCORD[r.params[0]?.replace(/^edit$/, 'edits') ?? r.params[1] ?? ''] ?? '';
          return envelope(
            CODE.FAILED,
            `${what || 'this task'} cannot be done through Discord: Midjourney offers it only on its website`,
          );
        },
      },
    },
  ];
}
