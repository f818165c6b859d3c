/**
 * §11 row 4: zlib-stream dispatches decoded and routed per second on one core: real compressed
 * frames (one deflate context, a sync flush per payload, as Discord sends them) through the
 * client's decoder, the envelope and message checks the gateway path uses, and the task matcher. Baseline: the
 * same payloads through JSON.parse alone.
 */
import { constants, createDeflate } from 'node:zlib';
import { readEnvelope, readMessage } from '../src/discord/fast-check.ts';
import { ZlibStreamDecoder } from '../src/discord/zlib-stream.ts';
import { TaskIndex } from '../src/engine/matcher.ts';
import type { TaskRecord } from '../src/engine/store.ts';
import { blankTask } from '../src/engine/task.ts';
import { fmt, type Row } from './lib/report.ts';

const CHANNEL = '1300000000000000000';

function payload(i: number): string {
  return JSON.stringify({
    op: 0,
    s: i,
    t: 'MESSAGE_UPDATE',
    d: {
      id: String(1100000000000000000n + BigInt(i)),
      channel_id: '1300000000000000000',
      author: { id: '936929561302675456', username: 'Midjourney Bot', bot: true },
      content: `**prompt number ${i % 97} --ar 3:2** - <@1200000000000000001> (${i % 100}%) (fast)`,
      attachments: [
        {
          id: String(i),
          filename: `${'0'.repeat(8)}-0000-0000-0000-${String(i).padStart(12, '0')}_grid_0.webp`,
          url: 'https://cdn.discordapp.com/x.webp',
          size: 100,
        },
      ],
      components: [
        {
          type: 1,
          components: [
            {
              type: 2,
              style: 4,
              label: 'Cancel Job',
              custom_id: `MJ::CancelJob::ByJobid::00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
            },
          ],
        },
      ],
      embeds: [],
      nonce: null,
      flags: 0,
      type: 20,
    },
  });
}

async function compress(payloads: string[]): Promise<Buffer[]> {
  const deflate = createDeflate({ flush: constants.Z_SYNC_FLUSH });
  const frames: Buffer[] = [];
  for (const p of payloads) {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    deflate.on('data', onData);
    deflate.write(p);
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    deflate.off('data', onData);
    frames.push(Buffer.concat(chunks));
  }
  deflate.close();
  return frames;
}

export async function gatewayThroughput(n = 30_000): Promise<Row[]> {
  const payloads = Array.from({ length: n }, (_, i) => payload(i));
  const frames = await compress(payloads);
  // A busy account: three live tasks of its own, none of which these messages belong to, so
  // every rule of the matcher runs.
  const index = new TaskIndex();
  const live = new Map<string, TaskRecord>();
  for (let i = 0; i < 3; i++) {
    const rec: TaskRecord = {
      task: {
        ...blankTask(`17000000000000000${i}0`, 'IMAGINE'),
        prompt: `another prompt ${i}`,
        status: 'RUNNING',
      },
      meta: {
        seq: i,
        accountId: CHANNEL,
        nonce: null,
        interactionId: null,
        progressMessageId: null,
        progressFlags: 0,
        messageFlags: 0,
        parentMessageId: null,
        parentHash: null,
        cancelRequested: false,
        notifyUrl: null,
        queuedAtMs: 0,
        startedAtMs: 0,
        inputImages: [],
      },
    };
    live.set(rec.task.id, rec);
    index.join(CHANNEL, rec.task.id);
  }
  const lookup = (id: string) => live.get(id);
  /** One pass over the whole stream, as a new connection would decode it; dispatches per second. */
  const route = (): number => {
    let routed = 0;
    const t0 = performance.now();
    const decoder = new ZlibStreamDecoder();
    for (const f of frames) {
      const text = decoder.push(f);
      if (text === undefined) continue;
      const env = readEnvelope(JSON.parse(text));
      const msg = env ? readMessage(env.d) : undefined;
      if (msg && index.match(CHANNEL, msg, lookup, '1200000000000000001')) throw new Error('misrouted');
      routed++;
    }
    if (routed !== n) throw new Error(`decoded ${routed} of ${n} payloads`);
    return n / ((performance.now() - t0) / 1000);
  };
  const parse = (): number => {
    const t1 = performance.now();
    let sink = 0;
    for (const p of payloads) sink += (JSON.parse(p) as { s: number }).s;
    if (sink < 0) throw new Error('unreachable');
    return n / ((performance.now() - t1) / 1000);
  };
  // Both warmed up, then the best of three interleaved passes each: the machine is shared, and a
  // pass another process interrupted says nothing about either.
  route();
  parse();
  let ours = 0;
  let base = 0;
  for (let i = 0; i < 3; i++) {
    ours = Math.max(ours, route());
    base = Math.max(base, parse());
  }
  return [
    {
      what: `gateway: zlib-stream dispatches decoded + validated + routed (${n} payloads)`,
      figure: `${fmt(ours, 0)} dispatches/s (best of 3 passes)`,
      baseline: `${fmt(base, 0)} JSON.parse/s of the same payloads (best of 3)`,
      ratio: `${fmt(ours / base)}×`,
      target: '≥ 20,000/s and ≥ 0.25× JSON.parse',
      met: ours >= 20_000 && ours / base >= 0.25,
    },
  ];
}
