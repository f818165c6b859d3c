/** The facts of a task the engine keeps beside its JSON, as readers may see them (SPEC §12.3). */
import type { TaskFacts } from './api.ts';
import type { TaskMeta } from './store.ts';

/** A snapshot of `meta`'s reader-facing facts (later changes of `meta` do not reach it). */
export function factsOf(meta: TaskMeta): TaskFacts {
  return {
    nonce: meta.nonce,
    progressMessageId: meta.progressMessageId,
    flags: meta.messageFlags,
    messageContent: meta.messageContent ?? null,
    origin: meta.origin,
  };
}
