/**
 * Submitting a started task to Discord (SPEC §6.3): input images fetched and uploaded, the
 * interaction built and sent, an outdated command refreshed and retried once, and the two-step
 * actions (modal, inpaint iframe) answered with the ids Discord sent.
 */
import { request } from 'undici';
import { DiscordHttpError } from '../discord/rest.ts';
import { nonce as newNonce } from '../discord/snowflake.ts';
import { type ModalCreate, modalCreateSchema } from '../discord/types.ts';
import { postMessageWithUploads, uploadAttachments } from '../discord/upload.ts';
import type { Logger } from '../log.ts';
import {
  BLEND_DIMENSIONS,
  blendPayload,
  buttonPayload,
  type CommandName,
  type CommandRef,
  commandsFromIndex,
  DEFAULT_COMMANDS,
  describePayload,
  imaginePayload,
  MIDJOURNEY_APP_ID,
  modalSubmitPayload,
  NIJI_APP_ID,
  NIJI_COMMANDS,
  parseCustomId,
  parseModalCustomId,
  REMIXABLE_ACTIONS,
  shortenPayload,
  videoParameters,
} from '../midjourney/index.ts';
import type { Account } from './account.ts';
import type { ImageFetcher } from './engine.ts';
import type { TaskIndex } from './matcher.ts';
import { type SpeedModes, switchFor } from './speed-modes.ts';
import type { TaskRecord } from './store.ts';
import type { Task } from './task.ts';

type Bot = Task['bot'];

/** The application id of a task's bot. */
export function applicationIdOf(bot: Bot): string {
  return bot === 'niji' ? NIJI_APP_ID : MIDJOURNEY_APP_ID;
}

/** A submission that cannot go on; `failReason` is the task's readable reason (SPEC §6.8). */
export class SubmitError extends Error {
  readonly code = 'SUBMIT_FAILED';
  constructor(readonly failReason: string) {
    super(failReason);
    this.name = 'SubmitError';
  }
}

/** The command ids/versions of both bots, shared by every account and refreshed on demand (§6.5). */
export class CommandTable {
  private readonly table: Record<CommandName, CommandRef>;
  private readonly niji: Partial<Record<CommandName, CommandRef>>;
  private refreshing: Promise<void> | undefined;

  constructor(overrides: Partial<Record<CommandName, CommandRef>>) {
    this.table = { ...DEFAULT_COMMANDS, ...overrides };
    this.niji = { ...NIJI_COMMANDS };
  }

  /** @throws {@link SubmitError} for a command the niji bot does not have (`/turbo`). */
  get(name: CommandName, bot: Bot = 'midjourney'): CommandRef {
    const ref = bot === 'niji' ? this.niji[name] : this.table[name];
    if (!ref) throw new SubmitError(`the ${bot} bot has no /${name} command`);
    return ref;
  }

