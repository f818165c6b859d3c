/**
 * Turns a validated request into an engine task: downloads the user's photos (as data URIs),
 * appends the user's /settings to a new prompt, creates the task with a Telegram origin so that
 * its events come back to this chat (in the user's language), and answers refusals with one
 * friendly line. The status message itself is the progress tracker's.
 */
import type { BlendDimensions, TaskOrigin } from '../../engine/api.ts';
import type { Task } from '../../engine/task.ts';
import type { FrontContext } from '../context.ts';
import type { Tr } from '../i18n/index.ts';
import { downloadTelegramFile, imageMime, MediaError } from '../media.ts';
import { withSettings } from '../settings.ts';
import { formatBytes, friendlyError, normalisePrompt } from '../texts.ts';
import type { ImageRef } from '../updates.ts';
import { say } from './reply.ts';

export type JobRequest =
  | { kind: 'imagine'; prompt: string; images: ImageRef[]; raw?: boolean }
  | { kind: 'describe'; image: ImageRef }
  | { kind: 'shorten'; prompt: string }
  | { kind: 'blend'; images: ImageRef[]; dimensions: BlendDimensions | undefined }
  | { kind: 'action'; taskId: string; customId: string; prompt?: string | undefined };

export interface JobTarget {
  chatId: number;
  userId: number;
  /** The message the job answers (the request, or the result whose button was pressed). */
  replyTo: number | undefined;
  /** The language of the person who asked. */
  t: Tr;
}

/** A user-facing refusal (the text is what the user reads). */
class Refusal extends Error {}

/** Holds a place under `maxJobsPerUser`; null (after telling the user, unless `quiet`) when full. */
export async function reserveSlot(
  ctx: FrontContext,
  target: JobTarget,
  quiet = false,
): Promise<(() => void) | null> {
  const release = await ctx.jobs.reserve(target.userId, ctx.maxJobsPerUser);
  if (!release && !quiet)
    void say(ctx, target.chatId, target.t('userLimit', { max: ctx.maxJobsPerUser }), {
      replyTo: target.replyTo,
    });
  return release;
}

/**
 * Creates the task (the slot from {@link reserveSlot} is released when done). Returns the task,
 * or undefined after telling the user why not.
 */
export async function createJob(
  ctx: FrontContext,
  target: JobTarget,
  req: JobRequest,
  release: () => void,
): Promise<Task | undefined> {
  const { t } = target;
  const origin: Extract<TaskOrigin, { kind: 'telegram' }> = {
    kind: 'telegram',
    chatId: target.chatId,
    userId: target.userId,
    lang: t.lang,
    ...(target.replyTo !== undefined ? { replyTo: target.replyTo } : {}),
  };
  try {
    let task: Task;
    switch (req.kind) {
      case 'imagine': {
        const images = await Promise.all(req.images.map((ref) => dataUri(ctx, t, ref)));
        let prompt = normalisePrompt(req.prompt);
        // A prompt picked from a describe/shorten result is Midjourney's own: it stays as it is.
        if (!req.raw) {
          const prefs = await ctx.prefs.get(target.userId);
          const applied = withSettings(prefs, prompt, ctx.speeds);
          prompt = applied.prompt;
          if (applied.added) origin.added = applied.added;
        }
        task = await ctx.engine.imagine({ prompt, images, origin });
        break;
      }
      case 'describe':
        task = await ctx.engine.describe({ image: await dataUri(ctx, t, req.image), origin });
        break;
      case 'shorten':
        task = await ctx.engine.shorten({ prompt: normalisePrompt(req.prompt), origin });
        break;
      case 'blend': {
        const images = await Promise.all(req.images.map((ref) => dataUri(ctx, t, ref)));
        task = await ctx.engine.blend({
          images,
          ...(req.dimensions ? { dimensions: req.dimensions } : {}),
          origin,
        });
        break;
      }
      case 'action':
        task = await ctx.engine.action({
          taskId: req.taskId,
          customId: req.customId,
          ...(req.prompt !== undefined ? { prompt: normalisePrompt(req.prompt) } : {}),
          origin,
        });
        break;
    }
    await ctx.progress.created(task.id, origin);
    // Counted before the slot is released, so two quick requests cannot both slip under the limit.
    if (task.status !== 'FINISHED' && task.status !== 'FAILED') ctx.jobs.add(target.userId, task.id);
    return task;
  } catch (err) {
    const text = err instanceof Refusal ? err.message : friendlyError(t, err, ctx.maxJobsPerUser);
    if (!(err instanceof Refusal))
      ctx.logger.info({ chat: target.chatId, err: (err as Error).message }, 'job refused');
    void say(ctx, target.chatId, text, { replyTo: target.replyTo });
    return undefined;
  } finally {
    release();
  }
}

/** A Telegram photo as a `data:` URI (the engine checks the bytes again). */
async function dataUri(ctx: FrontContext, t: Tr, ref: ImageRef): Promise<string> {
  const tooLarge = () => new Refusal(t('imageTooLarge', { limit: formatBytes(ctx.maxImageBytes) }));
  if (ref.size !== undefined && ref.size > ctx.maxImageBytes) throw tooLarge();
  let filePath: string | undefined;
  try {
    const file = await ctx.sender.call<{ file_path?: string }>(
      'getFile',
      { file_id: ref.fileId },
      { priority: 'message' },
    );
    filePath = file.file_path;
  } catch {
    filePath = undefined;
  }
  if (!filePath) throw new Refusal(t('imageUnreadable'));
  let bytes: Buffer;
  try {
    ({ bytes } = await downloadTelegramFile(ctx.apiRoot, ctx.token, filePath, {
      maxBytes: ctx.maxImageBytes,
      timeoutMs: ctx.timing.downloadTimeoutMs,
    }));
  } catch (err) {
    if (err instanceof MediaError && err.code === 'TOO_LARGE') throw tooLarge();
    ctx.logger.warn({ err: (err as Error).message }, 'telegram file download failed');
    throw new Refusal(t('imageUnreadable'));
  }
  const mime = imageMime(bytes);
  if (!mime) throw new Refusal(t('notAnImage'));
  return `data:${mime};base64,${bytes.toString('base64')}`;
}
