/**
 * `npm run bench`: every row of SPEC §11 that runs here, each against a baseline measured in the
 * same run, printed as one markdown table (and the machine it ran on).
 */
import { cpus, totalmem } from 'node:os';
import { apiThroughput } from './api-throughput.ts';
import { clusterThroughput } from './cluster.ts';
import { compatList } from './compat-list.ts';
import { engineLatency } from './engine-latency.ts';
import { gatewayThroughput } from './gateway-throughput.ts';
import { hostileBodies } from './hostile-bodies.ts';
import { storedImages } from './images.ts';
import { type Row, table } from './lib/report.ts';
import { scale } from './scale.ts';
import { slotUse } from './slot-use.ts';
import { telegramChats } from './telegram.ts';
import { vsNpmClient } from './vs-npm-client.ts';

const quick = process.argv.includes('--quick');
/** `--only <step>[,<step>]` runs just those steps (names as in the list below, e.g. `slot use`). */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',').map((s) => s.trim())) : null;
const rows: Row[] = [];
const steps: [string, () => Promise<Row[]>][] = [
  ['api throughput', () => apiThroughput(quick ? 1 : 2, quick ? 3 : 5)],
  ['compat list-by-condition', () => compatList(quick ? 1 : 3, 100, quick ? 1 : 3)],
  ['engine latency', () => engineLatency(quick ? 30 : 500)],
  ['gateway throughput', () => gatewayThroughput(quick ? 5000 : 30_000)],
  ['scale', () => scale(quick ? 10 : 50, quick ? 300 : 5000)],
  ['slot use', () => slotUse(10, quick ? 60 : 300)],
  ['telegram chats', () => telegramChats(quick ? 20 : 100)],
  ['vs npm client', () => vsNpmClient(quick ? 3 : 10)],
  ['cluster', () => clusterThroughput(quick ? 5 : 20)],
  ['hostile bodies', () => hostileBodies(quick ? 1 : 3)],
  ['stored images', () => storedImages(quick ? 10 : 50)],
];
for (const [name, run] of steps) {
  if (only && !only.has(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    rows.push(...(await run()));
  } catch (err) {
    // One step that cannot run (a missing redis-server, say) does not take the others' rows with it.
    process.stderr.write(`bench: ${name} failed: ${(err as Error).message}\n`);
    rows.push({
      what: name,
      figure: `failed: ${(err as Error).message}`,
      baseline: '',
      ratio: '',
      target: '',
      met: false,
    });
  }
}
const cpu = cpus()[0]?.model ?? 'unknown cpu';
process.stdout.write(
  `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n${table(rows)}\n`,
);
process.exit(0);
