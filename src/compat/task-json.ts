/**
 * Compat task JSON for reads that come in bulk (new-api polls `list-by-condition` with every
 * unfinished id every 15 s). A finished task's compat JSON is made once and reused for as long
 * as the engine's stored JSON of it is the same text (a seed read later changes it), so a poll
 * of finished tasks costs a string comparison per task instead of a rebuild and a serialisation.
 * A list asked for again is answered with the bytes made for it the last time when none of its
 * tasks changed: no joining, no encoding, no length count per poll.
 */
import type { EngineApi } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import { compatTask } from './view.ts';

const MAX_CACHED = 10_000;
/** Lists kept as bytes (a poller asks for the same few lists again and again). */
const MAX_LISTS = 32;

/** Keeps `map` within `max` entries, the least recently set going first. */
function bound<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

export class CompatJson {
  private readonly cache = new Map<string, { stored: string; compat: string }>();
  private readonly lists = new Map<string, { parts: (string | undefined)[]; bytes: Buffer }>();

  constructor(private readonly engine: EngineApi) {}

  /** The compat JSON of a task, or undefined when it is unknown. */
  async of(id: string): Promise<string | undefined> {
    return this.fromStored(id, this.engine.getJson ? await this.engine.getJson(id) : undefined);
  }

  /** The compat JSON of a task whose stored JSON is `stored` (undefined: read it afresh). */
  private async fromStored(id: string, stored: string | undefined): Promise<string | undefined> {
    if (stored === undefined) return this.fresh(id);
    const hit = this.cache.get(id);
    if (hit && hit.stored === stored) return hit.compat;
    const parsed = JSON.parse(stored) as Task;
    // Unfinished: its queue place is not in the stored JSON.
    if (!isTerminal(parsed.status)) return this.fresh(id);
    // A finished task's facts do not change after its last change: they are cached with it.
    const compat = JSON.stringify(compatTask(parsed, await this.engine.facts(id)));
    this.cache.delete(id);
    this.cache.set(id, { stored, compat });
    bound(this.cache, MAX_CACHED);
    return compat;
  }

  private async fresh(id: string): Promise<string | undefined> {
    const task = await this.engine.get(id);
    return task ? JSON.stringify(compatTask(task, await this.engine.facts(id))) : undefined;
  }

  /** A bare JSON array (UTF-8) of the known ones among `ids`, in their order. */
  async list(ids: string[]): Promise<Buffer> {
    const stored = await this.engine.getJsonMany(ids);
    // A cached task costs a lookup, no promise and no wait; only the others are awaited.
    const parts: (string | undefined)[] = new Array(ids.length);
    const misses: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const s = stored[i];
      const hit = s === undefined ? undefined : this.cache.get(id);
      if (hit && hit.stored === s) parts[i] = hit.compat;
      else
        misses.push(
          this.fromStored(id, s).then((p) => {
            parts[i] = p;
          }),
        );
    }
    if (misses.length > 0) await Promise.all(misses);
    const key = ids.join(',');
    const hit = this.lists.get(key);
    // The same text for every task (mostly the very same string): the same answer.
    if (hit?.parts.every((p, i) => p === parts[i])) return hit.bytes;
    const bytes = Buffer.from(`[${parts.filter((p) => p !== undefined).join(',')}]`);
    this.lists.delete(key);
    this.lists.set(key, { parts, bytes });
    bound(this.lists, MAX_LISTS);
    return bytes;
  }
}
