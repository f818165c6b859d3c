/**
 * Admin commands (SPEC §15): `/accounts` (each account's state, reason, running and queued jobs,
 * and what `/info` told when known: mode, fast time left, pause) and `/queue` (its length, per
 * account). The caller checks that the user is an admin.
 */
import type { AccountHealth } from '../../engine/api.ts';
import type { FrontContext } from '../context.ts';
import type { MessageKey, Tr } from '../i18n/index.ts';
import { cut, TEXT_LIMIT } from '../texts.ts';
import { say } from './reply.ts';

const STATE_KEY: Record<string, MessageKey> = {
  ready: 'stReady',
  connecting: 'stConnecting',
  reconnecting: 'stReconnecting',
  disabled: 'stDisabled',
  paused: 'stPaused',
};

/** Unix seconds as `2026-12-02 01:30 UTC`. */
function when(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  return Number.isNaN(date.getTime())
    ? String(unixSeconds)
    : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The `/accounts` text. */
export function accountsText(t: Tr, accounts: readonly AccountHealth[]): string {
  if (accounts.length === 0) return t('accNone');
  const lines = [t('accTitle')];
  for (const a of accounts) {
    const key = STATE_KEY[a.state];
    lines.push(
      t('accLine', { id: a.id, state: key ? t(key) : a.state, running: a.running, queued: a.queued }),
    );
    if (a.reason) lines.push(t('accReason', { reason: a.reason }));
    if (a.mode) lines.push(t('accMode', { mode: a.mode }));
    if (typeof a.fastTimeRemaining === 'number')
      lines.push(t('accFast', { hours: Math.round(a.fastTimeRemaining * 10) / 10 }));
    if (a.pausedUntil) lines.push(t('accPaused', { until: when(a.pausedUntil) }));
  }
  return cut(lines.join('\n'), TEXT_LIMIT);
}

/** The `/queue` text. */
export function queueText(t: Tr, queue: number, accounts: readonly AccountHealth[]): string {
  const lines = [t('queueTitle', { count: queue })];
  for (const a of accounts) lines.push(t('queueLine', { id: a.id, running: a.running, queued: a.queued }));
  return cut(lines.join('\n'), TEXT_LIMIT);
}

export async function showAccounts(ctx: FrontContext, t: Tr, chatId: number, replyTo: number): Promise<void> {
  await say(ctx, chatId, accountsText(t, ctx.engine.health().accounts), { replyTo });
}

export async function showQueue(ctx: FrontContext, t: Tr, chatId: number, replyTo: number): Promise<void> {
  const health = ctx.engine.health();
  await say(ctx, chatId, queueText(t, health.queue, health.accounts), { replyTo });
}