  /** Reads the channel's command index and takes Midjourney's current versions. */
  refresh(account: Account): Promise<void> {
    this.refreshing ??= (async () => {
      const path = account.config.guild_id
        ? `/guilds/${account.config.guild_id}/application-command-index`
        : `/channels/${account.id}/application-command-index`;
      const index = await account.rest.request<unknown>('GET', path);
      Object.assign(this.table, commandsFromIndex(index));
      Object.assign(this.niji, commandsFromIndex(index, NIJI_APP_ID));
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}

/** Button clicks that open a modal wait here for INTERACTION_(IFRAME_)MODAL_CREATE with their nonce. */
export class ModalWaiters {
  private readonly waiting = new Map<string, { resolve: (m: ModalCreate) => void; timer: NodeJS.Timeout }>();
  private readonly optional = new Set<string>();
  private readonly none = new Map<string, () => void>();

  constructor(private readonly timeoutMs: number) {}

  wait(nonce: string): Promise<ModalCreate> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(nonce);
        reject(new SubmitError('Midjourney did not open the form for this action'));
      }, this.timeoutMs);
      timer.unref();
      this.waiting.set(nonce, { resolve, timer });
    });
  }

  /**
   * For clicks that open a form only in remix mode: resolves with the form, or with null once
   * Discord reports the click done without one ({@link noModal}) or after the timeout.
   */
  maybe(nonce: string): Promise<ModalCreate | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(nonce);
        this.optional.delete(nonce);
        resolve(null);
      }, this.timeoutMs);
      timer.unref();
      this.optional.add(nonce);
      this.waiting.set(nonce, { resolve, timer });
      this.none.set(nonce, () => {
        clearTimeout(timer);
        this.waiting.delete(nonce);
        resolve(null);
      });
    });
  }

  /** INTERACTION_SUCCESS for `nonce`: a click that may have opened a form did not. */
  noModal(nonce: string): void {
    if (!this.optional.delete(nonce)) return;
    const done = this.none.get(nonce);
    this.none.delete(nonce);
    done?.();
  }

  resolve(nonce: string, payload: unknown): void {
    this.optional.delete(nonce);
    this.none.delete(nonce);
    const w = this.waiting.get(nonce);
    const parsed = modalCreateSchema.safeParse(payload);
    if (!w || !parsed.success) return;
    clearTimeout(w.timer);
    this.waiting.delete(nonce);
    w.resolve(parsed.data);
  }
}

export interface SubmitContext {
  proxy: { upload: string; inpaint: string };
  commands: CommandTable;
  index: TaskIndex;
  fetchImage: ImageFetcher;
  logger: Logger;
  modals: ModalWaiters;
  /** Puts the account in the mode a job needs before the job's interaction (SPEC §12.1). */
  speeds: Pick<SpeedModes, 'inMode'>;
  mutate(rec: TaskRecord, change: (task: Task, meta: TaskRecord['meta']) => void): boolean;
  parentOf(rec: TaskRecord): TaskRecord | undefined;
}

/**
 * Runs the Discord side of a STARTED task. Resolves `submitted` once Discord accepted the
 * interaction; throws {@link SubmitError} or the REST client's typed errors otherwise.
 */
export async function submitTask(
  ctx: SubmitContext,
  rec: TaskRecord,
  account: Account,
): Promise<'submitted'> {
  const { task, meta } = rec;
  // A follow-up (any action started from a button) is a click, whatever its action is called.
  if (typeof task.params.customId === 'string') {
    await pressButton(ctx, rec, account);
    return 'submitted';
  }
  switch (task.action) {
    case 'VIDEO':
      // engine.video() gives the parts (params.motion); an imagine with `--video` is sent as it is.
      if (typeof task.params.motion === 'string') await submitVideo(ctx, rec, account);
      else await submitImagine(ctx, rec, account);
      return 'submitted';
    case 'SHORTEN':
      await sendCommand(ctx, rec, account, 'shorten', (c, cmd) => shortenPayload(c, cmd, task.prompt));
      return 'submitted';
    case 'IMAGINE':
      await submitImagine(ctx, rec, account);
      return 'submitted';
    case 'DESCRIBE': {
      const [ref] = await upload(ctx, account, meta.inputImages);
      if (!ref) throw new SubmitError('upload failed: no file');
      await sendCommand(ctx, rec, account, 'describe', (c, cmd) => describePayload(c, cmd, ref));
      return 'submitted';
    }
    case 'BLEND': {
      const refs = await upload(ctx, account, meta.inputImages);
      const dims = meta.dimensions as keyof typeof BLEND_DIMENSIONS | undefined;
      await sendCommand(ctx, rec, account, 'blend', (c, cmd) =>
        blendPayload(c, cmd, refs, dims ? BLEND_DIMENSIONS[dims] : undefined),
      );
      return 'submitted';
    }
    default:
      await pressButton(ctx, rec, account);
      return 'submitted';
  }
}

