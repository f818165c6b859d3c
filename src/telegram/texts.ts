/**
 * Everything the bot says to people: the guide, the status lines of a job, and the friendly
 * translations of engine errors and task fail reasons (SPEC §7.2, §7.6). Plain text only (no
 * parse_mode), so a prompt can never break the formatting of a message.
 */
import { EngineError } from '../engine/errors.ts';
import type { Task } from '../engine/task.ts';

export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

export const HELP = [
  'I draw pictures with Midjourney.',
  '',
  '• Send a prompt (in groups: /imagine <prompt>) to get four images.',
  '• A photo with a caption uses the photo in the prompt; /imagine as a reply to a photo does the same.',
  '• A photo with the caption /describe (or /describe as a reply to a photo) gives four prompts for it.',
  '• An album of 2–5 photos with the caption /blend (add portrait, square or landscape) blends them.',
  '• /jobs lists your unfinished jobs; /cancel stops the latest one (or the one you reply to).',
  '',
  'Press the buttons under a result to upscale, vary, zoom or pan it.',
].join('\n');

export const COMMANDS = [
  { command: 'imagine', description: 'Draw four images from a prompt' },
  { command: 'describe', description: 'Four prompts for a photo (reply to it or use as caption)' },
  { command: 'blend', description: 'Blend 2–5 photos (album caption)' },
  { command: 'jobs', description: 'Your unfinished jobs' },
  { command: 'cancel', description: 'Cancel your latest job (or the one you reply to)' },
  { command: 'help', description: 'How to use this bot' },
];

export const T = {
  notAllowed: 'Sorry, this bot is private and you are not on its list of users.',
  notAllowedToast: 'Sorry, you are not allowed to use this bot.',
  expired: 'This button has expired',
  notYours: 'Only the person who started this job can use its buttons.',
  notYoursCancel: 'Only the person who started this job can cancel it.',
  working: 'Working on it…',
  cancelling: 'Cancelling…',
  noJobs: 'You have no unfinished jobs.',
  nothingToCancel: 'You have no unfinished job to cancel.',
  alreadyDone: 'That job has already finished.',
  notAJob: 'That message is not one of your jobs.',
  promptMissing: 'Please add a prompt, e.g. /imagine a lighthouse at dawn',
  photoHint: 'Add a caption to the photo: your prompt, or /describe to get prompts for it.',
  albumHint: 'Add the caption /blend to an album of 2–5 photos to blend them.',
  blendCount: 'Blend needs an album of 2 to 5 photos.',
  blendSingle: 'Blend needs an album of 2 to 5 photos, not a single photo.',
  describeOne: 'Describe takes a single photo, not an album.',
  describeWhat: 'Send a photo with the caption /describe, or reply to a photo with /describe.',
  tooManyImages: 'At most 5 photos can go into a prompt.',
  imageTooLarge: 'That image is too large.',
  imageUnreadable: 'I could not download that image from Telegram. Please send it again.',
  notAnImage: 'That file is not an image.',
  zoomAsk:
    'Custom Zoom: reply with a zoom between 1 and 2, optionally followed by a new prompt (e.g. 1.5 a castle at dusk).',
  zoomPlaceholder: '1.5 a castle at dusk',
  zoomInvalid: 'Please reply with a zoom between 1 and 2, e.g. 1.5',
  generic: 'Something went wrong on our side. Please try again in a moment.',
  cancelled: 'Job cancelled.',
} as const;

export function userLimit(max: number): string {
  return `You already have ${max} unfinished job${max === 1 ? '' : 's'}. Please wait until one finishes (see /jobs).`;
}

