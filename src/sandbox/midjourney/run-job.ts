/**
 * A generating job as Midjourney runs it (reference §4.4): "Waiting to start" (with the Cancel
 * Job button, or that button on an ephemeral reply), progress edits with small previews, a new
 * result message, then the progress message deleted. Also its late refusal (`--fail-reply`),
 * cancelling, picking up a job after a restart, and the faults that act on jobs: silence,
 * reversed finishing order, other users' look-alike jobs and noise in another channel.
 */
import { randomUUID } from 'node:crypto';
import type { DiscordMessage } from '../../discord/types.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { FakeUser } from '../discord/api.ts';
import { quadrantSize, renderGrid, renderUpscale } from '../grid-image.ts';
import { renderImage } from '../png.ts';
import type { BotCore, JobIx, Running, RunningJobState, SandboxJob } from './core.ts';
import { cancelRow, gridRows, MJ_USER, RED, slug, userRef } from './messages.ts';
import { resultParts } from './results.ts';

/** What a job makes: its echoed prompt, the words before the user, and whether a grid. */
export interface JobSpec {
  prompt: string;
  /** `Variations (Strong)`, `Zoom Out`, …; empty for an imagine. */
  label: string;
  grid: boolean;
  /** The message the job answers (a button's); its messages then reply to it. */
  reply?: DiscordMessage | undefined;
  /** A refusal to send once the job has started (`--fail-reply`). */
  failReply?: { title: string; description: string } | undefined;
}

export interface JobRunner {
  /** Starts a job; with `resume`, goes on with a job in flight from before a restart. */
  runJob(ix: JobIx, spec: JobSpec, resume?: RunningJobState): SandboxJob;
  /** Stops a job in flight: its progress message says `(Stopped)`, then goes. */
  cancel(hash: string): void;
  /** Forgets which prompts ran lately (the reverse-order fault starts afresh). */
  forgetPrompts(): void;
}

/** The progress percentages each job's message shows in turn. */
const STEPS = [0, 15, 31, 46, 62, 78, 93];
const EPHEMERAL = 1 << 6;

/** How a job's messages name its speed: the prompt's flag wins over the user's mode. */
function speedWord(prompt: string, userMode: 'fast' | 'relax' | 'turbo'): string {
  const flag = /(?:^|\s)--(fast|relax|turbo)(?=\s|$)/i.exec(prompt)?.[1]?.toLowerCase() ?? userMode;
  return flag === 'relax' ? 'relaxed' : flag;
}

function double(size: { width: number; height: number }): { width: number; height: number } {
  return { width: size.width * 2, height: size.height * 2 };
}

export function createJobRunner(
  core: BotCore,
  opts: {
    /** A user whose look-alike jobs interleave with ours (fault), and a noise channel. */
    otherUser?: FakeUser | undefined;
    noiseChannelId?: string | undefined;
    /** The speed a user's job without a flag runs in. */
    modeOf(userId: string): 'fast' | 'relax' | 'turbo';
  },
): JobRunner {
  const { discord, flags: f, counters, running } = core;
  const { ms, later, gate, changed } = core;
  const recentPrompts = new Map<string, number>();

  const runJob = (ix: JobIx, spec: JobSpec, resume?: RunningJobState): SandboxJob => {
    const { prompt, label, grid, reply, failReply } = spec;
    const hash = resume?.hash ?? randomUUID();
    const job: SandboxJob = core.jobs.get(hash) ?? {
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
      core.remember(job);
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
      speed: speedWord(prompt, opts.modeOf(ix.user.id)),
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
        ...core.stamps(ix),
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
          ...core.stamps(ix),
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
            ...core.stamps(ix),
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
          { prompt, label, grid, reply },
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
        content: (cur.content ?? '').replace(
          /\((Waiting to start|\d+%)\)( \((fast|relaxed|turbo)\))?/,
          '(Stopped)',
        ),
        components: [],
      });
    }
    later(null, ms(300), () => discord.deleteMessage(r.job.channelId, id));
  };

  return { runJob, cancel, forgetPrompts: () => recentPrompts.clear() };
}
