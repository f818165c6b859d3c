/**
 * §11 row 4: zlib-stream dispatches decoded and routed per second on one core: real compressed
 * frames (one deflate context, a sync flush per payload, as Discord sends them) through the
 * client's decoder, the payload schema, the message schema and the task matcher. Baseline: the
 * same payloads through JSON.parse alone.
 */
import { constants, createDeflate } from 'node:zlib';
import { gatewayPayloadSchema, messageSchema } from '../src/discord/types.ts';
import { ZlibStreamDecoder } from '../src/discord/zlib-stream.ts';
import { TaskIndex } from '../src/engine/matcher.ts';
import { fmt, type Row } from './lib/report.ts';

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
  const index = new TaskIndex();
  let routed = 0;
  const t0 = performance.now();
  const decoder = new ZlibStreamDecoder();
  for (const f of frames) {
    const text = decoder.push(f);
    if (text === undefined) continue;
    const env = gatewayPayloadSchema.parse(JSON.parse(text));
    const msg = messageSchema.safeParse(env.d);
    if (msg.success) index.match('1300000000000000000', msg.data, () => undefined, '1200000000000000001');
    routed++;
  }
  if (routed !== n) throw new Error(`decoded ${routed} of ${n} payloads`);
  const ours = n / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  let sink = 0;
  for (const p of payloads) sink += (JSON.parse(p) as { s: number }).s;
  const base = n / ((performance.now() - t1) / 1000);
  if (sink < 0) throw new Error('unreachable');
  return [
    {
      what: `gateway: zlib-stream dispatches decoded + validated + routed (${n} payloads)`,
      figure: `${fmt(ours, 0)} dispatches/s`,
      baseline: `${fmt(base, 0)} JSON.parse/s of the same payloads`,
      ratio: `${fmt(ours / base)}×`,
      target: '≥ 20,000/s',
      met: ours >= 20_000,
    },
  ];
}