export function accountDisabled(id: string, reason: string | null): string {
  return `⚠️ Midjourney account ${id} was disabled: ${reason ?? 'no reason given'}. Its jobs failed; it comes back after a restart.`;
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

const ACTION_TITLE: Record<string, string> = {
  IMAGINE: 'Imagine',
  DESCRIBE: 'Describe',
  BLEND: 'Blend',
  UPSCALE: 'Upscale',
  VARIATION: 'Variations',
  REROLL: 'Reroll',
  VARIATION_STRONG: 'Vary (Strong)',
  VARIATION_SUBTLE: 'Vary (Subtle)',
  VARIATION_REGION: 'Vary (Region)',
  ZOOMOUT: 'Zoom Out',
  MAKE_SQUARE: 'Make Square',
  ZOOMOUT_CUSTOM: 'Custom Zoom',
  PANLEFT: 'Pan Left',
  PANRIGHT: 'Pan Right',
  PANUP: 'Pan Up',
  PANDOWN: 'Pan Down',
  UPSCALE_V5_2X: 'Upscale (2x)',
  UPSCALE_V5_4X: 'Upscale (4x)',
  UPSCALE_V6_2X_SUBTLE: 'Upscale (Subtle)',
  UPSCALE_V6_2X_CREATIVE: 'Upscale (Creative)',
  PIC_READER: 'Imagine',
  CANCEL_JOB: 'Cancel',
};

/** "Upscale #2", "Variations #1", "Imagine". */
export function actionTitle(task: Task): string {
  const base = ACTION_TITLE[task.action] ?? task.action;
  const index = task.params.index;
  const withIndex = typeof index === 'number' && index > 0 && ['UPSCALE', 'VARIATION'].includes(task.action);
  return withIndex ? `${base} #${index}` : base;
}

/** First line of every status message: what the job is. */
export function jobHeadline(task: Task): string {
  const prompt = shownPrompt(task);
  const title = actionTitle(task);
  if (task.action === 'DESCRIBE') return '🔎 Describe';
  if (task.action === 'BLEND') return `🧪 Blend of ${task.images.length} images`;
  return cut(prompt ? `🎨 ${title}: ${prompt}` : `🎨 ${title}`, 300);
}

/** The state line of an unfinished job: `Queued — position 3`, `Submitted`, `Generating… 46%`. */
export function stateLine(task: Task): string {
  switch (task.status) {
    case 'PENDING':
      return task.queuePosition ? `⏳ Queued — position ${task.queuePosition}` : '⏳ Queued';
    case 'STARTED':
      return '🚀 Starting…';
    case 'SUBMITTED':
      return '📨 Submitted';
    case 'RUNNING': {
      const pct = percentOf(task.progress);
      return pct === null ? '🖌 Generating…' : `🖌 Generating… ${pct}%\n${progressBar(pct)}`;
    }
    case 'FINISHED':
      return '✅ Done';
    case 'FAILED':
      return `❌ ${friendlyFailReason(task.failReason)}`;
  }
}

/** Short state for /jobs lines. */
export function shortState(task: Task): string {
  if (task.status === 'PENDING')
    return task.queuePosition ? `queued, position ${task.queuePosition}` : 'queued';
  if (task.status === 'RUNNING') {
    const pct = percentOf(task.progress);
    return pct === null ? 'generating' : `generating ${pct}%`;
  }
  return task.status.toLowerCase();
}

export function percentOf(progress: string | null): number | null {
  const m = progress ? /(\d{1,3})\s*%/.exec(progress) : null;
  return m ? Math.min(100, Number(m[1])) : null;
}

/** The /jobs answer. */
export function jobsList(tasks: Task[]): string {
  if (tasks.length === 0) return T.noJobs;
  const lines = tasks.map((t, i) => {
    const prompt = shownPrompt(t);
    const what = prompt ? `${actionTitle(t)}: ${cut(prompt, 60)}` : actionTitle(t);
    return `${i + 1}. ${what} — ${shortState(t)}`;
  });
  return cut(`Your unfinished jobs:\n${lines.join('\n')}`, TEXT_LIMIT);
}

/**
 * A task's fail reason (SPEC §6.8) as one short sentence for a person. Unknown reasons are shown
 * as they are: the engine writes them readable and one line long.
 */
export function friendlyFailReason(reason: string | null): string {
  const r = (reason ?? '').trim();
  if (!r) return 'The job failed.';
  if (r === 'cancelled') return 'Cancelled.';
  if (r === 'queue timeout') return 'The job waited too long in the queue. Please try again.';
  let m = /^timeout after (.+)$/.exec(r);
  if (m) return `Timed out: Midjourney gave no result within ${m[1]}.`;
  m = /^\[([^\]]+)\]\s*(.*)$/s.exec(r);
  if (m) {
    const title = m[1] ?? '';
    const text = cut((m[2] ?? '').replace(/\s+/g, ' ').trim(), 300);
    if (/invalid parameter/i.test(title)) return `Invalid parameter: ${text || title}`;
    return `Midjourney refused the prompt: ${title}${text ? ` — ${text}` : ''}`;
  }
  if (/^image .* is larger than/.test(r)) return 'The image is too large.';
  if (/^image .* is not a PNG/.test(r))
    return 'That file is not an image Midjourney can use (PNG, JPEG, WEBP or GIF).';
  if (/^could not fetch image/.test(r)) return 'The image could not be read.';
  if (/^account .* unavailable/.test(r))
    return 'The Midjourney account became unavailable. Please try again later.';
  if (/^discord rejected the interaction/.test(r))
    return 'Midjourney could not start the job. Please try again later.';
  if (/^upload failed/.test(r)) return 'Uploading the image to Midjourney failed. Please try again.';
  return cut(`The job failed: ${r.replace(/\s+/g, ' ')}`, 500);
}

