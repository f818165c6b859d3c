/**
 * Compat task JSON for reads that come in bulk (new-api polls `list-by-condition` with every
 * unfinished id every 15 s). A finished task's compat JSON is made once and reused for as long
 * as the engine's stored JSON of it is the same text (a seed read later changes it), so a poll
 * of finished tasks costs a string comparison per task instead of a rebuild and a serialisation.
 */
import type { EngineApi } from '../engine/api.ts';
import { isTerminal, type Task } from '../engine/task.ts';
import { compatTask } from './view.ts';

const MAX_CACHED = 10_000;

export class CompatJson {
  private readonly cache = new Map<string, { stored: string; compat: string }>();

  constructor(private readonly engine: EngineApi) {}

  /** The compat JSON of a task, or undefined when it is unknown. */
  async of(id: string): Promise<string | undefined> {
    const stored = this.engine.getJson ? await this.engine.getJson(id) : undefined;
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
    if (this.cache.size > MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return compat;
  }

  private async fresh(id: string): Promise<string | undefined> {
    const task = await this.engine.get(id);
    return task ? JSON.stringify(compatTask(task, await this.engine.facts(id))) : undefined;
  }

  /** A bare JSON array of the known ones among `ids`, in their order. */
  async list(ids: string[]): Promise<string> {
    const parts = await Promise.all(ids.map((id) => this.of(id)));
    return `[${parts.filter((p) => p !== undefined).join(',')}]`;
  }
}
