import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';

/**
 * The image CI cannot build here (no Docker) is checked the other way round: what the Dockerfile
 * copies exists, nothing it needs is ignored or left in devDependencies, and its start command and
 * HEALTHCHECK work on a copy of exactly those files.
 */
const root = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** Joins `\`-continued lines so each instruction is one line. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Sources of `COPY` lines that copy from the build context (not `--from=`). */
const copied = instructions
  .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
  .flatMap((l) =>
    l
      .replace(/^COPY\s+/, '')
      .split(/\s+/)
      .slice(0, -1),
  );

/** The exec-form array of an instruction such as CMD. */
function execForm(keyword: string): string[] {
  const line = instructions.find((l) => l.startsWith(`${keyword} `));
  assert.ok(line, `Dockerfile has ${keyword}`);
  return JSON.parse(line.slice(keyword.length + 1)) as string[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('Dockerfile', () => {
  test('every file it copies exists and none is excluded by .dockerignore', () => {
    assert.deepEqual(copied.sort(), ['package-lock.json', 'package.json', 'src', 'tsconfig.json']);
    for (const src of copied) {
      assert.ok(existsSync(join(root, src)), `${src} exists`);
      assert.ok(!ignored.includes(src), `${src} is not in .dockerignore`);
    }
    for (const kept of ['node_modules', '.git', 'data']) assert.ok(ignored.includes(kept), `${kept} ignored`);
  });

  test('runs as a non-root user with the data volume, port 8686 and a /health check', () => {
    assert.ok(instructions.includes('USER node'));
    assert.ok(instructions.some((l) => l.startsWith('VOLUME') && l.includes('/app/data')));
    assert.ok(instructions.includes('EXPOSE 8686'));
    assert.ok(instructions.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/health')));
    assert.match(instructions.find((l) => l.startsWith('RUN npm ci')) ?? '', /--omit=dev/);
  });

  test('everything src/ imports at run time is a production dependency (the image omits dev ones)', () => {
    const used = new Set<string>();
    for (const file of filesUnder(join(root, 'src')).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(file, 'utf8');
      // `import type` is erased at run time, so only value imports must resolve in the image.
      for (const m of text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^'.][^']*)'/gm)) {
        const spec = m[1] as string;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] as string);
        used.add(`${name} (${relative(root, file)})`);
        assert.ok(name in pkg.dependencies, `${name}, imported by ${relative(root, file)}, is a dependency`);
      }
    }
    assert.ok(used.size > 0);
    const cmd = execForm('CMD');
    if (cmd.includes('tsx'))
      assert.ok('tsx' in pkg.dependencies, 'tsx runs the image, so it is a dependency');
  });

  describe('its start command on a copy of the files it copies', () => {
    const app = mkdtempSync(join(tmpdir(), 'mjb-image-'));
    let child: ChildProcess | undefined;
    after(() => {
      child?.kill('SIGKILL');
    });

    test('serves /health in sandbox mode, passes the HEALTHCHECK and stops cleanly on SIGTERM', async () => {
      for (const src of copied) cpSync(join(root, src), join(app, src), { recursive: true });
      // Stands in for `npm ci` of the build stage.
      symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'), 'dir');
      const [bin, ...args] = execForm('CMD');
      assert.equal(bin, 'node');
      const proc = spawn(process.execPath, args, {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: '0', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      proc.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line in 30 s:\n${out}`)), 30_000);
        const look = () => {
          const m = /"url":"(http:\/\/[^"]+)"[^\n]*listening/.exec(out);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        proc.stdout?.on('data', look);
        proc.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
      });
      // Ready once the sandbox account's gateway is up, as the HEALTHCHECK's start period allows.
      let health: { status?: string; mode?: string } = {};
      for (const by = Date.now() + 15_000; health.status !== 'ok' && Date.now() < by; ) {
        health = (await (await fetch(`${url}/health`)).json()) as typeof health;
        if (health.status !== 'ok') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(health.status, 'ok');
      assert.equal(health.mode, 'sandbox');
      // The default store lands in ./data, the image's volume.
      assert.ok(existsSync(join(app, 'data')), 'data/ created beside the app');

      const check = instructions.find((l) => l.startsWith('HEALTHCHECK')) ?? '';
      const probe = /CMD node -e "(.+)"$/.exec(check)?.[1];
      assert.ok(probe, 'HEALTHCHECK runs node -e');
      const port = new URL(url).port;
      execFileSync(process.execPath, ['-e', probe], { env: { PORT: port }, timeout: 10_000 });

      const code = await new Promise<number | null>((resolve) => {
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      });
      assert.equal(code, 0, out);
      child = undefined;
    });
  });
});
