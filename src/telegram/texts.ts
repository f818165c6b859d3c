/**
 * Everything the bot says to people, composed from the message catalogues (`i18n/`): the guide,
 * the status lines of a job, and the friendly translations of engine errors and task fail reasons
 * (SPEC §7.2, §7.6, §15). Plain text only (no parse_mode), so a prompt can never break the
 * formatting of a message. Midjourney's own words (an embed's text) are passed through unchanged.
 */
import { EngineError } from '../engine/errors.ts';
import type { Task } from '../engine/task.ts';
import type { MessageKey, Tr } from './i18n/index.ts';

export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/** The commands every user sees (`setMyCommands`), and the extra ones of admins. */
const USER_COMMANDS: [string, MessageKey][] = [
  ['imagine', 'cmdImagine'],
  ['describe', 'cmdDescribe'],
  ['blend', 'cmdBlend'],
  ['settings', 'cmdSettings'],
  ['language', 'cmdLanguage'],
  ['history', 'cmdHistory'],
  ['jobs', 'cmdJobs'],
  ['cancel', 'cmdCancel'],
  ['help', 'cmdHelp'],
];
const ADMIN_COMMANDS: [string, MessageKey][] = [
  ['accounts', 'cmdAccounts'],
  ['queue', 'cmdQueue'],
];

/** Commands made known only once the engine offers them (see `extraCommands`). */
export const OPTIONAL_COMMANDS: Record<string, MessageKey> = { shorten: 'cmdShorten', seed: 'cmdSeed' };

export function commandList(
  t: Tr,
  admin: boolean,
  extra: string[] = [],
): { command: string; description: string }[] {
  const extras = extra
    .filter((c) => OPTIONAL_COMMANDS[c])
    .map((c) => [c, OPTIONAL_COMMANDS[c]] as [string, MessageKey]);
  const list = [...USER_COMMANDS.slice(0, 3), ...extras, ...USER_COMMANDS.slice(3)];
  return [...list, ...(admin ? ADMIN_COMMANDS : [])].map(([command, key]) => ({
    command,
    description: t(key),
  }));
}

export function helpText(t: Tr, admin: boolean): string {
  return admin ? `${t('help')}\n\n${t('helpAdmin')}` : t('help');
}

/** `10 MB` for the image-size refusal. */
export function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export function accountDisabled(t: Tr, id: string, reason: string | null): string {
  return t('accountDisabled', { id, reason: reason ?? t('noReason') });
}

