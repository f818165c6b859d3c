/**
 * What an account hears from Midjourney beside its jobs (SPEC §14): `/info` at start and every
 * 30 minutes (speed mode, fast hours, plan), `/settings` (remix), the moderation notice pressed
 * away with `Acknowledge`, timed blocks that pause the account, the answers to the speed-mode
 * switches of {@link SpeedModes}, and the seed DMs.
 */
import { nonce as newNonce } from '../discord/snowflake.ts';
import type { DiscordMessage } from '../discord/types.ts';
import type { Logger } from '../log.ts';
import {
  buttonPayload,
  classifyNotice,
  isAcknowledgeButton,
  isMidjourneyAuthor,
  MIDJOURNEY_APP_ID,
  parseInfo,
  parseSeedDm,
  plainCommandPayload,
  remixFromContent,
  remixFromSettings,
  SEED_EMOJI,
  speedAnswer,
} from '../midjourney/index.ts';
import type { Account } from './account.ts';
import { EngineError } from './errors.ts';
import { SpeedModes } from './speed-modes.ts';
import type { TaskRecord } from './store.ts';
import type { CommandTable } from './submit.ts';

export interface AccountCareOptions {
  commands: CommandTable;
  logger: Logger;
  /** How often `/info` and `/settings` are asked again; 0: never, not even at start. */
  infoRefreshMs: number;
  /** Timed blocks last this many times shorter (the sandbox runs its clock faster). */
  blockScale: number;
  /** How long a seed DM may take. */
  seedTimeoutMs: number;
  /** How long a speed-mode switch waits for Midjourney's answer (default 5 s). */
  modeAnswerMs?: number;
}

