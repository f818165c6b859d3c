import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DATA_MAX_BYTES, dataProblem } from '../../src/engine/data-limits.ts';
import { cleanText, quoted } from '../../src/http/errors.ts';
import { JsonScanner, type ScanProblem, scanJson } from '../../src/http/json-scan.ts';
import { seedBodyBounds } from '../../src/http/limits.ts';
import { requestTarget } from '../../src/http/target.ts';

const bounds = seedBodyBounds(10 * 1024 * 1024)['/image/imagine']!;

test('dataProblem measures depth and serialised size without recursing, and agrees with JSON.stringify', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(dataProblem(deep), 'data is nested deeper than 32 levels');
  assert.equal(dataProblem('x'.repeat(10_000_000)), 'data is larger than 64 KiB as JSON');
  assert.equal(dataProblem(Array(70_000).fill(0)), 'data is larger than 64 KiB as JSON');
  assert.equal(dataProblem(null), null);
  assert.equal(dataProblem({ a: [1, 'é', { b: null }] }), null);
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      const exact = Buffer.byteLength(JSON.stringify(v) ?? 'null');
      return (dataProblem(v) === null) === exact <= DATA_MAX_BYTES;
    }),
    { numRuns: 300 },
  );
});

test('scanJson names the field that is too deep or too large, and passes what fits', () => {
  const scan = (s: string) => scanJson(Buffer.from(s), bounds);
  assert.deepEqual(scan(`{"prompt":"x","data":${'['.repeat(40)}${']'.repeat(40)}}`), {
    field: 'data',
    kind: 'depth',
  });
  assert.deepEqual(scan(`{"data":"${'x'.repeat(400_000)}","prompt":"x"}`), { field: 'data', kind: 'size' });
  assert.deepEqual(scan(`{"d\\u0061ta":"${'x'.repeat(400_000)}"}`), { field: 'data', kind: 'size' });
  assert.deepEqual(scan(`{"prompt":"${'\\"'.repeat(30_000)}"}`), { field: 'prompt', kind: 'size' });
  assert.deepEqual(scan(`{"other":[${'1,'.repeat(40_000)}1]}`), { field: 'other', kind: 'size' });
  assert.equal(scan(`{"prompt":"a \\" } ] , : quoted","data":{"k":[1,2,{"x":"}"}]}}`), null);
  assert.equal(scan('[1,2,3]'), null);
  assert.equal(scan('{"prompt": "unterminated'), null);
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 5 }),
      (v) =>
        scanJson(Buffer.from(JSON.stringify({ data: v })), bounds) === null ||
        Buffer.byteLength(JSON.stringify(v)) > 65536,
    ),
    { numRuns: 300 },
  );
});

test('text shown in a msg carries no raw control character', () => {
  assert.equal(cleanText('a\r\nb\u0000c'), 'a\\r\\nb\\u0000c');
  assert.equal(quoted('say "hi"\n'), '"say \\"hi\\"\\n"');
  assert.equal(cleanText('x'.repeat(400)).length, 301);
});

test('request targets: origin-form and absolute-form are paths, anything else a 400', () => {
  assert.equal(requestTarget('/task/list?limit=5').pathname, '/task/list');
  assert.equal(requestTarget('http://1.2.3.4.5/task/list?x=1').pathname, '/task/list');
  assert.equal(requestTarget('http://[::ffff:zz]').pathname, '/');
  for (const bad of ['*', 'task/list', 'example.com:443']) {
    assert.throws(
      () => requestTarget(bad),
      (e: Error & { status?: number }) => e.status === 400,
    );
  }
});

test('fed in chunks of any size, the scanner finds what a one-shot scan finds', () => {
  const tight = { maxDepth: 4, fields: { data: 40, prompt: 30 }, otherField: 20 };
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.oneof(fc.constantFrom('data', 'prompt', 'd\\u0061ta'), fc.string({ maxLength: 6 })),
        fc.jsonValue({ maxDepth: 5 }),
        { maxKeys: 4 },
      ),
      fc.integer({ min: 1, max: 17 }),
      (obj, step) => {
        const buf = Buffer.from(JSON.stringify(obj).replace('"d\\\\u0061ta"', '"d\\u0061ta"'));
        const whole = scanJson(buf, tight);
        const scanner = new JsonScanner(tight);
        let found: ScanProblem | null = null;
        for (let i = 0; i < buf.length; i += step) found = scanner.feed(buf.subarray(i, i + step));
        // Where a value is both too deep and too large, which is seen first may differ.
        return (found === null) === (whole === null) && found?.field === whole?.field;
      },
    ),
    { numRuns: 500 },
  );
  const escapedKey = Buffer.from(`{"d\\u0061ta":"${'x'.repeat(100)}"}`);
  const scanner = new JsonScanner(tight);
  let found: unknown = null;
  for (const b of escapedKey) found = scanner.feed(Buffer.from([b]));
  assert.deepEqual(found, { field: 'data', kind: 'size' });
});
