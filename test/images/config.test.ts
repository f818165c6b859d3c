import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, imagesPublicUrl, parseConfig } from '../../src/config.ts';

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the images section (SPEC §6.7)', () => {
  test('defaults: local store under data/images, split on, URLs on the listen address', () => {
    const cfg = parseConfig({});
    assert.deepEqual(
      { store: cfg.images.store, dir: cfg.images.dir, split: cfg.images.split, prefix: cfg.images.s3.prefix },
      { store: 'local', dir: 'data/images', split: true, prefix: 'mjb/' },
    );
    assert.equal(imagesPublicUrl(cfg), 'http://127.0.0.1:8686', '0.0.0.0 is shown as 127.0.0.1');
    assert.equal(
      imagesPublicUrl(parseConfig({ images: { publicUrl: 'https://mj.example.com/' } })),
      'https://mj.example.com',
    );
  });

  test('unknown keys, wrong types and a bucketless s3 store are named by key', () => {
    assert.deepEqual(problems({ images: { stor: 'local' } }), ['images.stor: unknown key']);
    assert.deepEqual(problems({ images: { s3: { bucket: 'b', acl: 'x' } } }), ['images.s3.acl: unknown key']);
    assert.match(problems({ images: { store: 'ftp' } })[0] ?? '', /^images\.store: /);
    assert.match(
      problems({ images: { publicUrl: 'mj.example.com' } })[0] ?? '',
      /^images\.publicUrl: must be an http/,
    );
    assert.deepEqual(problems({ images: { store: 's3' } }), [
      'images.s3.bucket: is required when images.store is "s3"',
    ]);
    assert.match(problems({ images: { s3: { prefix: '/abs' } } })[0] ?? '', /^images\.s3\.prefix: /);
  });

  test('a store that cannot be written stops the service with exit code 2 and a readable line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mjb-img-cfg-'));
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the image directory should be');
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({
        listen: 'http://127.0.0.1:0',
        store: { url: `sqlite://${join(dir, 't.sqlite')}` },
        images: { dir: join(blocker, 'images') },
      }),
    );
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, MJB_CONFIG: file, LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stderr, /images\.dir: cannot write to .*not-a-dir\/images \(ENOTDIR\)/);
    assert.doesNotMatch(res.stderr, /at .*\.ts:\d+/);
  });
});
