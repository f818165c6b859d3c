/**
 * What every part of the simulated Midjourney bot shares: the jobs it remembers (their buttons
 * can be pressed), its clock at the sandbox's speed (timers that die with the bot, and the hold
 * that parks messages for tests), the fault switches, and the answers common to all commands.
 */
import { randomBytes } from 'node:crypto';
import type { DiscordMessage } from '../../discord/types.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { FakeDiscord, FakeUser, InteractionContext } from '../discord/api.ts';
import { interactionStamps, MJ_USER, RED } from './messages.ts';

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
  /** The next of the progress steps to send (all sent: the result is next). */
  step: number;
  /** The speed as its messages say it (`fast`, `relaxed`, `turbo`): its flag, else the user's mode. */
  speed?: string;
}

/** A job in flight: its timers go when it is cancelled or the bot closes. */
export interface Running {
  job: SandboxJob;
  user: FakeUser;
  progressId: string | null;
  timers: NodeJS.Timeout[];
  grid: boolean;
  state: RunningJobState;
}

/** The interaction a job answers (a slash command, a button, a form, or a restored job's). */
export interface JobIx {
  id: string;
  nonce: string | undefined;
  channelId: string;
  guildId: string | undefined;
  user: FakeUser;
  /** The interaction name its messages carry (`imagine`, `blend`, …). */
  name: string;
}

/** The fault switches as the running bot reads them (set through `BotFaults`). */
export interface FaultFlags {
  interleave: boolean;
  reverse: boolean;
  /** Jobs still to leave unanswered. */
  silent: number;
  omitMeta: boolean;
  noise: boolean;
  /** Messages past this progress wait (holdJobs); null: no hold. */
  holdAfter: number | null;
  ephemeralCancel: boolean;
}

/** The shared machinery, handed to each part of the bot. */
export interface BotCore {
  readonly discord: FakeDiscord;
  readonly flags: FaultFlags;
  readonly jobs: Map<string, SandboxJob>;
  readonly running: Map<string, Running>;
  readonly counters: { started: number; finished: number };
  /** Per channel, the most jobs ever generating at once. */
  readonly peakRunning: ReadonlyMap<string, number>;
  /** Tells the sandbox that what it persists of the bot changed (and updates the peaks). */
  changed(): void;
  /** Keeps a job (its buttons can be pressed later); the oldest finished ones are forgotten. */
  remember(job: SandboxJob): void;
  /** Milliseconds of Midjourney time at the sandbox's speed. */
  ms(realMs: number): number;
  /** A short random id, as in `s.mj.run` links. */
  shortId(): string;
  /** Runs `fn` after `delay` unless the bot closed; the timer dies with `r` when one is given. */
  later(r: Running | null, delay: number, fn: () => void): NodeJS.Timeout;
  /** Sends a job's message now, or parks it while a hold keeps messages past `at` back. */
  gate(at: number, go: () => void): void;
  /** Sends the parked messages the hold lets through now. */
  releaseHeld(): void;
  /** The interaction stamps of an answer, unless the fault leaves them out. */
  stamps(ix: { id: string; name: string; user: FakeUser }): object;
  /** Midjourney's error embed answering the interaction. */
  errorEmbed(
    ix: InteractionContext,
    title: string,
    description: string,
    color?: number,
    footer?: string,
  ): void;
  /** The message holding a job's result, when it is still there. */
  resultMessage(job: SandboxJob, channelId: string): DiscordMessage | undefined;
  /** Stops every timer; nothing is sent after. */
  close(): void;
}

/** Jobs kept in memory (their buttons can be pressed); the sandbox persists the newest of them. */
const MAX_JOBS = 5000;

export function createCore(discord: FakeDiscord, speed: number, onChange?: () => void): BotCore {
  const jobs = new Map<string, SandboxJob>();
  const running = new Map<string, Running>();
  const held: { at: number; go: () => void }[] = [];
  const flags: FaultFlags = {
    interleave: false,
    reverse: false,
    silent: 0,
    omitMeta: false,
    noise: false,
    holdAfter: null,
    ephemeralCancel: false,
  };
  let closed = false;
  const peaks = new Map<string, number>();
  const changed = () => {
    const now = new Map<string, number>();
    for (const r of running.values()) now.set(r.job.channelId, (now.get(r.job.channelId) ?? 0) + 1);
    for (const [c, n] of now) if (n > (peaks.get(c) ?? 0)) peaks.set(c, n);
    onChange?.();
  };

  return {
    discord,
    flags,
    jobs,
    running,
    counters: { started: 0, finished: 0 },
    peakRunning: peaks,
    changed,
    remember: (job) => {
      jobs.set(job.hash, job);
      if (jobs.size > MAX_JOBS) {
        for (const hash of jobs.keys()) {
          if (jobs.size <= MAX_JOBS) break;
          if (!running.has(hash)) jobs.delete(hash);
        }
      }
      changed();
    },
    ms: (realMs) => Math.max(1, realMs / speed),
    shortId: () => randomBytes(6).toString('base64url'),
    later: (r, delay, fn) => {
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
    },
    gate: (at, go) => {
      if (flags.holdAfter !== null && at > flags.holdAfter) held.push({ at, go });
      else go();
    },
    releaseHeld: () => {
      const limit = flags.holdAfter;
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
    },
    stamps: (ix) => (flags.omitMeta ? {} : interactionStamps(ix.id, ix.name, ix.user)),
    errorEmbed: (ix, title, description, color = RED, footer) => {
      discord.postMessage(ix.channelId, {
        author: MJ_USER,
        type: ix.guildId ? 20 : 0,
        nonce: ix.nonce,
        webhook_id: MIDJOURNEY_APP_ID,
        application_id: MIDJOURNEY_APP_ID,
        ...interactionStamps(ix.id, String(ix.data.name ?? 'imagine'), ix.user),
        embeds: [
          { type: 'rich', title, description, color, ...(footer ? { footer: { text: footer } } : {}) },
        ],
        ...(ix.message ? { message_reference: { message_id: ix.message.id, channel_id: ix.channelId } } : {}),
      });
    },
    resultMessage: (job, channelId) =>
      job.resultMessageId ? discord.getMessage(channelId, job.resultMessageId) : undefined,
    close: () => {
      closed = true;
      for (const r of running.values()) for (const t of r.timers) clearTimeout(t);
      running.clear();
      held.length = 0;
    },
  };
}

/** The value of a slash command's option. */
export function optionValue(data: Record<string, unknown>, name: string): unknown {
  return (Array.isArray(data.options) ? (data.options as { name?: unknown; value?: unknown }[]) : []).find(
    (o) => o.name === name,
  )?.value;
}

/** The text of a submitted form's first field, trimmed. */
export function formValue(data: Record<string, unknown>): string {
  const rows = Array.isArray(data.components)
    ? (data.components as { components?: { value?: unknown }[] }[])
    : [];
  return String(rows[0]?.components?.[0]?.value ?? '').trim();
}

/** A form of one text field, as Midjourney opens them (custom zoom, PicReader, remix). */
export function textForm(custom_id: string, label: string, value: string) {
  return { type: 1, components: [{ type: 4, custom_id, label, style: 2, value }] };
}
