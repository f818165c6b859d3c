import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

/** Rooms and the rooms each must never import (the one-way doors of the developers' guide). */
const FORBIDDEN: Record<string, string[]> = {
  discord: ['midjourney', 'engine', 'http', 'telegram', 'sandbox'],
  midjourney: ['engine', 'http', 'telegram', 'sandbox'],
  engine: ['http', 'telegram', 'sandbox'],
  images: ['engine', 'http', 'compat', 'telegram', 'console', 'sandbox'],
  http: ['telegram', 'sandbox'],
  compat: ['http', 'telegram', 'console', 'sandbox'],
  telegram: ['http', 'sandbox'],
  sandbox: ['engine', 'http', 'telegram'],
  console: ['http', 'compat', 'telegram', 'sandbox'],
};

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('rooms import only through their one-way doors', () => {
  const src = join(import.meta.dirname, '..', 'src');
  const violations: string[] = [];
  for (const [room, banned] of Object.entries(FORBIDDEN)) {
    let files: string[];
    try {
      files = filesUnder(join(src, room));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? '';
        if (!spec.startsWith('.')) continue;
        const target = relative(src, join(file, '..', spec)).split(/[\\/]/)[0] ?? '';
        if (banned.includes(target)) violations.push(`${relative(src, file)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
