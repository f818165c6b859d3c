import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type ChildService, startChild } from '../helpers/child-service.ts';
import { ROUTES, seedEnvelope } from './routes-table.ts';

const SECRET = 'property-secret-1';

/** Hostile values: nested, huge, unicode, wrong-typed, and plausible ones to get past the first check. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.integer({ min: 30, max: 4000 }).map((n) => {
    let v: unknown = 'x';
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
    return v;
  }),
  fc.integer({ min: 8000, max: 3_000_000 }).map((n) => 'é'.repeat(n)),
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1e308,
    '',
    ' ',
    [],
    {},
    '1795592602140274574',
    'MJ::JOB::upsample::1::x',
    'http://127.0.0.1/a.png',
    'data:image/png;base64,iVBORw0KGgo=',
    'a red fox --ar 3:2',
    ['data:image/png;base64,iVBORw0KGgo=', 'http://[::1]/x.png'],
    'SQUARE',
    '\u0000\r\n',
    '\ud800',
  ),
);

const body: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: value },
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 3 }) },
);

let svc: ChildService;
before(async () => {
  svc = await startChild({ settings: { secret: SECRET, maxQueue: 10_000, maxImageBytes: 1024 * 1024 } });
});
after(async () => {
  await svc.stop();
});

function query(v: unknown, fields: string[]): string {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return '';
  const p = new URLSearchParams();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const text = typeof x === 'string' ? x : (JSON.stringify(x) ?? '');
    p.set(fields.includes(k) || Math.random() < 0.5 ? k : 'taskId', text.slice(0, 3000));
  }
  return `?${p.toString()}`;
}

test('hostile values thrown at every route of the table: never a 5xx, always the envelope, process up', async () => {
  const known = fc
    .constantFrom(...ROUTES)
    .chain((route) =>
      fc.tuple(
        fc.constant(route),
        fc.oneof(
          body,
          fc.record(Object.fromEntries(route.fields.map((f) => [f, value])), { requiredKeys: [] }),
        ),
      ),
    );
  let lastFailure = '';
  await fc
    .assert(
      fc.asyncProperty(known, async ([route, input]) => {
        const url = svc.base + route.path + (route.input === 'query' ? query(input, route.fields) : '');
        const res = await fetch(url, {
          method: route.method,
          headers: { 'mj-api-secret': SECRET, 'content-type': 'application/json' },
          ...(route.input === 'body' ? { body: JSON.stringify(input) ?? 'null' } : {}),
        });
        const text = await res.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const wellFormed = route.wellFormed ?? seedEnvelope;
        if (res.status >= 500 || !wellFormed(res.status, json)) {
          lastFailure = `${route.method} ${route.path} → ${res.status} ${text.slice(0, 300)}`;
          return false;
        }
        return true;
      }),
      { numRuns: 400 },
    )
    .catch((err: Error) => {
      // fast-check's own report quotes the (possibly megabytes long) input: say what came back.
      throw new Error(`${lastFailure}\n${err.message.slice(0, 600)}`);
    });
  assert.equal(svc.exitCode(), null, 'the process is still running');
  assert.equal((await fetch(`${svc.base}/health`)).status, 200);
  const errors = svc.logs().filter((l) => typeof l.level === 'number' && l.level >= 50);
  assert.deepEqual(errors, [], 'nothing was logged at error level');
});