/** The message a failed job ends with. */
export function failureText(task: Task): string {
  return cut(`${jobHeadline(task)}\n❌ ${friendlyFailReason(task.failReason)}`, TEXT_LIMIT);
}

/** The caption under a result image: the prompt (cut to Telegram's caption limit). */
export function resultCaption(task: Task): string {
  const prompt = shownPrompt(task);
  const head = task.action === 'IMAGINE' || task.action === 'PIC_READER' ? '' : `${actionTitle(task)}\n`;
  return cut(`${head}${prompt}`.trim(), CAPTION_LIMIT);
}

/** The text of a describe result: the four prompts, numbered like its buttons. */
export function describeText(task: Task): string {
  const marks = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣'];
  const prompts = task.prompts.length > 0 ? task.prompts : [task.description ?? ''];
  const body = prompts.map((p, i) => `${marks[i] ?? `${i + 1}.`} ${p}`).join('\n\n');
  return cut(`🔎 Prompts for your image — press a number to imagine one:\n\n${body}`, TEXT_LIMIT);
}

/** Turns iOS/Telegram autocorrected dashes back into Midjourney parameters (`—ar` → `--ar`). */
export function normalisePrompt(text: string): string {
  return text
    .replace(/(^|\s)[—–](?=[a-z])/gi, '$1--')
    .replace(/\s+/g, ' ')
    .trim();
}

/** An error thrown by the engine (or anything else) as one sentence for a person; never a stack. */
export function friendlyError(err: unknown): string {
  if (!(err instanceof EngineError)) return T.generic;
  switch (err.code) {
    case 'BANNED_WORD': {
      const word = err.details['ban-words'];
      return typeof word === 'string'
        ? `Your prompt contains the banned word “${word}”. Please rephrase it.`
        : 'Your prompt contains a banned word. Please rephrase it.';
    }
    case 'QUEUE_FULL':
      return 'The queue is full right now. Please try again in a few minutes.';
    case 'NO_ACCOUNT':
      return 'No Midjourney account is available at the moment. Please try again later.';
    case 'NOT_FOUND':
      return 'That job no longer exists.';
    case 'CONFLICT':
      return /already/i.test(err.message) ? T.alreadyDone : 'That job is not finished yet.';
    case 'USER_LIMIT':
      return err.message;
    case 'INVALID_INPUT':
      return cut(err.message.charAt(0).toUpperCase() + err.message.slice(1), 500);
    default:
      return T.generic;
  }
}
