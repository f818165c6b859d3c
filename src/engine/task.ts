/**
 * The task: what `/task/fetch` returns and `notifyUrl` receives (SPEC §3.1, fields in this order),
 * plus engine-private bookkeeping kept beside it in the store.
 */
import { z } from 'zod';
import { ACTIONS } from '../midjourney/actions.ts';

export const TASK_STATUSES = ['PENDING', 'STARTED', 'SUBMITTED', 'RUNNING', 'FINISHED', 'FAILED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const buttonSchema = z.looseObject({
  type: z.number(),
  style: z.number().optional(),
  label: z.string().optional(),
  emoji: z.looseObject({ name: z.string().optional(), id: z.string().nullable().optional() }).optional(),
  custom_id: z.string(),
});
export type TaskButton = z.infer<typeof buttonSchema>;

/** The public task JSON (§3.1). */
export const taskSchema = z.object({
  id: z.string(),
  action: z.enum(ACTIONS),
  status: z.enum(TASK_STATUSES),
  submitTime: z.number().nullable(),
  startTime: z.number().nullable(),
  finishTime: z.number().nullable(),
  progress: z.string().nullable(),
  imageUrl: z.string().nullable(),
  imageRawUrl: z.string().nullable(),
  prompt: z.string(),
  finalPrompt: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  images: z.array(z.string()),
  description: z.string().nullable(),
  prompts: z.array(z.string()),
  failReason: z.string().nullable(),
  messageHash: z.string().nullable(),
  messageId: z.string().nullable(),
  discordId: z.string().nullable(),
  queuePosition: z.number().nullable(),
  data: z.unknown(),
  buttons: z.array(z.array(buttonSchema)),
  /** Stored images (§6.7): a grid's four quadrants, or the one image; `[]` before. */
  imageUrls: z.array(z.object({ url: z.string(), thumbnail: z.string().nullable() })),
  thumbnailUrl: z.string().nullable(),
  /** Video results (§14). */
  videoUrl: z.string().nullable(),
  videoUrls: z.array(z.object({ url: z.string() })),
  seed: z.string().nullable(),
  /** Which Midjourney bot runs the task (§14). */
  bot: z.enum(['midjourney', 'niji']),
});
export type Task = z.infer<typeof taskSchema>;

export function isTerminal(status: TaskStatus): boolean {
  return status === 'FINISHED' || status === 'FAILED';
}

/** A task that has only just been asked for: every result field empty. */
export function blankTask(id: string, action: Task['action']): Task {
  return {
    id,
    action,
    status: 'PENDING',
    submitTime: null,
    startTime: null,
    finishTime: null,
    progress: null,
    imageUrl: null,
    imageRawUrl: null,
    prompt: '',
    finalPrompt: null,
    params: {},
    images: [],
    description: null,
    prompts: [],
    failReason: null,
    messageHash: null,
    messageId: null,
    discordId: null,
    queuePosition: null,
    data: null,
    buttons: [],
    imageUrls: [],
    thumbnailUrl: null,
    videoUrl: null,
    videoUrls: [],
    seed: null,
    bot: 'midjourney',
  };
}

/**
 * A task as stored by an older version may lack fields added since: fill them with their blank
 * values (in §3.1 order) so every reader sees the whole shape.
 */
export function withDefaults(task: Task): Task {
  const blank = blankTask(task.id, task.action);
  const out = { ...blank } as Record<string, unknown>;
  for (const key of Object.keys(blank)) {
    const value = (task as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as Task;
}
