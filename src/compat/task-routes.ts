/**
 * `/mj/task/*` and `/mj/account/*` (SPEC §12.2): reads answer compat tasks — a bare JSON array for
 * the lists (new-api's poller skips a whole batch on anything else), HTTP 404 with code 3 for an
 * unknown task (never an empty body) — and accounts as `/health` shows them, never a token.
 */
import type { AccountHealth, EngineApi } from '../engine/api.ts';
import { CODE, type CompatAnswer, CompatError, envelope, viaEngine } from './envelope.ts';
import type { Route } from './router.ts';
import { CompatJson } from './task-json.ts';
import { compatTask } from './view.ts';

/** An account in the naming of the compat admin clients. */
function compatAccount(a: AccountHealth): Record<string, unknown> {
  const extra = a as AccountHealth & Record<string, unknown>;
  return {
    id: a.id,
    channelId: a.id,
    enable: a.state !== 'disabled',
    status: a.state,
    running: a.running,
    queued: a.queued,
    mode: extra.mode ?? null,
    fastTimeRemaining: extra.fastTimeRemaining ?? null,
    subscribePlan: extra.subscription ?? null,
    remix: extra.remix ?? null,
    remixAutoSubmit: extra.remixAutoSubmit === true,
    pausedUntil: extra.pausedUntil ?? null,
    properties: { disabledReason: a.reason },
  };
}

function json(body: unknown, status = 200): CompatAnswer {
  return { status, body };
}

function ids(body: unknown): string[] {
  const list = (body as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(list)) throw new CompatError(CODE.INVALID, 'ids must be an array of task ids');
  if (list.length > 1000) throw new CompatError(CODE.INVALID, 'ids must have at most 1000 ids');
  // An id that cannot be a task is unknown, and unknown ids are left out of the answer.
  return list
    .filter((v) => (typeof v === 'string' && /^\d{1,30}$/.test(v)) || (Number.isSafeInteger(v) && v >= 0))
    .map(String);
}

/** The task and account read routes. */
export function taskRoutes(engine: EngineApi): Route[] {
  const tasks = new CompatJson(engine);
  const listByIds = async (body: unknown): Promise<CompatAnswer> => {
    const wanted = [...new Set(ids(body))];
    return { status: 200, body: null, json: await viaEngine(() => tasks.list(wanted)) };
  };
  return [
    {
      pattern: /^\/mj\/task\/(\d{1,30})\/fetch$/,
      methods: {
        GET: async (r) => {
          const id = r.params[0] ?? '';
          const task = await viaEngine(() => tasks.of(id));
          if (task === undefined) return envelope(CODE.NOT_FOUND, `task ${id} not found`, null, {}, 404);
          return { status: 200, body: null, json: task };
        },
      },
    },
    {
      pattern: /^\/mj\/task\/[^/]+\/fetch$/,
      methods: {
        GET: async () => envelope(CODE.NOT_FOUND, 'task not found: an id is digits', null, {}, 404),
      },
    },
    {
      pattern: /^\/mj\/task\/list-by-(?:condition|ids)$/,
      methods: { POST: async (r) => listByIds(await r.body()) },
    },
    {
      pattern: /^\/mj\/task\/list$/,
      methods: {
        GET: async (r) => {
          const raw = r.query.get('limit');
          const limit = raw === null || raw === '' ? 20 : Number(raw);
          if (!Number.isInteger(limit) || limit < 1 || limit > 100)
            throw new CompatError(CODE.INVALID, 'limit must be an integer from 1 to 100');
          const list = await viaEngine(() => engine.list({ limit }));
          const facts = await viaEngine(() => Promise.all(list.map((t) => engine.facts(t.id))));
          return json(list.map((t, i) => compatTask(t, facts[i])));
        },
      },
    },
    {
      pattern: /^\/mj\/task\/(\d{1,30})\/image-seed$/,
      methods: {
        GET: async (r) => {
          const id = r.params[0] ?? '';
          if (!(await viaEngine(() => engine.get(id))))
            return envelope(CODE.NOT_FOUND, `task ${id} not found`, null, {}, 404);
          const seed = await viaEngine(() => engine.seed(id));
          return envelope(CODE.SUBMITTED, 'success', seed);
        },
      },
    },
    {
      pattern: /^\/mj\/task\/(\d{1,30})\/cancel$/,
      methods: {
        POST: async (r) => {
          const id = r.params[0] ?? '';
          const task = await viaEngine(() => engine.cancel(id));
          return envelope(CODE.SUBMITTED, 'Cancelled', task.id);
        },
      },
    },
    {
      pattern: /^\/mj\/account\/list$/,
      methods: { GET: async () => json(engine.health().accounts.map(compatAccount)) },
    },
    {
      pattern: /^\/mj\/account\/([^/]+)\/fetch$/,
      methods: {
        GET: async (r) => {
          const acc = engine.health().accounts.find((a) => a.id === r.params[0]);
          if (!acc) return envelope(CODE.NOT_FOUND, `account ${r.params[0]} not found`, null, {}, 404);
          return json(compatAccount(acc));
        },
      },
    },
  ];
}