/** `/imagine`, image prompts uploaded first and their URLs put before the text. */
async function submitImagine(ctx: SubmitContext, rec: TaskRecord, account: Account): Promise<void> {
  let prompt = rec.task.prompt;
  if (rec.meta.inputImages.length > 0) {
    const urls = await uploadAndHost(ctx, account, rec.meta.inputImages);
    prompt = `${urls.join(' ')} ${rec.task.prompt}`;
    ctx.mutate(rec, (t, m) => {
      t.prompt = prompt;
      m.sentPrompt = prompt;
    });
  }
  await sendCommand(ctx, rec, account, 'imagine', (c, cmd) => imaginePayload(c, cmd, prompt));
}

/** A video from its parts: `/imagine <start image> <text> --video 1 --motion … [--end …] [--bs …]`. */
async function submitVideo(ctx: SubmitContext, rec: TaskRecord, account: Account): Promise<void> {
  const urls = await uploadAndHost(ctx, account, rec.meta.inputImages);
  const p = rec.task.params;
  const prompt = `${urls[0] ?? ''} ${rec.task.prompt} ${videoParameters({
    motion: p.motion === 'low' ? 'low' : 'high',
    endImageUrl: urls[1],
    loop: p.loop === true,
    batchSize: typeof p.batchSize === 'number' ? p.batchSize : undefined,
  })}`.trim();
  ctx.mutate(rec, (t, m) => {
    t.prompt = prompt;
    m.sentPrompt = prompt;
  });
  await sendCommand(ctx, rec, account, 'imagine', (c, cmd) => imaginePayload(c, cmd, prompt));
}

/**
 * Clicks the running job's Cancel Job button on the message that carries it: the ephemeral reply
 * when Midjourney sent one, else the progress message (SPEC §5.3).
 * @throws the REST client's typed errors when Discord refuses the click.
 */
export async function clickCancel(_ctx: SubmitContext, rec: TaskRecord, account: Account): Promise<void> {
  const hash = rec.task.messageHash;
  const onReply = rec.meta.cancelMessageId ?? null;
  const messageId = onReply ?? rec.meta.progressMessageId;
  if (!hash || !messageId) return;
  const n = newNonce();
  await account.interact(
    buttonPayload(payloadCtx(account, n), {
      messageId,
      messageFlags: onReply ? (rec.meta.cancelFlags ?? 64) : rec.meta.progressFlags,
      customId: `MJ::CancelJob::ByJobid::${hash}`,
    }),
  );
}

function payloadCtx(account: Account, nonce: string, bot: Bot = 'midjourney') {
  return {
    ...(account.config.guild_id ? { guildId: account.config.guild_id } : {}),
    channelId: account.id,
    sessionId: account.sessionId,
    nonce,
    applicationId: applicationIdOf(bot),
  };
}

/** Gives the task a fresh nonce (indexed before sending: the answer can beat the 204). */
function takeNonce(ctx: SubmitContext, rec: TaskRecord): string {
  const n = newNonce();
  ctx.index.addNonce(n, rec.task.id);
  ctx.mutate(rec, (_t, m) => {
    m.nonce = n;
  });
  return n;
}

async function sendCommand(
  ctx: SubmitContext,
  rec: TaskRecord,
  account: Account,
  name: CommandName,
  build: (c: ReturnType<typeof payloadCtx>, cmd: CommandRef) => unknown,
): Promise<void> {
  const n = takeNonce(ctx, rec);
  const bot = rec.task.bot;
  await ctx.speeds.inMode(account, switchFor(rec), async () => {
    try {
      await account.interact(build(payloadCtx(account, n, bot), ctx.commands.get(name, bot)));
    } catch (err) {
      if (!(err instanceof DiscordHttpError) || !err.isOutdatedCommand()) throw err;
      ctx.logger.warn(
        { account: account.id, command: name },
        'command outdated; refreshing the command index',
      );
      await ctx.commands.refresh(account);
      await account.interact(build(payloadCtx(account, n, bot), ctx.commands.get(name, bot)));
    }
  });
}