interface SeedWait {
  accountId: string;
  hash: string | null;
  resolve: (seed: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Keeps each account's facts fresh and answers the messages that concern the account. */
export class AccountCare {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly acknowledged = new Set<string>();
  private readonly seeds = new Set<SeedWait>();
  private readonly seedReads = new Map<string, Promise<string>>();
  /** The accounts' speed modes (SPEC §12.1): switched for the jobs that need it. */
  readonly speeds: SpeedModes;

  constructor(private readonly opts: AccountCareOptions) {
    this.speeds = new SpeedModes({
      commands: opts.commands,
      logger: opts.logger,
      answerMs: opts.modeAnswerMs ?? 5000,
    });
  }

  /** The account is ready: ask `/info` and `/settings` now (once per session start) and then on schedule. */
  onReady(account: Account): void {
    if (this.opts.infoRefreshMs <= 0 || this.timers.has(account.id)) return;
    const ask = () => {
      void this.askInfo(account);
    };
    ask();
    const t = setInterval(ask, this.opts.infoRefreshMs);
    t.unref();
    this.timers.set(account.id, t);
  }

  stop(): void {
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
    for (const w of this.seeds) {
      clearTimeout(w.timer);
      w.reject(new EngineError('NO_ACCOUNT', 'the service is shutting down'));
    }
    this.seeds.clear();
  }

  private async askInfo(account: Account): Promise<void> {
    if (account.state !== 'ready') return;
    for (const name of ['info', 'settings'] as const) {
      try {
        await account.interact(
          plainCommandPayload(this.ctx(account, MIDJOURNEY_APP_ID), this.opts.commands.get(name), name),
        );
      } catch (err) {
        this.opts.logger.warn(
          { account: account.id, command: name, err: (err as Error).message },
          'command failed',
        );
      }
    }
  }

  /**
   * Looks at a Midjourney message of the account (its channel or a DM) before task matching.
   * Returns true when the message was only for the account (info, settings, seed DM): no task
   * is to see it. Moderation and block notices are acted on here and still passed on, so the
   * task they answer fails with their text.
   */
  handle(account: Account, msg: DiscordMessage): boolean {
    if (!isMidjourneyAuthor(msg)) return false;
    if (msg.channel_id !== account.id) return this.onDm(account, msg);
    const info = parseInfo(msg);
    if (info) {
      account.info = { ...account.info, ...info };
      this.opts.logger.info({ account: account.id, ...info }, 'account info');
      if (info.fastTimeRemaining === 0 && info.mode === 'fast' && account.config.relaxWhenFastRunsOut) {
        void this.speeds.relaxInstead(account);
      }
      return true;
    }
    const mode = speedAnswer(msg);
    if (mode) {
      this.speeds.heard(account, mode);
      return true;
    }
    const remix = remixFromSettings(msg) ?? remixFromContent(msg.content ?? '');
    if (remix !== null) {
      account.remix = remix;
      return true;
    }
    const notice = classifyNotice(msg);
    if (notice?.kind === 'moderation') void this.acknowledge(account, msg);
    if (notice?.kind === 'block' && notice.blockMs !== undefined) {
      const ms = notice.blockMs / Math.max(1, this.opts.blockScale);
      this.opts.logger.warn({ account: account.id, ms }, 'Midjourney blocked the account for a while');
      account.pause(Date.now() + ms, notice.reason);
    }
    return false;
  }

  private async acknowledge(account: Account, msg: DiscordMessage): Promise<void> {
    if (this.acknowledged.has(msg.id)) return;
    const button = (msg.components ?? [])
      .flatMap((r) => r.components ?? [])
      .find((b) => isAcknowledgeButton(b));
    if (!button?.custom_id) return;
    this.acknowledged.add(msg.id);
    try {
      await account.interact(
        buttonPayload(this.ctx(account, msg.author?.id ?? MIDJOURNEY_APP_ID), {
          messageId: msg.id,
          messageFlags: msg.flags ?? 0,
          customId: button.custom_id,
        }),
      );
      this.opts.logger.info({ account: account.id, message: msg.id }, 'moderation message acknowledged');
    } catch (err) {
      this.acknowledged.delete(msg.id);
      this.opts.logger.warn({ account: account.id, err: (err as Error).message }, 'acknowledge failed');
    }
  }

  /**
   * The seed of a finished task: cached on the task once read; readers that come while it is
   * being read share the one reaction. `save` persists the task with its seed.
   */
  seedOf(
    rec: TaskRecord,
    account: Account,
    save: (rec: TaskRecord, seed: string) => Promise<void>,
  ): Promise<string> {
    if (rec.task.seed) return Promise.resolve(rec.task.seed);
    const id = rec.task.id;
    let p = this.seedReads.get(id);
    if (!p) {
      p = this.readSeed(account, rec.task.messageId ?? '', rec.task.messageHash)
        .then(async (seed) => {
          try {
            await save(rec, seed);
          } catch (err) {
            throw new EngineError('STORE_FAILED', `could not store the seed: ${(err as Error).message}`);
          }
          return seed;
        })
        .finally(() => this.seedReads.delete(id));
      this.seedReads.set(id, p);
    }
    return p;
  }

  /**
   * Reacts with ✉️ on a result and waits for Midjourney's DM with the seed. Several readers of
   * one job share one reaction.
   */
  async readSeed(account: Account, messageId: string, hash: string | null): Promise<string> {
    const wait = new Promise<string>((resolve, reject) => {
      const w: SeedWait = {
        accountId: account.id,
        hash: hash?.toLowerCase() ?? null,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.seeds.delete(w);
          reject(new EngineError('UPSTREAM_FAILED', 'Midjourney did not send the seed in time'));
        }, this.opts.seedTimeoutMs),
      };
      w.timer.unref();
      this.seeds.add(w);
    });
    const emoji = encodeURIComponent(SEED_EMOJI);
    try {
      await account.rest.request(
        'PUT',
        `/channels/${account.id}/messages/${messageId}/reactions/${emoji}/@me`,
      );
    } catch (err) {
      for (const w of this.seeds) {
        if (w.accountId === account.id && w.hash === (hash?.toLowerCase() ?? null)) {
          clearTimeout(w.timer);
          this.seeds.delete(w);
        }
      }
      throw new EngineError('UPSTREAM_FAILED', `discord refused the ✉️ reaction: ${(err as Error).message}`);
    }
    return wait;
  }

  private onDm(account: Account, msg: DiscordMessage): boolean {
    const dm = parseSeedDm(msg.content ?? '');
    if (!dm) return false;
    const mine = [...this.seeds].filter((w) => w.accountId === account.id);
    // The DM names its job; one that does not can only be the answer when one reader waits.
    const hits = dm.hash ? mine.filter((w) => w.hash === dm.hash) : mine.length === 1 ? mine : [];
    for (const w of hits) {
      clearTimeout(w.timer);
      this.seeds.delete(w);
      w.resolve(dm.seed);
    }
    return true;
  }

  private ctx(account: Account, applicationId: string) {
    return {
      ...(account.config.guild_id ? { guildId: account.config.guild_id } : {}),
      channelId: account.id,
      sessionId: account.sessionId,
      nonce: newNonce(),
      applicationId,
    };
  }
}
