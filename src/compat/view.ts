/**
 * The compat task (SPEC §12.3): the engine's task as the novicezk / mj-plus clients read it —
 * their status and action names, epoch-millisecond times, `"100%"` on every final status, a
 * non-empty `failReason` on FAILURE and CANCEL, flat `{customId, emoji, label, type, style}`
 * buttons and the `properties` bag. Fetch, lists and `notifyHook` callbacks all carry this shape.
 */
import type { TaskFacts } from '../engine/api.ts';
import { isAwaitingModal } from '../engine/modal-tasks.ts';
import type { Task } from '../engine/task.ts';
import type { Action } from '../midjourney/actions.ts';

export type CompatStatus =
  | 'NOT_START'
  | 'SUBMITTED'
  | 'MODAL'
  | 'IN_PROGRESS'
  | 'SUCCESS'
  | 'FAILURE'
  | 'CANCEL';

export type CompatAction =
  | 'IMAGINE'
  | 'UPSCALE'
  | 'VARIATION'
  | 'REROLL'
  | 'ZOOM'
  | 'PAN'
  | 'DESCRIBE'
  | 'BLEND'
  | 'SHORTEN'
  | 'VIDEO'
  | 'VIDEO_EXTEND'
  | 'VIDEO_UPSCALE'
  | 'CANCEL';

export type BotType = 'MID_JOURNEY' | 'NIJI_JOURNEY';

export interface CompatButton {
  customId: string;
  emoji: string;
  label: string;
  type: number;
  style: number;
}

export interface CompatTask {
  id: string;
  action: CompatAction;
  customId: string;
  botType: BotType;
  prompt: string;
  promptEn: string;
  description: string;
  state: string;
  submitTime: number | null;
  startTime: number | null;
  finishTime: number | null;
  imageUrl: string | null;
  imageUrls: { url: string; thumbnail: string | null }[];
  videoUrl: string | null;
  videoUrls: { url: string }[];
  status: CompatStatus;
  progress: string;
  failReason: string | null;
  buttons: CompatButton[];
  properties: Record<string, unknown>;
  seed: string | null;
}

const ACTION_NAMES: Record<Action, CompatAction> = {
  IMAGINE: 'IMAGINE',
  DESCRIBE: 'DESCRIBE',
  BLEND: 'BLEND',
  UPSCALE: 'UPSCALE',
  UPSCALE_V5_2X: 'UPSCALE',
  UPSCALE_V5_4X: 'UPSCALE',
  UPSCALE_V6_2X_SUBTLE: 'UPSCALE',
  UPSCALE_V6_2X_CREATIVE: 'UPSCALE',
  VARIATION: 'VARIATION',
  VARIATION_STRONG: 'VARIATION',
  VARIATION_SUBTLE: 'VARIATION',
  VARIATION_REGION: 'VARIATION',
  REROLL: 'REROLL',
  ZOOMOUT: 'ZOOM',
  MAKE_SQUARE: 'ZOOM',
  ZOOMOUT_CUSTOM: 'ZOOM',
  PANLEFT: 'PAN',
  PANRIGHT: 'PAN',
  PANUP: 'PAN',
  PANDOWN: 'PAN',
  // Picking a described (or shortened) prompt imagines it.
  PIC_READER: 'IMAGINE',
  CANCEL_JOB: 'CANCEL',
  SHORTEN: 'SHORTEN',
  VIDEO: 'VIDEO',
  VIDEO_EXTEND: 'VIDEO_EXTEND',
  VIDEO_UPSCALE: 'VIDEO_UPSCALE',
};

/** The compat name of an engine action (unknown future actions keep their own name). */
export function compatAction(action: Action): CompatAction {
  return ACTION_NAMES[action] ?? (action as CompatAction);
}

/** The compat status of a task: MODAL while it waits for its form, CANCEL when cancelled. */
export function compatStatus(task: Task): CompatStatus {
  switch (task.status) {
    case 'PENDING':
      return isAwaitingModal(task) ? 'MODAL' : 'NOT_START';
    case 'STARTED':
    case 'SUBMITTED':
      return 'SUBMITTED';
    case 'RUNNING':
      return 'IN_PROGRESS';
    case 'FINISHED':
      return 'SUCCESS';
    case 'FAILED':
      return task.failReason === 'cancelled' ? 'CANCEL' : 'FAILURE';
  }
}

