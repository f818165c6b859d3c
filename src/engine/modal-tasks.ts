/**
 * Follow-up inputs and parked tasks (SPEC §12.1–§12.2, MODAL).
 *
 * A follow-up whose button opens a form (custom zoom, vary region, PicReader, a remix) can be
 * *prepared* before the caller has filled that form: the task then exists with its id, waits
 * outside the queue (it holds no slot and no queue place), and is *released* with the form's
 * prompt and mask, or fails once its account's `timeoutMinutes` pass. The checks of a follow-up's
 * prompt live here so that an action and a release refuse exactly the same inputs.
 */
import { type CustomIdInfo, fixParameterDashes } from '../midjourney/index.ts';
import type { Account } from './account.ts';
import { EngineError } from './errors.ts';
import type { TaskRecord } from './store.ts';
import type { Task } from './task.ts';

/** The `params` key a parked task carries while it waits for its form (`true`). */
export const AWAITING_MODAL = 'awaitingModal';

/** True while the task waits for its form (prepared, not released). */
export function isAwaitingModal(task: Task): boolean {
  return task.status === 'PENDING' && task.params[AWAITING_MODAL] === true;
}

/**
 * The prompt a follow-up runs with, after the checks its action needs: custom zoom needs
 * `--zoom` 1..2, vary region a prompt and a mask, PicReader defaults to the chosen described
 * prompt. Throws {@link EngineError} `INVALID_INPUT` naming the field.
 */
export function followUpPrompt(
  info: CustomIdInfo,
  input: { prompt?: string | undefined; mask?: string | undefined },
  parent: Task,
): string {
  let prompt = fixParameterDashes(input.prompt?.trim() ?? '');
  if (info.action === 'ZOOMOUT_CUSTOM') {
    const m = /--zoom\s+(\d+(?:\.\d+)?)/.exec(prompt);
    const zoom = m ? Number(m[1]) : Number.NaN;
    if (!(zoom >= 1 && zoom <= 2)) {
      throw new EngineError('INVALID_INPUT', 'prompt must contain --zoom with a value from 1 to 2');
    }
  }
  if (info.action === 'VARIATION_REGION') {
    if (!prompt) throw new EngineError('INVALID_INPUT', 'prompt is required for VARIATION_REGION');
    if (!input.mask) throw new EngineError('INVALID_INPUT', 'mask is required for VARIATION_REGION');
  }
  if (info.action === 'PIC_READER' && !prompt) {
    // Imagine all (index 0): Midjourney imagines every described prompt; the task follows the first.
    prompt = parent.prompts[Math.max(0, info.index - 1)] ?? '';
    if (!prompt)
      throw new EngineError('INVALID_INPUT', `task ${parent.id} has no described prompt ${info.index}`);
  }
  if (info.action === 'IMAGINE' && parent.action === 'SHORTEN' && !prompt) {
    // A shortened prompt's button imagines that prompt (unless the caller gave another).
    prompt = parent.prompts[info.index - 1] ?? '';
    if (!prompt)
      throw new EngineError('INVALID_INPUT', `task ${parent.id} has no shortened prompt ${info.index}`);
  }
  return prompt;
}

/** The fail reason of a parked task nobody released in time. */
export function parkedTimeoutReason(minutes: number): string {
  return `the form was not submitted within ${Number(minutes.toFixed(2))} minute${minutes === 1 ? '' : 's'}`;
}

/**
 * When a prepared task's wait for its form ends: its account's `timeoutMinutes` after it was made
 * (10 when the account is gone), the same on one instance and in a cluster.
 */
export function formDeadline(
  rec: TaskRecord,
  accounts: ReadonlyMap<string, Account>,
): { at: number; minutes: number } {
  const account = rec.meta.accountId ? accounts.get(rec.meta.accountId) : undefined;
  const minutes = account?.config.timeoutMinutes ?? 10;
  return { at: rec.meta.queuedAtMs + minutes * 60_000, minutes };
}
