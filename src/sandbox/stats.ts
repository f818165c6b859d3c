/**
 * What the simulated Discord saw, for cluster tests and integrators (SPEC §8): every accepted
 * interaction, counted per account, and every nonce seen more than once — a client that sends
 * the same job twice shows up here, whichever of its instances sent it.
 */
import type { FakeDiscord } from './discord/api.ts';

export interface SandboxStats {
  interactions: number;
  duplicateNonces: number;
  jobs: number;
  /** Per account channel id: the most jobs Midjourney generated at once (its `concurrency` held?). */
  peakRunning: Record<string, number>;
  /** Per account channel id. */
  byAccount: Record<string, { interactions: number; duplicateNonces: number }>;
}

/** Nonces remembered for the duplicate check; older ones are forgotten (bounded memory). */
const MAX_NONCES = 200_000;

/** Starts counting the interactions `discord` accepts; `bot()` reads the bot's job counts. */
export function countInteractions(
  discord: FakeDiscord,
  bot: () => { started: number; peakRunning: Record<string, number> },
): () => SandboxStats {
  let interactions = 0;
  let duplicateNonces = 0;
  const byAccount = new Map<string, { interactions: number; duplicateNonces: number }>();
  const seen = new Set<string>();
  discord.onInteraction((ix) => {
    interactions++;
    let acc = byAccount.get(ix.channelId);
    if (!acc) {
      acc = { interactions: 0, duplicateNonces: 0 };
      byAccount.set(ix.channelId, acc);
    }
    acc.interactions++;
    if (!ix.nonce) return;
    if (seen.has(ix.nonce)) {
      duplicateNonces++;
      acc.duplicateNonces++;
      return;
    }
    seen.add(ix.nonce);
    if (seen.size > MAX_NONCES) {
      const oldest = seen.values().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
  });
  return () => ({
    interactions,
    duplicateNonces,
    jobs: bot().started,
    peakRunning: bot().peakRunning,
    byAccount: Object.fromEntries([...byAccount].map(([id, a]) => [id, { ...a }])),
  });
}
