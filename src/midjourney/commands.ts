/**
 * Midjourney's slash commands as Discord knows them (id + version, reference §4.2), the built-in
 * defaults, and reading fresh values from an application-command index when Discord says a
 * version is outdated (SPEC §6.5).
 */
import { z } from 'zod';
import { MIDJOURNEY_APP_ID } from './ids.ts';

/** The slash commands the bridge sends. */
export type CommandName = 'imagine' | 'describe' | 'blend';

/** What an interaction needs to name a command: Discord rejects a stale `version`. */
export interface CommandRef {
  id: string;
  version: string;
}

/** One {@link CommandRef} per command the bridge sends. */
export type CommandTable = Record<CommandName, CommandRef>;

/** Values seen in every maintained bridge in 2024–2026 (reference §4.2). */
export const DEFAULT_COMMANDS: Readonly<CommandTable> = Object.freeze({
  imagine: Object.freeze({ id: '938956540159881230', version: '1237876415471554623' }),
  describe: Object.freeze({ id: '1092492867185950852', version: '1237876415471554625' }),
  blend: Object.freeze({ id: '1062880104792997970', version: '1237876415471554624' }),
});

const NAMES: readonly CommandName[] = ['imagine', 'describe', 'blend'];

const indexSchema = z.looseObject({
  application_commands: z.array(z.unknown()),
});

const commandSchema = z.looseObject({
  id: z.string().min(1),
  version: z.string().min(1),
  name: z.string(),
  application_id: z.string(),
});

/**
 * Reads Midjourney's commands out of a `GET …/application-command-index` answer
 * (`{applications, application_commands: [{id, version, name, application_id}], …}`).
 * Commands of other applications (niji included) and malformed entries are skipped; a command
 * missing from the index is missing from the result, so callers keep what they had.
 */
export function commandsFromIndex(json: unknown): Partial<CommandTable> {
  const index = indexSchema.safeParse(json);
  if (!index.success) return {};
  const found: Partial<CommandTable> = {};
  for (const entry of index.data.application_commands) {
    const cmd = commandSchema.safeParse(entry);
    if (!cmd.success || cmd.data.application_id !== MIDJOURNEY_APP_ID) continue;
    const name = NAMES.find((n) => n === cmd.data.name);
    if (name && !found[name]) found[name] = { id: cmd.data.id, version: cmd.data.version };
  }
  return found;
}