/** Cuts a text to `max` characters, ending with an ellipsis when something was cut. */
export function cut(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** A 10-cell text progress bar. */
export function progressBar(percent: number): string {
  const p = Math.max(0, Math.min(100, percent));
  const full = Math.round(p / 10);
  return `${'▓'.repeat(full)}${'░'.repeat(10 - full)}`;
}

/** The prompt as the user wrote it: uploaded image URLs the engine put in front are left out. */
export function shownPrompt(task: Task): string {
  return task.prompt.replace(/^(?:<?https?:\/\/\S+>?\s+)+/, '').trim();
}

const ACTION_TITLE: Record<string, MessageKey> = {
  IMAGINE: 'actImagine',
  DESCRIBE: 'actDescribe',
  BLEND: 'actBlend',
  UPSCALE: 'actUpscale',
  VARIATION: 'actVariation',
  REROLL: 'actReroll',
  VARIATION_STRONG: 'actVaryStrong',
  VARIATION_SUBTLE: 'actVarySubtle',
  VARIATION_REGION: 'actVaryRegion',
  ZOOMOUT: 'actZoomOut',
  MAKE_SQUARE: 'actMakeSquare',
  ZOOMOUT_CUSTOM: 'actCustomZoom',
  PANLEFT: 'actPanLeft',
  PANRIGHT: 'actPanRight',
  PANUP: 'actPanUp',
  PANDOWN: 'actPanDown',
  UPSCALE_V5_2X: 'actUpscale2x',
  UPSCALE_V5_4X: 'actUpscale4x',
  UPSCALE_V6_2X_SUBTLE: 'actUpscaleSubtle',
  UPSCALE_V6_2X_CREATIVE: 'actUpscaleCreative',
  PIC_READER: 'actImagine',
  CANCEL_JOB: 'actCancel',
  VIDEO: 'actVideo',
  VIDEO_EXTEND: 'actVideoExtend',
  VIDEO_UPSCALE: 'actVideoUpscale',
  SHORTEN: 'actShorten',
};

/** "Upscale #2", "Variations #1", "Imagine". */
export function actionTitle(t: Tr, task: Task): string {
  const key = ACTION_TITLE[task.action];
  const base = key ? t(key) : task.action;
  const index = task.params.index;
  const withIndex = typeof index === 'number' && index > 0 && ['UPSCALE', 'VARIATION'].includes(task.action);
  return withIndex ? t('withIndex', { title: base, index }) : base;
}

/** First line of every status message: what the job is. */
export function jobHeadline(t: Tr, task: Task): string {
  const prompt = shownPrompt(task);
  const title = actionTitle(t, task);
  if (task.action === 'DESCRIBE') return t('headDescribe');
  if (task.action === 'BLEND') return t('headBlend', { count: task.images.length });
  if (task.action === 'SHORTEN') return cut(t('headShorten', { prompt }), 300);
  return cut(prompt ? t('headJob', { title, prompt }) : t('headJobBare', { title }), 300);
}

/** The state line of an unfinished job: `Queued — position 3`, `Submitted`, `Generating… 46%`. */
export function stateLine(t: Tr, task: Task): string {
  switch (task.status) {
    case 'PENDING':
      return task.queuePosition ? t('stateQueuedAt', { position: task.queuePosition }) : t('stateQueued');
    case 'STARTED':
      return t('stateStarting');
    case 'SUBMITTED':
      return t('stateSubmitted');
    case 'RUNNING': {
      const pct = percentOf(task.progress);
      return pct === null ? t('stateGenerating') : `${t('stateGeneratingPct', { pct })}\n${progressBar(pct)}`;
    }
    case 'FINISHED':
      return t('stateDone');
    case 'FAILED':
      return `❌ ${friendlyFailReason(t, task.failReason)}`;
  }
}

/** Short state for /jobs lines. */
export function shortState(t: Tr, task: Task): string {
  switch (task.status) {
    case 'PENDING':
      return task.queuePosition ? t('shortQueuedAt', { position: task.queuePosition }) : t('shortQueued');
    case 'STARTED':
      return t('shortStarting');
    case 'SUBMITTED':
      return t('shortSubmitted');
    case 'RUNNING': {
      const pct = percentOf(task.progress);
      return pct === null ? t('shortGenerating') : t('shortGeneratingPct', { pct });
    }
    case 'FINISHED':
      return t('shortFinished');
    case 'FAILED':
      return t('shortFailed');
  }
}

export function percentOf(progress: string | null): number | null {
  const m = progress ? /(\d{1,3})\s*%/.exec(progress) : null;
  return m ? Math.min(100, Number(m[1])) : null;
}

/** One line naming a task: `Upscale #2: a red fox`. */
export function taskLabel(t: Tr, task: Task, promptMax = 60): string {
  const prompt = shownPrompt(task);
  return prompt ? `${actionTitle(t, task)}: ${cut(prompt, promptMax)}` : actionTitle(t, task);
}

/** The /jobs answer. */
export function jobsList(t: Tr, tasks: Task[]): string {
  if (tasks.length === 0) return t('noJobs');
  const lines = tasks.map((task, i) => `${i + 1}. ${taskLabel(t, task)} — ${shortState(t, task)}`);
  return cut(`${t('jobsTitle')}\n${lines.join('\n')}`, TEXT_LIMIT);
}

/**
 * A task's fail reason (SPEC §6.8) as one short sentence for a person. Unknown reasons are shown
 * as they are: the engine writes them readable and one line long.
 */
export function friendlyFailReason(t: Tr, reason: string | null): string {
  const r = (reason ?? '').trim();
  if (!r) return t('failDefault');
  if (r === 'cancelled') return t('failCancelled');
  if (r === 'queue timeout') return t('failQueueTimeout');
  let m = /^timeout after (.+)$/.exec(r);
  if (m) return t('failTimeout', { after: m[1] ?? '' });
  m = /^\[([^\]]+)\]\s*(.*)$/s.exec(r);
  if (m) {
    // Midjourney's own words: shown as Midjourney wrote them.
    const title = m[1] ?? '';
    const text = cut((m[2] ?? '').replace(/\s+/g, ' ').trim(), 300);
    if (/invalid parameter/i.test(title)) return t('failInvalidParam', { text: text || title });
    return text ? t('failRefused', { title, text }) : t('failRefusedTitle', { title });
  }
  if (/^image .* is larger than/.test(r)) return t('failImageTooLarge');
  if (/^image .* is not a PNG/.test(r)) return t('failNotAnImage');
  if (/^could not fetch image/.test(r)) return t('failImageUnreadable');
  if (/^account .* unavailable/.test(r)) return t('failAccountUnavailable');
  if (/unknown message|10008/i.test(r)) return t('failGone');
  if (/^discord rejected the interaction/.test(r)) return t('failRejected');
  if (/^upload failed/.test(r)) return t('failUpload');
  return cut(t('failOther', { reason: r.replace(/\s+/g, ' ') }), 500);
}

