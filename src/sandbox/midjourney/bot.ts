/**
 * The simulated Midjourney bot: answers interactions on the fake Discord with the real message
 * sequences, and faults on demand: other users' look-alike jobs, reversed finishing order,
 * silence, jobs held mid-way. This file wires its parts and routes each interaction:
 * core.ts (jobs, clock, holds), run-job.ts (a job from waiting to result), commands.ts
 * (`/imagine`, `/blend`, the prompt switches), describe.ts, buttons.ts (follow-ups that start
 * work), forms.ts (PicReader, Custom Zoom, Vary Region) and extras.ts (the 2026 surface).
 */
import { parseCustomId } from '../../midjourney/custom-ids.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { FakeDiscord, FakeUser } from '../discord/api.ts';
import { pressButton } from './buttons.ts';
import { createPromptStarter } from './commands.ts';
import { createCore, type RunningJobState, type SandboxJob } from './core.ts';
import { describeImage } from './describe.ts';
import { attachExtras, type BotControls } from './extras.ts';
import { attachClassicForms } from './forms.ts';
import { createJobRunner } from './run-job.ts';
import { createUsers } from './users.ts';

export type { RunningJobState, SandboxJob } from './core.ts';

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

/** Jobs the sandbox persists (the newest; the bot keeps more in memory). */
const PERSISTED_JOBS = 2000;

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
  const core = createCore(discord, opts.speed, opts.onChange);
  const { flags: f, jobs, running } = core;
  const users = createUsers();
  const runner = createJobRunner(core, { ...opts, modeOf: (userId) => users.state(userId).mode });
  const starter = createPromptStarter(core, runner, (ix, title) => extras.failSwitch(ix, title));
  const extras = attachExtras(core, runner, starter, users, opts.dmChannelFor);
  const forms = attachClassicForms(core, runner, starter);

  discord.onInteraction((ix) => {
    if (ix.applicationId !== MIDJOURNEY_APP_ID) return;
    if (extras.handle(ix)) return;
    if (ix.type === 2) {
      if (!starter.onCommand(ix) && ix.data.name === 'describe') describeImage(core, ix);
      return;
    }
    if (ix.type === 3) {
      const info = parseCustomId(String(ix.data.custom_id ?? ''));
      if (!info) return;
      if (info.action === 'CANCEL_JOB') {
        if (info.hash) runner.cancel(info.hash);
        return;
      }
      const parent = info.hash ? jobs.get(info.hash) : undefined;
      if (forms.open(ix, info, parent) || !parent) return;
      pressButton(core, runner, ix, info, parent);
      return;
    }
    forms.submit(ix);
  });

  return {
    faults: {
      interleaveOtherUsers: (on) => {
        f.interleave = on;
      },
      reverseOrder: (on) => {
        f.reverse = on;
        runner.forgetPrompts();
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
        core.releaseHeld();
      },
    },
    controls: extras.controls,
    jobByHash: (hash) => jobs.get(hash),
    stats: () => ({ ...core.counters, peakRunning: Object.fromEntries(core.peakRunning) }),
    exportState: () => ({
      jobs: [...jobs.values()].slice(-PERSISTED_JOBS),
      running: [...running.values()].map((r) => r.state),
    }),
    restore: (state) => {
      for (const job of state.jobs) jobs.set(job.hash, job);
      for (const st of state.running) {
        if (jobs.get(st.hash)?.state !== 'running') continue;
        const reply = st.replyId ? discord.getMessage(st.ix.channelId, st.replyId) : undefined;
        runner.runJob(
          { ...st.ix, user: { ...st.user, token: '' } },
          { prompt: st.prompt, label: st.label, grid: st.grid, reply, failReply: st.failReply },
          st,
        );
      }
    },
    close: () => core.close(),
  };
}
