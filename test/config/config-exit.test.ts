import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { jsonErrorAt } from '../../src/config-json.ts';

function run(configText: string, env: Record<string, string> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), 'mjb-cfg-')), 'config.json');
  writeFileSync(file, configText);
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, MJB_CONFIG: file, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: res.status, stderr: res.stderr, file };
}

test('listen that is not a URL, with PORT set: exit 2 naming listen, no stack trace', () => {
  for (const listen of ['localhost:8686', 'not a url', 'http://[::1']) {
    const res = run(JSON.stringify({ listen }), { PORT: '9999' });
    assert.equal(res.status, 2, `${listen}: ${res.stderr}`);
    assert.match(res.stderr, /^ {2}listen: must be (an http\(s\)|a valid) URL$/m, listen);
    assert.doesNotMatch(res.stderr, /Invalid URL|at .*\.ts:\d+/, listen);
  }
});

test('a config file that is not JSON: exit 2 with line and column, and none of its content', () => {
  const token = '123456789:AAE-very-secret-token';
  const text = `{\n  "telegram": {\n    "token": "${token}" "admins": []\n  }\n}\n`;
  const res = run(text);
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /config\.json: not valid JSON at line 3, column 48$/m);
  assert.ok(!res.stderr.includes(token), 'the token is not echoed');
  assert.ok(!res.stderr.includes('telegram'), 'no content is echoed');
  const unquoted = run(`{"settings": {"secret": s3cr3t-value}}`);
  assert.equal(unquoted.status, 2);
  assert.match(unquoted.stderr, /not valid JSON at line 1, column 25$/m);
  assert.ok(!unquoted.stderr.includes('s3cr3t'));
});

test('jsonErrorAt points at the first character that cannot be JSON', () => {
  assert.deepEqual(jsonErrorAt('{"a": 1,}'), { line: 1, column: 9 });
  assert.deepEqual(jsonErrorAt('{"a":\n  tru }'), { line: 2, column: 6 });
  assert.deepEqual(jsonErrorAt('{"a": "x'), { line: 1, column: 9 });
  assert.deepEqual(jsonErrorAt('{"a": 1}}'), { line: 1, column: 9 });
  assert.deepEqual(jsonErrorAt(''), { line: 1, column: 1 });
  assert.equal(jsonErrorAt('{"a": [1, 2]}'), null);
});
