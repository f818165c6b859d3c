/**
 * Reading one stored task record defensively: a record an older version wrote with a `data`
 * value this version refuses (too deep to copy, too large) is repaired by dropping `data`; a
 * record that cannot be read at all is skipped. Either way the caller hears why.
 */
import { dataProblem } from './data-limits.ts';

/** What was wrong with one stored record. */
export interface RecordProblem {
  /** The task id, when it could be read. */
  id: string | undefined;
  reason: string;
  /** true: served without its `data`; false: left out. */
  repaired: boolean;
}

/** keyv's stored shape: the value plus its expiry. */
interface Envelope {
  value?: unknown;
  expires?: number | null;
}

function taskOf(value: unknown): { id?: unknown; data?: unknown } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const task = (value as { task?: unknown }).task;
  return task && typeof task === 'object' ? (task as { id?: unknown; data?: unknown }) : undefined;
}

/**
 * Deserialises `raw` with keyv's own `deserialize`, falling back to a plain (non-recursive)
 * parse when that overflows the stack, and repairs a `data` over the limits of data-limits.ts.
 */
export function readTaskRecord(
  raw: string,
  deserialize: (raw: string) => unknown,
  onProblem: (p: RecordProblem) => void,
): Envelope {
  let env: Envelope | undefined;
  try {
    env = deserialize(raw) as Envelope | undefined;
  } catch {
    // keyv's reviver recurses; JSON.parse without one does not. Drop the value that is too deep,
    // then let keyv's own reading undo its string escapes on what is left.
    try {
      const plainEnv = JSON.parse(raw) as Envelope;
      const task = taskOf(plainEnv?.value);
      if (!task) throw new Error('no task');
      const reason = dataProblem(task.data) ?? 'data could not be read back';
      task.data = null;
      env = deserialize(JSON.stringify(plainEnv)) as Envelope;
      onProblem({
        id: typeof task.id === 'string' ? task.id : undefined,
        reason: `${reason}; data dropped`,
        repaired: true,
      });
      return env;
    } catch {
      onProblem({ id: undefined, reason: 'record is not readable JSON', repaired: false });
      return { value: undefined };
    }
  }
  if (!env || typeof env !== 'object') return { value: undefined };
  const task = taskOf(env.value);
  if (task) {
    const reason = dataProblem(task.data);
    if (reason) {
      task.data = null;
      onProblem({
        id: typeof task.id === 'string' ? task.id : undefined,
        reason: `${reason}; data dropped`,
        repaired: true,
      });
    }
  }
  return env;
}
