/**
 * The simulated Midjourney bot: answers interactions on the fake Discord with the real message
 * sequences (waiting → progress edits with previews → a new result message → the progress message
 * deleted), upscale replies, describe embeds, modals, error embeds (`--fail <title>`), and faults
 * on demand: other users' look-alike jobs, reversed finishing order, silence, jobs held mid-way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DiscordMessage } from '../../discord/types.ts';
import type { Action } from '../../midjourney/actions.ts';
import { parseCustomId } from '../../midjourney/custom-ids.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { FakeDiscord, FakeUser, InteractionContext } from '../discord/api.ts';
import { quadrantSize, renderGrid, renderUpscale } from '../grid-image.ts';
import { renderImage } from '../png.ts';
import { attachExtras, type BotControls } from './extras.ts';
import {
  cancelRow,
  describeRows,
  echoPrompt,
  gridRows,
  interactionStamps,
  MJ_USER,
  RED,
  singleRows,
  slug,
  userRef,
} from './messages.ts';
import { invalidParameter } from './parameters.ts';
import { resultParts } from './results.ts';

export const MJ_COMMANDS = [
  { name: 'imagine', id: '938956540159881230', version: '1237876415471554623' },
  { name: 'describe', id: '1092492867185950852', version: '1237876415471554625' },
  { name: 'blend', id: '1062880104792997970', version: '1237876415471554624' },
  { name: 'shorten', id: '1121575372539039774', version: '1247736572414001223' },
  { name: 'info', id: '972289487818334209', version: '1237876415735660565' },
  { name: 'settings', id: '1000850743479255081', version: '1493662068581077053' },
  { name: 'relax', id: '972289487818334213', version: '1237876415735660573' },
  { name: 'fast', id: '972289487818334212', version: '1237876415735660572' },
  { name: 'turbo', id: '1124132684143271996', version: '1237876415790055474' },
];

/** What the bot remembers of a job, for tests that check who got which result. */
export interface SandboxJob {
  hash: string;
  userId: string;
  channelId: string;
  /** Nonce of the interaction that started it. */
  nonce: string | undefined;
  interactionId: string;
  prompt: string;
  label: string;
  resultMessageId: string | null;
  /** The ephemeral reply carrying the Cancel Job button, when the job got one. */
  cancelMessageId?: string;
  state: 'running' | 'done' | 'cancelled' | 'silent' | 'failed';
}

interface Running {
  job: SandboxJob;
  user: FakeUser;
  progressId: string | null;
  timers: NodeJS.Timeout[];
  grid: boolean;
  state: RunningJobState;
}

/** What a job in flight needs to go on after a restart (kept in the sandbox's state). */
export interface RunningJobState {
  hash: string;
  ix: { id: string; nonce: string | undefined; channelId: string; guildId: string | undefined; name: string };
  user: { id: string; username: string };
  prompt: string;
  label: string;
  grid: boolean;
  replyId: string | null;
  failReply?: { title: string; description: string };
  progressId: string | null;
  /** The next of STEPS to send (STEPS.length: the result is next). */
  step: number;
  /** The speed as its messages say it (`fast`, `relaxed`, `turbo`): its flag, else the user's mode. */
  speed?: string;
}

/** The bot's memory, as the sandbox persists it. */
export interface BotState {
  jobs: SandboxJob[];
  running: RunningJobState[];
}

export interface BotFaults {
  interleaveOtherUsers(on: boolean): void;
  reverseOrder(on: boolean): void;
  neverAnswer(n: number): void;
  omitInteractionMetadata(on: boolean): void;
  postToOtherChannel(on: boolean): void;
  /**
   * Holds jobs mid-way, for tests that need work to stay unfinished: while on, a job sends no
   * message past `afterPercent` until the hold is moved beyond it or switched off, then goes on
   * where it stopped. A job's messages count as: "Waiting to start" (and a describe's first
   * answer) -1, each progress edit its percentage, the result (an upscale reply, a describe's
   * prompts) 100. Without `afterPercent` nothing passes, so a new job stays submitted and
   * unanswered. Error answers (`--fail`, bad input) and modals are never held.
   */
  holdJobs(on: boolean, afterPercent?: number): void;
  /**
   * Puts the Cancel Job button on a separate ephemeral reply (flags 64) to the progress message,
   * as Midjourney often does, instead of on the progress message itself.
   */
  cancelOnEphemeralReply(on: boolean): void;
}