/**
 * The submit time in epoch milliseconds. Both id forms begin with the creation time in ms (19
 * digits: seconds then milliseconds; 16 digits: milliseconds), which is finer than the stored
 * seconds; it is used when it agrees with them.
 */
function submitMs(task: Task): number | null {
  if (task.submitTime === null) return null;
  const fromId = Number(task.id.slice(0, 13));
  return Math.floor(fromId / 1000) === task.submitTime ? fromId : task.submitTime * 1000;
}

/**
 * Start and finish are stored in seconds: in ms they are the start of that second, raised to the
 * time before them when that is later (a task started in the second it was submitted in), so the
 * three times stay in order.
 */
function laterMs(seconds: number | null, earlier: number | null): number | null {
  if (seconds === null) return null;
  return Math.max(seconds * 1000, earlier ?? 0);
}

function statusLine(task: Task, status: CompatStatus): string {
  if ((task.action === 'DESCRIBE' || task.action === 'SHORTEN') && task.description) return task.description;
  switch (status) {
    case 'MODAL':
      return 'Waiting for window confirm';
    case 'NOT_START':
      return task.queuePosition ? `In queue, position ${task.queuePosition}` : 'In queue';
    case 'SUBMITTED':
      return 'Submit success';
    case 'IN_PROGRESS':
      return 'In progress';
    case 'SUCCESS':
      return 'Success';
    case 'CANCEL':
      return 'Cancelled';
    case 'FAILURE':
      return task.failReason ?? 'Failed';
  }
}

/** `botType` of the compat API for the engine's `bot`. */
export function botTypeOf(task: Task): BotType {
  return task.bot === 'niji' ? 'NIJI_JOURNEY' : 'MID_JOURNEY';
}

/** Midjourney's buttons in their order, flattened; the first one carries the job hash. */
export function compatButtons(task: Task): CompatButton[] {
  return task.buttons.flat().map((b) => ({
    customId: b.custom_id,
    emoji: b.emoji?.name ?? '',
    label: b.label ?? '',
    type: 2,
    style: b.style ?? 2,
  }));
}

/**
 * The compat task of an engine task; `facts` (what the engine knows beside the task JSON) fill
 * the Discord side of `properties` — nonce, flags, progress message, the bot's text, the hook.
 */
export function compatTask(task: Task, facts?: TaskFacts): CompatTask {
  const status = compatStatus(task);
  const final = status === 'SUCCESS' || status === 'FAILURE' || status === 'CANCEL';
  const text = task.action === 'DESCRIBE' || task.action === 'SHORTEN' ? task.description : null;
  const finalPrompt = text ?? task.finalPrompt ?? task.prompt;
  const failReason =
    status === 'FAILURE' || status === 'CANCEL'
      ? task.failReason || (status === 'CANCEL' ? 'cancelled' : 'failed')
      : null;
  const submitTime = submitMs(task);
  const startTime = laterMs(task.startTime, submitTime);
  return {
    id: task.id,
    action: compatAction(task.action),
    customId: typeof task.params.customId === 'string' ? task.params.customId : '',
    botType: botTypeOf(task),
    prompt: task.prompt,
    promptEn: task.prompt,
    description: statusLine(task, status),
    state: typeof task.data === 'string' ? task.data : '',
    submitTime,
    startTime,
    finishTime: laterMs(task.finishTime, startTime ?? submitTime),
    imageUrl: task.imageUrl,
    imageUrls: task.imageUrls,
    videoUrl: task.videoUrl,
    videoUrls: task.videoUrls,
    status,
    progress: final ? '100%' : (task.progress ?? '0%'),
    failReason,
    buttons: compatButtons(task),
    properties: {
      finalPrompt,
      finalZhPrompt: finalPrompt,
      messageHash: task.messageHash,
      messageId: task.messageId,
      nonce: facts?.nonce ?? null,
      flags: facts?.flags ?? 0,
      progressMessageId: facts?.progressMessageId ?? null,
      discordInstanceId: task.discordId,
      discordChannelId: task.discordId,
      botType: botTypeOf(task),
      notifyHook: facts?.origin?.kind === 'compat' ? (facts.origin.notifyHook ?? null) : null,
      messageContent: facts?.messageContent ?? null,
      ...(typeof task.params.parentId === 'string' ? { parentId: task.params.parentId } : {}),
      ...(isAwaitingModal(task) ? { needModel: true } : {}),
    },
    seed: task.seed,
  };
}
