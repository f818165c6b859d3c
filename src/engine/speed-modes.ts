/**
 * The speed mode of each account (SPEC §12.1, §14). A job that cannot say its speed itself (a
 * blend or describe has no prompt to put `--relax` in; their follow-ups inherit it) is sent right
 * after Midjourney's `/fast`, `/relax` or `/turbo`, and only when the account is not known to be
 * in that mode already. The switch and the job it is for take one turn of the account, so two
 * jobs that want different modes never cross between a switch and its job.
 */
import { nonce as newNonce } from '../discord/snowflake.ts';
import type { Logger } from '../log.ts';
import { MIDJOURNEY_APP_ID, plainCommandPayload, type SpeedMode } from '../midjourney/index.ts';
import type { Account } from './account.ts';
import type { TaskRecord } from './store.ts';
import type { CommandTable } from './submit.ts';

type Outcome = 'done' | 'refused' | 'silent';

const SPEED_FLAG = /(^|\s)--(fast|relax|turbo)(?=\s|$)/i;

export interface SpeedModesOptions {
  commands: CommandTable;
  logger: Logger;
  /** How long a switch waits for Midjourney's `Done!` before its job goes anyway. */
  answerMs: number;
}

/**
 * The mode `rec` must be sent in, when its account may have to be switched for it: none for a
 * task without a speed, a prompt that carries its own flag, or the niji bot (its mode is its own).
 */
export function switchFor(rec: TaskRecord): SpeedMode | null {
  const speed = rec.meta.speed;
  if (!speed || rec.task.bot !== 'midjourney') return null;
  return SPEED_FLAG.test(rec.task.prompt) ? null : speed;
}

/** Switches accounts between fast, relax and turbo for the jobs that need it. */
export class SpeedModes {
  private readonly turns = new Map<string, Promise<void>>();
  private readonly answers = new Map<string, (outcome: Outcome) => void>();

  constructor(private readonly opts: SpeedModesOptions) {}

  /**
   * Runs `send` (one job's interaction) with the account in `speed`; without a speed it just
   * sends. Rejects with the REST client's error when Discord refuses the switch or the job.
   */
  inMode(account: Account, speed: SpeedMode | null, send: () => Promise<void>): Promise<void> {
    if (!speed) return send();
    return this.turn(account, async () => {
      await this.ensure(account, speed);
      await send();
    });
  }

  /**
   * Out of fast hours (SPEC §14): the account goes to relax mode and stays there while
   * `relaxWhenFastRunsOut` holds. True once Discord took `/relax`.
   */
  async relaxInstead(account: Account): Promise<boolean> {
    // Midjourney just said so: whatever `/info` said before, fast is what the account is in.
    account.info = { ...account.info, mode: 'fast', fastTimeRemaining: 0 };
    try {
      await this.turn(account, () => this.ensure(account, 'relax'));
      this.opts.logger.warn({ account: account.id }, 'fast hours ran out: account switched to relax mode');
      return true;
    } catch (err) {
      this.opts.logger.warn({ account: account.id, err: (err as Error).message }, '/relax failed');
      return false;
    }
  }

  /** Midjourney answered `/fast`, `/relax` or `/turbo` in the account's channel. */
  heard(account: Account, answer: { command: SpeedMode; done: boolean }): void {
    if (answer.done) account.info = { ...account.info, mode: answer.command };
    else {
      forgetMode(account);
      this.opts.logger.warn(
        { account: account.id, command: answer.command },
        'Midjourney refused the mode switch',
      );
    }
    const waiting = this.answers.get(account.id);
    this.answers.delete(account.id);
    waiting?.(answer.done ? 'done' : 'refused');
  }

  private turn(account: Account, fn: () => Promise<void>): Promise<void> {
    const before = this.turns.get(account.id) ?? Promise.resolve();
    const mine = before.then(fn);
    const settled = mine.then(
      () => {},
      () => {},
    );
    this.turns.set(account.id, settled);
    void settled.then(() => {
      if (this.turns.get(account.id) === settled) this.turns.delete(account.id);
    });
    return mine;
  }

  private async ensure(account: Account, speed: SpeedMode): Promise<void> {
    if (account.info.mode === speed) return;
    if (speed !== 'relax' && account.info.fastTimeRemaining === 0 && account.config.relaxWhenFastRunsOut) {
      // Switching back would only meet `Credits exhausted` again: the job runs in relax.
      if (account.info.mode === 'relax') return;
      speed = 'relax';
    }
    const answered = new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        if (this.answers.get(account.id) === done) this.answers.delete(account.id);
        resolve('silent');
      }, this.opts.answerMs);
      timer.unref();
      const done = (outcome: Outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      this.answers.set(account.id, done);
    });
    await account.interact(
      plainCommandPayload(
        {
          ...(account.config.guild_id ? { guildId: account.config.guild_id } : {}),
          channelId: account.id,
          sessionId: account.sessionId,
          nonce: newNonce(),
          applicationId: MIDJOURNEY_APP_ID,
        },
        this.opts.commands.get(speed),
        speed,
      ),
    );
    // Discord took it: the mode is taken as switched unless Midjourney refuses. Its `Done!` (or
    // its silence, after a while) lets the job go.
    account.info = { ...account.info, mode: speed };
    if ((await answered) === 'refused') forgetMode(account);
    else this.opts.logger.info({ account: account.id, mode: speed }, 'account speed mode switched');
  }
}

/** A refused switch leaves the mode as it was, which only the next `/info` can tell. */
function forgetMode(account: Account): void {
  const { mode: _unknown, ...rest } = account.info;
  account.info = rest;
}

/**
 * Out of fast hours (SPEC §14): the account is switched to relax and the task put back, first in
 * line; it fails only when `/relax` cannot be sent.
 */
export function relaxFallback(
  speeds: SpeedModes,
  rec: TaskRecord,
  account: Account,
  then: {
    fail(rec: TaskRecord, reason: string): void;
    requeue(rec: TaskRecord, account: Account): void;
    drain(): void;
  },
): void {
  void speeds.relaxInstead(account).then((ok) => {
    if (!ok) {
      then.fail(rec, '[Credits exhausted] no fast hours left, and relax mode could not be set');
      return;
    }
    then.requeue(rec, account);
    // Unlike `Queue full`, nothing is to wait for: relax mode takes the job now.
    account.busyUntil = 0;
    then.drain();
  });
}
