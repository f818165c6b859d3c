/**
 * Midjourney's slash commands as Discord knows them (id + version, reference §4.2), the built-in
 * defaults, and reading fresh values from an application-command index when Discord says a
 * version is outdated (SPEC §6.5).
 */
import { z } from 'zod';
import { MIDJOURNEY_APP_ID } from './ids.ts';

/** The slash commands the bridge sends. */
export type CommandName =
  | 'imagine'
  | 'describe'
  | 'blend'
  | 'shorten'
  | 'info'
  | 'settings'
  | 'relax'
  | 'fast'
  | 'turbo';

/** What an interaction needs to name a command: Discord rejects a stale `version`. */
export interface CommandRef {
  id: string;
  version: string;
}

/** One {@link CommandRef} per command the bridge sends. */
export type CommandTable = Record<CommandName, CommandRef>;

/** The niji bot has no `/turbo` (reference §4.2 lists none). */
export type NijiCommandTable = Omit<CommandTable, 'turbo'>;

/** Values seen in every maintained bridge in 2024–2026 (reference §4.2). */
export const DEFAULT_COMMANDS: Readonly<CommandTable> = Object.freeze({
  imagine: Object.freeze({ id: '938956540159881230', version: '1237876415471554623' }),
  describe: Object.freeze({ id: '1092492867185950852', version: '1237876415471554625' }),
  blend: Object.freeze({ id: '1062880104792997970', version: '1237876415471554624' }),
  shorten: Object.freeze({ id: '1121575372539039774', version: '1247736572414001223' }),
  info: Object.freeze({ id: '972289487818334209', version: '1237876415735660565' }),
  settings: Object.freeze({ id: '1000850743479255081', version: '1493662068581077053' }),
  relax: Object.freeze({ id: '972289487818334213', version: '1237876415735660573' }),
  fast: Object.freeze({ id: '972289487818334212', version: '1237876415735660572' }),
  turbo: Object.freeze({ id: '1124132684143271996', version: '1237876415790055474' }),
});

/** The niji bot's own command ids (reference §4.2). */
export const NIJI_COMMANDS: Readonly<NijiCommandTable> = Object.freeze({
  imagine: Object.freeze({ id: '1023054140580057099', version: '1248805223892254774' }),
  describe: Object.freeze({ id: '1092683500743831652', version: '1248805223892254776' }),
  blend: Object.freeze({ id: '1061216934374424697', version: '1248805223892254775' }),
  shorten: Object.freeze({ id: '1121575453916942376', version: '1248805223892254777' }),
  info: Object.freeze({ id: '1023054140580057102', version: '1248805223892254782' }),
  settings: Object.freeze({ id: '1023054140634579025', version: '1493662157915684906' }),
  relax: Object.freeze({ id: '1023054140634579024', version: '1248805223925940262' }),
  fast: Object.freeze({ id: '1023054140580057107', version: '1248805223925940261' }),
});

const NAMES: readonly CommandName[] = [
  'imagine',
  'describe',
  'blend',
  'shorten',
  'info',
  'settings',
  'relax',
  'fast',
  'turbo',
];

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
 * Commands of other applications than `applicationId` (Midjourney's by default; pass
 * the niji id for niji's) and malformed entries are skipped; a command
 * missing from the index is missing from the result, so callers keep what they had.
 */
export function commandsFromIndex(
  json: unknown,
  applicationId: string = MIDJOURNEY_APP_ID,
): Partial<CommandTable> {
  const index = indexSchema.safeParse(json);
  if (!index.success) return {};
  const found: Partial<CommandTable> = {};
  for (const entry of index.data.application_commands) {
    const cmd = commandSchema.safeParse(entry);
    if (!cmd.success || cmd.data.application_id !== applicationId) continue;
    const name = NAMES.find((n) => n === cmd.data.name);
    if (name && !found[name]) found[name] = { id: cmd.data.id, version: cmd.data.version };
  }
  return found;
}
