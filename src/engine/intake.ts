/**
 * Intake: what a request must mean before it becomes a task (a follow-up's parent and button,
 * the prompt rules of custom zoom, vary region and PicReader), and the new task's record.
 */
import type { Action } from '../midjourney/actions.ts';
import { parseCustomId } from '../midjourney/index.ts';
import type { ActionInput, CommonInput } from './api.ts';
import { EngineError } from './errors.ts';
import { AWAITING_MODAL, followUpPrompt } from './modal-tasks.ts';
import type { TaskRecord } from './store.ts';
import { blankTask, type Task } from './task.ts';

/** What a new task is made of, beside its action and the caller's common input. */
export interface TaskSpec {
  prompt: string;
  images: string[];
  params: Record<string, unknown>;
  pinnedTo?: string | null;
  parent?: TaskRecord;
  mask?: string | undefined;
  dimensions?: string | undefined;
  customPrompt?: string | undefined;
  /** Prepared, not queued: waits for its form (MODAL) outside the queue. */
  park?: boolean;
  /** Which Midjourney bot runs it (SPEC §14); follow-ups take their parent's. */
  bot?: Task['bot'];
}

/**
 * Checks a button press on a FINISHED parent and returns the new task's action and spec.
 * `checkPrompt` throws for a banned word. CANCEL_JOB is the engine's (it acts on a running task).
 */
export function actionSpec(
  parent: TaskRecord,
  input: ActionInput,
  checkPrompt: (prompt: string) => void,
  /** Prepared for a form filled later (MODAL): the prompt is checked at release instead. */
  park = false,
): { action: Action; spec: TaskSpec } {
  const info = parseCustomId(input.customId);
  if (!info)
    throw new EngineError(
      'INVALID_INPUT',
      `customId ${input.customId} is not a Midjourney button we can press`,
    );
  if (parent.task.status !== 'FINISHED') {
    throw new EngineError('CONFLICT', `task ${parent.task.id} is ${parent.task.status}, not FINISHED`);
  }
  const onTask = parent.task.buttons.some((row) => row.some((b) => b.custom_id === input.customId));
  if (!onTask)
    throw new EngineError('INVALID_INPUT', `customId is not one of task ${parent.task.id}'s buttons`);
  const prompt = park ? '' : followUpPrompt(info, input, parent.task);
  if (prompt) checkPrompt(prompt);
  return {
    action: info.action,
    spec: {
      prompt: prompt || parent.task.prompt,
      images: [],
      params: {
        customId: input.customId,
        parentId: parent.task.id,
        index: info.index,
        ...(park ? { [AWAITING_MODAL]: true } : {}),
      },
      pinnedTo: parent.task.discordId,
      parent,
      mask: input.mask,
      customPrompt: prompt || undefined,
      park,
      bot: parent.task.bot,
    },
  };
}

/** The record of a new PENDING task. */
export function newRecord(
  id: string,
  action: Action,
  input: CommonInput,
  spec: TaskSpec,
  seq: number,
  defaultNotifyUrl: string,
  now: number,
): TaskRecord {
  const task: Task = {
    ...blankTask(id, action),
    submitTime: Math.floor(now / 1000),
    prompt: spec.prompt,
    params: spec.params,
    images: spec.images.map(describeImageInput),
    discordId: spec.pinnedTo ?? null,
    data: input.data === undefined ? null : input.data,
    bot: spec.bot ?? 'midjourney',
  };
  const rec: TaskRecord = {
    task,
    meta: {
      seq,
      accountId: spec.pinnedTo ?? null,
      nonce: null,
      interactionId: null,
      progressMessageId: null,
      progressFlags: 0,
      messageFlags: 0,
      parentMessageId: spec.parent?.task.messageId ?? null,
      parentHash: spec.parent?.task.messageHash ?? null,
      cancelRequested: false,
      notifyUrl: input.notifyUrl || defaultNotifyUrl || null,
      ...(input.origin ? { origin: input.origin } : {}),
      queuedAtMs: now,
      startedAtMs: null,
      inputImages: spec.images,
      ...(spec.mask ? { mask: spec.mask } : {}),
      ...(spec.dimensions ? { dimensions: spec.dimensions } : {}),
    },
  };
  const speed = spec.parent ? spec.parent.meta.speed : input.speed;
  if (speed) rec.meta.speed = speed;
  if (spec.parent) rec.meta.messageFlags = spec.parent.meta.messageFlags;
  return rec;
}

/** How an input image is listed on the task: URLs as they are, data URIs by type and size. */
export function describeImageInput(url: string): string {
  const m = /^data:([^;,]+)([^,]*),(.*)$/s.exec(url);
  if (!m) return url;
  const body = m[3] ?? '';
  // The decoded size: base64 padding ('=') carries no byte.
  const bytes = Buffer.byteLength(body, /;base64$/i.test(m[2] ?? '') ? 'base64' : 'utf8');
  return `data:${m[1]};${bytes} bytes`;
}
