/**
 * `/task/fetch` answers kept as bytes. A client polls one task again and again, and between two
 * changes the engine hands out the very same JSON string; its answer is then the same bytes, so
 * a poll costs a map lookup and a string comparison, not a concatenation, a UTF-8 length count
 * and an encoding of a few kilobytes.
 */

/** Tasks whose answers are kept; the least recently made goes first. */
const MAX_KEPT = 2_000;

export class FetchAnswers {
  private readonly kept = new Map<string, { json: string; bytes: Buffer }>();

  /** The `{"code":0,"msg":"success","data":…}` answer for task `id` whose JSON is `json`. */
  answer(id: string, json: string): Buffer {
    const hit = this.kept.get(id);
    if (hit && hit.json === json) return hit.bytes;
    const bytes = Buffer.from(`{"code":0,"msg":"success","data":${json}}`);
    this.kept.delete(id);
    this.kept.set(id, { json, bytes });
    if (this.kept.size > MAX_KEPT) {
      const oldest = this.kept.keys().next();
      if (!oldest.done) this.kept.delete(oldest.value);
    }
    return bytes;
  }
}