export interface MidjourneyBot {
  readonly faults: BotFaults;
  /** Per-user switches of the 2026 surface (remix, fast hours) and what the bot knows of a user. */
  readonly controls: BotControls;
  jobByHash(hash: string): SandboxJob | undefined;
  /** Jobs started and finished, and per channel the most jobs ever generating at once. */
  stats(): { started: number; finished: number; peakRunning: Record<string, number> };
  /** Jobs whose buttons still work and jobs in flight, for the sandbox's state. */
  exportState(): BotState;
  /** Takes back an exported state: old buttons work again, jobs in flight go on. */
  restore(state: BotState): void;
  close(): void;
}

const STEPS = [0, 15, 31, 46, 62, 78, 93];
/** Jobs kept in memory (their buttons can be pressed); the sandbox persists the newest of them. */
const MAX_JOBS = 5000;
const PERSISTED_JOBS = 2000;
const EPHEMERAL = 1 << 6;

/** Buttons that start a new generating job: the words Midjourney puts before the user, and whether the result is a grid. */
const JOB_BUTTONS: Partial<Record<Action, { label: string; grid: boolean }>> = {
  VARIATION: { label: 'Variations', grid: true },
  REROLL: { label: '', grid: true },
  VARIATION_STRONG: { label: 'Variations (Strong)', grid: true },
  VARIATION_SUBTLE: { label: 'Variations (Subtle)', grid: true },
  ZOOMOUT: { label: 'Zoom Out', grid: true },
  MAKE_SQUARE: { label: 'Zoom Out', grid: true },
  PANLEFT: { label: 'Pan Left', grid: true },
  PANRIGHT: { label: 'Pan Right', grid: true },
  PANUP: { label: 'Pan Up', grid: true },
  PANDOWN: { label: 'Pan Down', grid: true },
  UPSCALE_V5_2X: { label: 'Upscaled (2x)', grid: false },
  UPSCALE_V5_4X: { label: 'Upscaled (4x)', grid: false },
  UPSCALE_V6_2X_SUBTLE: { label: 'Upscaled (Subtle)', grid: false },
  UPSCALE_V6_2X_CREATIVE: { label: 'Upscaled (Creative)', grid: false },
};

/** How a job's messages name its speed: the prompt's flag wins over the user's mode. */
function speedWord(prompt: string, userMode: 'fast' | 'relax' | 'turbo'): string {
  const flag = /(?:^|\s)--(fast|relax|turbo)(?=\s|$)/i.exec(prompt)?.[1]?.toLowerCase() ?? userMode;
  return flag === 'relax' ? 'relaxed' : flag;
}

function double(size: { width: number; height: number }): { width: number; height: number } {
  return { width: size.width * 2, height: size.height * 2 };
}

export interface BotOptions {
  speed: number;
  /** A user whose look-alike jobs interleave with ours (fault), and a noise channel. */
  otherUser?: FakeUser;
  otherChannelFor?: (channelId: string) => string | undefined;
  noiseChannelId?: string;
  /** Called after every change of what {@link MidjourneyBot.exportState} returns. */
  onChange?: () => void;
  /** The DM channel of a user with the bot (the seed DM goes there). */
  dmChannelFor?: (userId: string) => string | undefined;
}