/** The message a failed job ends with. */
export function failureText(t: Tr, task: Task): string {
  return cut(`${jobHeadline(t, task)}\n❌ ${friendlyFailReason(t, task.failReason)}`, TEXT_LIMIT);
}

/** The caption under a result image: the prompt (cut to Telegram's caption limit). */
export function resultCaption(t: Tr, task: Task): string {
  const prompt = shownPrompt(task);
  const head = task.action === 'IMAGINE' || task.action === 'PIC_READER' ? '' : `${actionTitle(t, task)}\n`;
  return cut(`${head}${prompt}`.trim(), CAPTION_LIMIT);
}

/** The text of a describe (or shorten) result: the prompts, numbered like its buttons. */
export function describeText(t: Tr, task: Task): string {
  const marks = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];
  const prompts = task.prompts.length > 0 ? task.prompts : [task.description ?? ''];
  const body = prompts.map((p, i) => `${marks[i] ?? `${i + 1}.`} ${p}`).join('\n\n');
  const head = task.action === 'SHORTEN' ? t('shortenHeader') : t('describeHeader');
  return cut(`${head}\n\n${body}`, TEXT_LIMIT);
}

/** Turns iOS/Telegram autocorrected dashes back into Midjourney parameters (`—ar` → `--ar`). */
export function normalisePrompt(text: string): string {
  return text
    .replace(/(^|\s)[—–](?=[a-z])/gi, '$1--')
    .replace(/\s+/g, ' ')
    .trim();
}

/** An error thrown by the engine (or anything else) as one sentence for a person; never a stack. */
export function friendlyError(t: Tr, err: unknown, maxJobs?: number): string {
  if (!(err instanceof EngineError)) return t('generic');
  switch (err.code) {
    case 'BANNED_WORD': {
      const word = err.details['ban-words'];
      return typeof word === 'string' ? t('errBannedWord', { word }) : t('errBannedAny');
    }
    case 'QUEUE_FULL':
      return t('errQueueFull');
    case 'NO_ACCOUNT':
      return t('errNoAccount');
    case 'NOT_FOUND':
      return t('errNotFound');
    case 'CONFLICT':
      return /already/i.test(err.message) ? t('alreadyDone') : t('errNotFinished');
    case 'USER_LIMIT':
      return maxJobs !== undefined ? t('userLimit', { max: maxJobs }) : err.message;
    case 'INVALID_INPUT':
      return cut(t('errInvalid', { reason: err.message }), 500);
    default:
      return t('generic');
  }
}