async function pressButton(ctx: SubmitContext, rec: TaskRecord, account: Account): Promise<void> {
  const customId = String(rec.task.params.customId ?? '');
  const info = parseCustomId(customId);
  const parentMessageId = rec.meta.parentMessageId;
  if (!info || !parentMessageId) throw new SubmitError(`button ${customId} cannot be pressed`);
  const n = takeNonce(ctx, rec);
  const bot = rec.task.bot;
  const remixable = info.step === 'click' && REMIXABLE_ACTIONS.has(info.action);
  // With remix on, Midjourney answers these clicks with a form (SPEC §14); without, it just runs.
  const modal: Promise<ModalCreate | null> | undefined =
    info.step !== 'click' ? ctx.modals.wait(n) : remixable ? ctx.modals.maybe(n) : undefined;
  modal?.catch(() => {});
  await ctx.speeds.inMode(account, switchFor(rec), () =>
    account.interact(
      buttonPayload(payloadCtx(account, n, bot), {
        messageId: parentMessageId,
        messageFlags: rec.meta.messageFlags,
        customId,
      }),
    ),
  );
  if (!modal) return;
  const opened = await modal;
  if (remixable) account.remix = opened !== null;
  if (!opened) return;
  const prompt = rec.task.prompt;
  if (info.step === 'iframe') {
    await submitInpaint(ctx, opened, prompt, rec.meta.mask ?? '');
    return;
  }
  const field =
    opened.components?.[0]?.components?.[0]?.custom_id ??
    parseModalCustomId(opened.custom_id)?.fieldCustomId ??
    info.modal?.fieldCustomId;
  if (!field) throw new SubmitError('Midjourney opened a form without a field');
  const n2 = takeNonce(ctx, rec);
  await account.interact(
    modalSubmitPayload(payloadCtx(account, n2, bot), {
      interactionId: opened.id,
      modalCustomId: opened.custom_id,
      fields: [{ customId: field, value: prompt }],
    }),
  );
}

async function submitInpaint(
  ctx: SubmitContext,
  modal: ModalCreate,
  prompt: string,
  mask: string,
): Promise<void> {
  const token = modal.custom_id.split('::').pop() ?? '';
  const res = await request(new URL('/inpaint/api/submit-job', ctx.proxy.inpaint), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: '0',
      userId: '0',
      customId: token,
      mask: mask.replace(/^data:[^,]*,/, ''),
      prompt,
      full_prompt: null,
    }),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300)
    throw new SubmitError(`inpaint submit failed: ${res.statusCode} ${text.slice(0, 200)}`);
}

async function upload(ctx: SubmitContext, account: Account, inputs: string[]) {
  const files = [];
  for (const url of inputs) files.push(await ctx.fetchImage(url));
  try {
    return await uploadAttachments(account.rest, {
      channelId: account.id,
      uploadOrigin: ctx.proxy.upload,
      files: files.map((f, i) => ({
        filename: f.filename || `image${i}.png`,
        bytes: f.bytes,
        contentType: f.contentType,
      })),
    });
  } catch (err) {
    throw uploadFailure(err);
  }
}

/**
 * An upload that failed is `upload failed: <why>` (SPEC §6.8): no interaction was sent. Only the
 * answers that say the account cannot work (401, 403) stay Discord's, so the account is disabled.
 */
function uploadFailure(err: unknown): Error {
  if (err instanceof DiscordHttpError) {
    if (err.status === 401 || err.status === 403) return err;
    return new SubmitError(`upload failed: Discord answered ${err.status} ${err.message} (${err.code})`);
  }
  if (err instanceof SubmitError) return err;
  return new SubmitError(`upload failed: ${(err as Error).message}`);
}

/** Uploads the images and posts them in the channel, returning their CDN URLs for the prompt. */
export async function uploadAndHost(
  ctx: SubmitContext,
  account: Account,
  inputs: string[],
): Promise<string[]> {
  const refs = await upload(ctx, account, inputs);
  const msg = await postMessageWithUploads(account.rest, account.id, refs).catch((err: unknown) => {
    throw uploadFailure(err);
  });
  const urls = (msg.attachments ?? []).map((a) => a.url);
  if (urls.length !== refs.length) throw new SubmitError('upload failed: Discord did not host every image');
  return urls;
}