export function attachMidjourneyBot(discord: FakeDiscord, opts: BotOptions): MidjourneyBot {
  for (const c of MJ_COMMANDS) discord.addCommand({ ...c, applicationId: MIDJOURNEY_APP_ID });
  const jobs = new Map<string, SandboxJob>();
  const running = new Map<string, Running>();
  const inpaintTokens = new Map<string, { ix: InteractionContext; parent: SandboxJob }>();
  const counters = { started: 0, finished: 0 };
  const peaks = new Map<string, number>();
  const changed = () => {
    const now = new Map<string, number>();
    for (const r of running.values()) now.set(r.job.channelId, (now.get(r.job.channelId) ?? 0) + 1);
    for (const [c, n] of now) if (n > (peaks.get(c) ?? 0)) peaks.set(c, n);
    opts.onChange?.();
  };
  /** Keeps a job (its buttons can be pressed later); the oldest finished ones are forgotten. */
  const remember = (job: SandboxJob) => {
    jobs.set(job.hash, job);
    if (jobs.size > MAX_JOBS) {
      for (const hash of jobs.keys()) {
        if (jobs.size <= MAX_JOBS) break;
        if (!running.has(hash)) jobs.delete(hash);
      }
    }
    changed();
  };
  const f = {
    interleave: false,
    reverse: false,
    silent: 0,
    omitMeta: false,
    noise: false,
    /** Messages past this progress wait (holdJobs); null: no hold. */
    holdAfter: null as number | null,
    ephemeralCancel: false,
  };
  const held: { at: number; go: () => void }[] = [];
  const recentPrompts = new Map<string, number>();
  let closed = false;
  const ms = (realMs: number) => Math.max(1, realMs / opts.speed);
  const shortId = () => randomBytes(6).toString('base64url');

  const later = (r: Running | null, delay: number, fn: () => void) => {
    const t = setTimeout(() => {
      if (closed) return;
      try {
        fn();
      } catch {
        // the message it edits may be gone (cancelled); nothing to do
      }
    }, delay);
    r?.timers.push(t);
    return t;
  };

  /** Sends a job's message now, or parks it while a hold keeps messages past `at` back. */
  const gate = (at: number, go: () => void) => {
    if (f.holdAfter !== null && at > f.holdAfter) held.push({ at, go });
    else go();
  };
  const releaseHeld = () => {
    const limit = f.holdAfter;
    const due = held.filter((h) => limit === null || h.at <= limit);
    if (due.length === 0) return;
    held.splice(0, held.length, ...held.filter((h) => !due.includes(h)));
    for (const h of due) {
      if (closed) return;
      try {
        h.go();
      } catch {
        // as in later(): the message it edits may be gone
      }
    }
  };

  const stamps = (ix: { id: string; name: string; user: FakeUser }) =>
    f.omitMeta ? {} : interactionStamps(ix.id, ix.name, ix.user);

  const errorEmbed = (
    ix: InteractionContext,
    title: string,
    description: string,
    color = RED,
    footer?: string,
  ) => {
    discord.postMessage(ix.channelId, {
      author: MJ_USER,
      type: ix.guildId ? 20 : 0,
      nonce: ix.nonce,
      webhook_id: MIDJOURNEY_APP_ID,
      application_id: MIDJOURNEY_APP_ID,
      ...interactionStamps(ix.id, String(ix.data.name ?? 'imagine'), ix.user),
      embeds: [{ type: 'rich', title, description, color, ...(footer ? { footer: { text: footer } } : {}) }],
      ...(ix.message ? { message_reference: { message_id: ix.message.id, channel_id: ix.channelId } } : {}),
    });
  };

  /** A generating job: waiting → % edits with previews → new result message → delete the progress one. */
  const runJob = (
    ix: {
      id: string;
      nonce: string | undefined;
      channelId: string;
      guildId: string | undefined;
      user: FakeUser;
      name: string;
    },
    prompt: string,
    label: string,
    grid: boolean,
    reply?: DiscordMessage,
    failReply?: { title: string; description: string },
    resume?: RunningJobState,
  ): SandboxJob => {
    const hash = resume?.hash ?? randomUUID();
    const job: SandboxJob = jobs.get(hash) ?? {
      hash,
      userId: ix.user.id,
      channelId: ix.channelId,
      nonce: ix.nonce,
      interactionId: ix.id,
      prompt,
      label,
      resultMessageId: null,
      state: 'running',
    };
    if (!resume) {
      remember(job);
      counters.started++;
      if (f.silent > 0) {
        f.silent--;
        job.state = 'silent';
        return job;
      }
    }
    const state: RunningJobState = resume ?? {
      hash,
      ix: { id: ix.id, nonce: ix.nonce, channelId: ix.channelId, guildId: ix.guildId, name: ix.name },
      user: { id: ix.user.id, username: ix.user.username },
      prompt,
      label,
      grid,
      replyId: reply?.id ?? null,
      ...(failReply ? { failReply } : {}),
      progressId: null,
      step: 0,
      speed: speedWord(prompt, extras.modeOf(ix.user.id)),
    };
    const speed = state.speed ?? 'fast';
    const r: Running = { job, user: ix.user, progressId: state.progressId, timers: [], grid, state };
    running.set(hash, r);
    changed();
    const who = `<@${ix.user.id}>`;
    const head = (state: string) => `**${prompt}** - ${label ? `${label} by ` : ''}${who} ${state}`;
    // Same-prompt jobs started close together finish in reverse order when asked.
    let stretch = 1;
    if (f.reverse) {
      const n = (recentPrompts.get(prompt) ?? 0) + 1;
      recentPrompts.set(prompt, n);
      stretch = n === 1 ? 2.5 : 1;
    }
    const step = ms(5000) * stretch;
    const size = quadrantSize(prompt);
    // Previews are small, like Midjourney's (a sixteenth of the grid's sides).
    const previewSize = {
      width: Math.max(8, Math.round(size.width / 8)),
      height: Math.max(8, Math.round(size.height / 8)),
    };
    const live = () => r.job.state === 'running';
    /** The result: a new message with the image and buttons; the progress message goes. */
    const finish = (msg: DiscordMessage) => {
      const parts = resultParts(discord, {
        channelId: ix.channelId,
        username: ix.user.username,
        prompt,
        label,
        hash,
        grid,
        // Midjourney's sizes: a 2x2 grid of quadrant-sized pictures, or an upscale's 2x image.
        still: () => (grid ? renderGrid(prompt + hash, size) : renderUpscale(prompt + hash, 1, double(size))),
      });
      const final = discord.postMessage(ix.channelId, {
        author: MJ_USER,
        type: reply ? 19 : 0,
        webhook_id: MIDJOURNEY_APP_ID,
        application_id: MIDJOURNEY_APP_ID,
        content: `**${prompt}** - ${label ? `${label} by ` : ''}${who} (${speed})`,
        mentions: [userRef(ix.user)],
        attachments: parts.attachments,
        components: parts.components,
        ...stamps(ix),
        ...(reply
          ? {
              message_reference: { message_id: reply.id, channel_id: ix.channelId },
              referenced_message: reply,
            }
          : {}),
      });
      job.resultMessageId = final.id;
      job.state = 'done';
      counters.finished++;
      running.delete(hash);
      changed();
      later(null, ms(300), () => discord.deleteMessage(ix.channelId, msg.id));
    };
    // Each step follows the one before by `step` (a held step resumes where it stopped).
    const progress = (msg: DiscordMessage, i: number) => {
      state.step = i;
      changed();
      const pct = STEPS[i];
      if (pct === undefined) {
        later(r, step, () =>
          gate(100, () => {
            if (live()) finish(msg);
          }),
        );
        return;
      }
      later(r, step, () =>
        gate(pct, () => {
          if (!live()) return;
          const preview = discord.storeFile(
            ix.channelId,
            `${hash}_grid_0.webp`,
            renderImage({ seed: prompt + hash, step: pct, ...previewSize, grid }),
            'image/png',
          );
          discord.editMessage(ix.channelId, msg.id, {
            content: head(`(${pct}%) (${speed})`),
            attachments: [preview],
          });
          progress(msg, i + 1);
        }),
      );
    };
    // After a restart a job whose progress message is still there goes on from its step.
    const resumedAt = resume?.progressId ? discord.getMessage(ix.channelId, resume.progressId) : undefined;
    if (resume && resumedAt && !resume.failReply) {
      progress(resumedAt, resume.step);
      return job;
    }
    later(r, ms(800), () =>
      gate(-1, () => {
        if (!live()) return;
        const msg = discord.postMessage(ix.channelId, {
          author: MJ_USER,
          type: reply ? 19 : ix.guildId ? 20 : 0,
          ...(reply ? {} : { nonce: ix.nonce }),
          webhook_id: MIDJOURNEY_APP_ID,
          application_id: MIDJOURNEY_APP_ID,
          content: head('(Waiting to start)'),
          mentions: [userRef(ix.user)],
          components: f.ephemeralCancel ? [] : cancelRow(hash),
          ...stamps(ix),
          ...(reply ? { message_reference: { message_id: reply.id, channel_id: ix.channelId } } : {}),
        });
        r.progressId = msg.id;
        state.progressId = msg.id;
        changed();
        if (f.ephemeralCancel) {
          const eph = discord.postMessage(ix.channelId, {
            author: MJ_USER,
            type: 19,
            flags: EPHEMERAL,
            webhook_id: MIDJOURNEY_APP_ID,
            application_id: MIDJOURNEY_APP_ID,
            content: head('(Waiting to start)'),
            mentions: [userRef(ix.user)],
            components: cancelRow(hash),
            ...stamps(ix),
            message_reference: { message_id: msg.id, channel_id: ix.channelId },
          });
          job.cancelMessageId = eph.id;
        }
        if (failReply) {
          // Midjourney's late refusal: a red embed replying to the progress message, no nonce, no interaction.
          later(r, ms(1000), () => {
            if (!live()) return;
            for (const t of r.timers) clearTimeout(t);
            running.delete(hash);
            job.state = 'failed';
            changed();
            discord.postMessage(ix.channelId, {
              author: MJ_USER,
              type: 19,
              webhook_id: MIDJOURNEY_APP_ID,
              application_id: MIDJOURNEY_APP_ID,
              embeds: [
                { type: 'rich', title: failReply.title, description: failReply.description, color: RED },
              ],
              message_reference: { message_id: msg.id, channel_id: ix.channelId },
            });
          });
          return;
        }
        progress(msg, 0);
      }),
    );
    if (resume) return job;
    // Faults: a look-alike job of another user, and noise in another channel.
    if (f.interleave && opts.otherUser && ix.user.id !== opts.otherUser.id) {
      const other = opts.otherUser;
      later(null, ms(300), () =>
        runJob(
          { ...ix, id: String(BigInt(ix.id) + 7n), nonce: `${Date.now()}0`, user: other },
          prompt,
          label,
          grid,
          reply,
        ),
      );
    }
    if (f.noise && opts.noiseChannelId) {
      const noise = opts.noiseChannelId;
      later(null, ms(1000), () =>
        discord.postMessage(noise, {
          author: MJ_USER,
          content: `**${prompt}** - <@${ix.user.id}> (fast)`,
          attachments: [
            discord.storeFile(
              noise,
              `x_${slug(prompt)}_${randomUUID()}.png`,
              renderImage({ seed: 'noise', step: 100, width: 16, height: 16 }),
              'image/png',
            ),
          ],
          components: gridRows(randomUUID()),
        }),
      );
    }
    return job;
  };

  const upscaleReply = (ix: InteractionContext, parent: SandboxJob, index: number) => {
    const hash = randomUUID();
    const grid = ix.message as DiscordMessage;
    const job: SandboxJob = {
      hash,
      userId: ix.user.id,
      channelId: ix.channelId,
      nonce: ix.nonce,
      interactionId: ix.id,
      prompt: parent.prompt,
      label: `Image #${index}`,
      resultMessageId: null,
      state: 'running',
    };
    remember(job);
    counters.started++;
    later(null, ms(1500), () =>
      gate(100, () => {
        const image = discord.storeFile(
          ix.channelId,
          `${ix.user.username}_${slug(parent.prompt)}_${hash}.png`,
          // One picture of the grid, at the quadrant's size (what U1–U4 give).
          renderUpscale(parent.prompt + parent.hash, index, quadrantSize(parent.prompt)),
          'image/png',
        );
        const msg = discord.postMessage(ix.channelId, {
          author: MJ_USER,
          type: 19,
          webhook_id: MIDJOURNEY_APP_ID,
          application_id: MIDJOURNEY_APP_ID,
          content: `**${parent.prompt}** - Image #${index} <@${ix.user.id}>`,
          mentions: [userRef(ix.user)],
          attachments: [image],
          components: singleRows(hash),
          message_reference: { message_id: grid.id, channel_id: ix.channelId },
          referenced_message: grid,
          ...stamps({ id: ix.id, name: 'upscale', user: ix.user }),
        });
        job.resultMessageId = msg.id;
        job.state = 'done';
        counters.finished++;
        changed();
      }),
    );
  };

  const cancel = (hash: string) => {
    const r = running.get(hash);
    if (!r) return;
    for (const t of r.timers) clearTimeout(t);
    running.delete(hash);
    r.job.state = 'cancelled';
    changed();
    if (!r.progressId) return;
    const id = r.progressId;
    const cur = discord.getMessage(r.job.channelId, id);
    if (cur) {
      discord.editMessage(r.job.channelId, id, {
        content: (cur.content ?? '').replace(/\((Waiting to start|\d+%)\)( \(fast\))?/, '(Stopped)'),
        components: [],
      });
    }
    later(null, ms(300), () => discord.deleteMessage(r.job.channelId, id));
  };

  const option = (data: Record<string, unknown>, name: string): unknown =>
    (Array.isArray(data.options) ? (data.options as { name?: unknown; value?: unknown }[]) : []).find(
      (o) => o.name === name,
    )?.value;

  const startFromPrompt = (
    ix: InteractionContext,
    rawPrompt: string,
    label: string,
    grid: boolean,
    reply?: DiscordMessage,
  ) => {
    const late = /--fail-reply\s+(.+?)(?=\s--|$)/.exec(rawPrompt);
    if (late) {
      const title = (late[1] ?? '').trim();
      const clean = rawPrompt.replace(late[0], '').trim();
      runJob(
        { ...ix, name: String(ix.data.name ?? 'imagine') },
        echoPrompt(clean, shortId),
        label,
        grid,
        reply,
        {
          title,
          description: `The link in \`${clean}\` could not be read.\n**Check** it and try again.\n\nSandbox answer.`,
        },
      );
      return;
    }
    const fail = /--fail\s+(.+?)(?=\s--|$)/.exec(rawPrompt);
    let prompt = rawPrompt;
    if (fail) {
      const title = (fail[1] ?? '').trim();
      prompt = rawPrompt.replace(fail[0], '').trim();
      if (extras.failSwitch(ix, title)) return;
      if (title === 'Job queued') {
        errorEmbed(ix, 'Job queued', 'Your job will start shortly.', 16776960, `/imagine ${prompt}`);
      } else {
        later(null, ms(500), () =>
          errorEmbed(
            ix,
            title,
            `Sorry! The sandbox was asked to answer "${title}" for this prompt.\n\n\`${prompt}\``,
          ),
        );
        return;
      }
    }
    const invalid = invalidParameter(prompt);
    if (invalid) {
      later(null, ms(500), () => errorEmbed(ix, 'Invalid parameter', invalid));
      return;
    }
    runJob(
      { ...ix, name: String(ix.data.name ?? 'imagine') },
      echoPrompt(prompt, shortId),
      label,
      grid,
      reply,
    );
  };

  const extras = attachExtras({
    discord,
    jobs,
    ms,
    later: (delay, fn) => {
      later(null, delay, fn);
    },
    shortId,
    runJob: (ix, prompt, label, grid, reply) => runJob(ix, prompt, label, grid, reply),
    startFromPrompt: (ix, prompt, label, grid, reply) => startFromPrompt(ix, prompt, label, grid, reply),
    errorEmbed: (ix, title, description, color) => errorEmbed(ix, title, description, color),
    describe: (ix) => describe(ix),
    dmChannelFor: opts.dmChannelFor,
  });

  discord.onInteraction((ix) => {
    if (ix.applicationId !== MIDJOURNEY_APP_ID) return;
    if (extras.handle(ix)) return;
    if (ix.type === 2) {
      const name = String(ix.data.name ?? '');
      if (name === 'imagine') {
        const prompt = String(option(ix.data, 'prompt') ?? '').trim();
        if (!prompt) {
          errorEmbed(ix, 'Empty prompt', 'Please provide a prompt.');
          return;
        }
        startFromPrompt(ix, prompt, '', true);
      } else if (name === 'describe') {
        describe(ix);
      } else if (name === 'blend') {
        const files = ix.files;
        const seen = new Set(files.map((x) => x.bytes.toString('base64')));
        if (seen.size < files.length) {
          later(null, ms(500), () =>
            errorEmbed(ix, 'Duplicate images detected', 'Please upload different images.'),
          );
          return;
        }
        const dims = option(ix.data, 'dimensions');
        const links = files.map(() => `<https://s.mj.run/${shortId()}>`).join(' ');
        runJob({ ...ix, name: 'blend' }, `${links}${typeof dims === 'string' ? ` ${dims}` : ''}`, '', true);
      }
      return;
    }
    if (ix.type === 3) {
      const customId = String(ix.data.custom_id ?? '');
      const info = parseCustomId(customId);
      const parent = info?.hash ? jobs.get(info.hash) : undefined;
      if (info?.action === 'CANCEL_JOB' && info.hash) {
        cancel(info.hash);
        return;
      }
      if (info?.action === 'PIC_READER') {
        const n = info.index;
        const embed = ix.message?.embeds?.[0]?.description ?? '';
        const chosen = embed.split(/\n\n/)[n - 1]?.replace(/^\S+\s*/u, '') ?? '';
        ix.openModal({
          custom_id: `MJ::Picreader::Modal::${n}`,
          title: 'Imagine This!',
          components: [
            {
              type: 1,
              components: [
                {
                  type: 4,
                  custom_id: 'MJ::Picreader::Modal::PromptField',
                  label: 'Prompt',
                  style: 2,
                  value: chosen,
                },
              ],
            },
          ],
        });
        return;
      }
      if (!info || !parent) return;
      const reply = ix.message;
      const base = { ...ix, name: 'imagine' };
      if (info.action === 'UPSCALE') {
        upscaleReply(ix, parent, info.index);
        return;
      }
      const job = JOB_BUTTONS[info.action];
      if (job) {
        runJob(base, parent.prompt, job.label, job.grid, reply);
        return;
      }
      switch (info.action) {
        case 'ZOOMOUT_CUSTOM':
          ix.openModal({
            custom_id: `MJ::OutpaintCustomZoomModal::${parent.hash}`,
            title: 'Zoom Out',
            components: [
              {
                type: 1,
                components: [
                  {
                    type: 4,
                    custom_id: 'MJ::OutpaintCustomZoomModal::prompt',
                    label: 'Zoom Out',
                    style: 2,
                    value: `${parent.prompt} --zoom 2`,
                  },
                ],
              },
            ],
          });
          return;
        case 'VARIATION_REGION': {
          const token = randomBytes(12).toString('base64url');
          inpaintTokens.set(token, { ix, parent });
          ix.openIframeModal({
            custom_id: `MJ::iframe::${token}`,
            title: 'Inpaint',
            iframe_path: `/inpaint/?custom_id=${token}`,
          });
          return;
        }
        default:
          return;
      }
    }
    // type 5: a modal submit
    const customId = String(ix.data.custom_id ?? '');
    const rows = Array.isArray(ix.data.components)
      ? (ix.data.components as { components?: { value?: unknown }[] }[])
      : [];
    const value = String(rows[0]?.components?.[0]?.value ?? '').trim();
    if (customId.startsWith('MJ::OutpaintCustomZoomModal::')) {
      const parent = jobs.get(customId.split('::').pop() ?? '');
      const zoom = /--zoom\s+(\d+(?:\.\d+)?)/.exec(value);
      if (!parent || !zoom || Number(zoom[1]) < 1 || Number(zoom[1]) > 2) {
        errorEmbed(ix, 'Invalid parameter', '`--zoom` must be between 1 and 2');
        return;
      }
      const reply = parent.resultMessageId
        ? discord.getMessage(ix.channelId, parent.resultMessageId)
        : undefined;
      runJob({ ...ix, name: 'imagine' }, echoPrompt(value, shortId), 'Zoom Out', true, reply);
    } else if (customId.startsWith('MJ::Picreader::Modal::')) {
      startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, value, '', true);
    }
  });

  discord.onInpaintSubmit((body) => {
    const entry = inpaintTokens.get(body.customId);
    if (!entry) return { ok: false, status: 404, message: 'unknown job' };
    if (!body.mask) return { ok: false, status: 400, message: 'mask is required' };
    inpaintTokens.delete(body.customId);
    const { ix, parent } = entry;
    const reply = parent.resultMessageId
      ? discord.getMessage(ix.channelId, parent.resultMessageId)
      : undefined;
    runJob(
      { ...ix, name: 'imagine' },
      echoPrompt(body.prompt || parent.prompt, shortId),
      'Variations (Region)',
      true,
      reply,
    );
    return { ok: true };
  });

  function describe(ix: InteractionContext): void {
    const file = ix.files[0];
    if (!file) {
      errorEmbed(ix, 'Invalid request', 'No image was given.');
      return;
    }
    const seed = randomUUID();
    const image = discord.storeFile(ix.channelId, `${Date.now()}.png`, file.bytes, file.contentType);
    const words = ['a luminous', 'a quiet', 'an ornate', 'a weathered', 'a dreamlike', 'a minimalist'];
    const h = file.bytes.reduce((a, b) => (a * 31 + b) >>> 0, 7);
    const prompts = [1, 2, 3, 4].map(
      (i) =>
        `${words[(h + i) % words.length]} scene of shapes and colour, ${['soft light', 'bold contrast', 'pastel tones', 'film grain'][i - 1]} --ar 1:1`,
    );
    later(null, ms(500), () =>
      gate(-1, () => {
        const msg = discord.postMessage(ix.channelId, {
          author: MJ_USER,
          type: ix.guildId ? 20 : 0,
          nonce: ix.nonce,
          webhook_id: MIDJOURNEY_APP_ID,
          application_id: MIDJOURNEY_APP_ID,
          ...interactionStamps(ix.id, 'describe', ix.user),
          embeds: [{ type: 'rich', image: { url: image.url }, color: 0 }],
        });
        later(null, ms(3000), () =>
          gate(100, () => {
            discord.editMessage(ix.channelId, msg.id, {
              embeds: [
                {
                  type: 'rich',
                  description: prompts.map((p, i) => `${['1️⃣', '2️⃣', '3️⃣', '4️⃣'][i]} ${p}`).join('\n\n'),
                  image: { url: image.url },
                  color: 0,
                },
              ],
              components: describeRows(),
            });
            remember({
              hash: seed,
              userId: ix.user.id,
              channelId: ix.channelId,
              nonce: ix.nonce,
              interactionId: ix.id,
              prompt: '',
              label: 'describe',
              resultMessageId: msg.id,
              state: 'done',
            });
          }),
        );
      }),
    );
  }

  return {
    faults: {
      interleaveOtherUsers: (on) => {
        f.interleave = on;
      },
      reverseOrder: (on) => {
        f.reverse = on;
        recentPrompts.clear();
      },
      neverAnswer: (n) => {
        f.silent += n;
      },
      omitInteractionMetadata: (on) => {
        f.omitMeta = on;
      },
      postToOtherChannel: (on) => {
        f.noise = on;
      },
      cancelOnEphemeralReply: (on) => {
        f.ephemeralCancel = on;
      },
      holdJobs: (on, afterPercent) => {
        f.holdAfter = on ? (afterPercent ?? Number.NEGATIVE_INFINITY) : null;
        releaseHeld();
      },
    },
    controls: extras.controls,
    jobByHash: (hash) => jobs.get(hash),
    stats: () => ({ ...counters, peakRunning: Object.fromEntries(peaks) }),
    exportState: () => ({
      jobs: [...jobs.values()].slice(-PERSISTED_JOBS),
      running: [...running.values()].map((r) => r.state),
    }),
    restore: (state) => {
      for (const job of state.jobs) jobs.set(job.hash, job);
      for (const st of state.running) {
        if (jobs.get(st.hash)?.state !== 'running') continue;
        const reply = st.replyId ? discord.getMessage(st.ix.channelId, st.replyId) : undefined;
        runJob(
          { ...st.ix, user: { ...st.user, token: '' } },
          st.prompt,
          st.label,
          st.grid,
          reply,
          st.failReply,
          st,
        );
      }
    },
    close: () => {
      closed = true;
      for (const r of running.values()) for (const t of r.timers) clearTimeout(t);
      running.clear();
      held.length = 0;
    },
  };
}
