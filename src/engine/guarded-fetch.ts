/**
 * The one way out to user-given URLs (SPEC §10): input images and notifyUrl callbacks. Only
 * http(s); every resolved address checked against loopback, private, link-local and metadata
 * ranges (unless allowed); the connection pinned to the checked address; redirects re-checked;
 * bytes capped while streaming; a total timeout.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import { isForbiddenAddress } from './address-policy.ts';

export type FetchErrorCode =
  | 'URL_INVALID'
  | 'URL_FORBIDDEN'
  | 'FETCH_FAILED'
  | 'TOO_LARGE'
  | 'NOT_IMAGE'
  | 'TIMEOUT';

export class GuardedFetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GuardedFetchError';
  }
}

export { isForbiddenAddress } from './address-policy.ts';

export interface GuardOptions {
  allowPrivateNetworks: boolean;
  timeoutMs?: number;
  maxRedirects?: number;
  /** Resolver (tests map made-up names); must return every address of the host. */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
  /** Policy override for tests; the default is {@link isForbiddenAddress}. */
  isForbidden?: (address: string) => boolean;
}

const defaultResolve = (host: string) => dnsLookup(host, { all: true, verbatim: true });

async function checkedTarget(url: URL, o: GuardOptions): Promise<{ address: string; family: number }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GuardedFetchError('URL_INVALID', 'only http and https URLs are allowed');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!o.allowPrivateNetworks && /^metadata(\.google)?\.internal\.?$/i.test(host)) {
    throw new GuardedFetchError('URL_FORBIDDEN', 'the address is not allowed');
  }
  let addrs: { address: string; family: number }[];
  if (isIP(host)) addrs = [{ address: host, family: isIP(host) }];
  else {
    try {
      addrs = await (o.resolve ?? defaultResolve)(host);
    } catch {
      throw new GuardedFetchError('FETCH_FAILED', `cannot resolve ${host}`);
    }
  }
  if (addrs.length === 0) throw new GuardedFetchError('FETCH_FAILED', `cannot resolve ${host}`);
  const forbidden = o.isForbidden ?? isForbiddenAddress;
  if (!o.allowPrivateNetworks && addrs.some((a) => forbidden(a.address))) {
    throw new GuardedFetchError('URL_FORBIDDEN', 'the address is on a private or local network');
  }
  return addrs[0] as { address: string; family: number };
}

/** An undici dispatcher that connects only to the address we checked (no DNS rebinding). */
function pinnedAgent(target: { address: string; family: number }): Agent {
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) cb(null, [target] as never, target.family);
    else cb(null, target.address, target.family);
  };
  return new Agent({ connect: { lookup } });
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function guarded(
  input: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; maxBytes: number },
  o: GuardOptions,
): Promise<Raw> {
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new GuardedFetchError('URL_INVALID', 'not a valid URL');
  }
  for (let hop = 0; ; hop++) {
    const target = await checkedTarget(url, o);
    const agent = pinnedAgent(target);
    const left = deadline - Date.now();
    if (left <= 0) throw new GuardedFetchError('TIMEOUT', 'timed out');
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), left);
    try {
      const res = await request(url, {
        method: init.method,
        headers: { 'user-agent': 'midjourney-bridge', ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
        dispatcher: agent,
        signal: ac.signal,
      });
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && init.method === 'GET') {
        await res.body.dump();
        if (hop >= (o.maxRedirects ?? 3)) throw new GuardedFetchError('FETCH_FAILED', 'too many redirects');
        url = new URL(String(res.headers.location), url);
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > init.maxBytes) {
          ac.abort();
          throw new GuardedFetchError('TOO_LARGE', `larger than ${init.maxBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } catch (err) {
      if (err instanceof GuardedFetchError) throw err;
      if (ac.signal.aborted) throw new GuardedFetchError('TIMEOUT', 'timed out');
      throw new GuardedFetchError('FETCH_FAILED', (err as Error).message || 'connection failed');
    } finally {
      clearTimeout(timer);
      void agent.close();
    }
  }
}

const MAGIC: [string, (b: Buffer) => boolean, string][] = [
  [
    'image/png',
    (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
    'png',
  ],
  ['image/jpeg', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff, 'jpg'],
  [
    'image/gif',
    (b) =>
      b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a',
    'gif',
  ],
  [
    'image/webp',
    (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
    'webp',
  ],
];

function sniff(bytes: Buffer): { contentType: string; ext: string } | null {
  for (const [type, test, ext] of MAGIC) if (test(bytes)) return { contentType: type, ext };
  return null;
}

export interface FetchedImage {
  bytes: Buffer;
  contentType: string;
  filename: string;
}

/** Fetches an input image (http(s) URL or data URI) with the checks of SPEC §10; errors read as §6.8. */
export async function fetchImage(url: string, o: GuardOptions & { maxBytes: number }): Promise<FetchedImage> {
  const shown = url.startsWith('data:') ? `${url.slice(0, 30)}…` : url;
  let bytes: Buffer;
  const data = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url);
  if (data) {
    bytes = Buffer.from(data[1] ?? '', 'base64');
    if (bytes.length > o.maxBytes)
      throw new GuardedFetchError('TOO_LARGE', `image ${shown} is larger than ${o.maxBytes} bytes`);
  } else {
    try {
      const res = await guarded(url, { method: 'GET', maxBytes: o.maxBytes }, o);
      if (res.status !== 200) throw new GuardedFetchError('FETCH_FAILED', `HTTP ${res.status}`);
      bytes = res.body;
    } catch (err) {
      const e = err as GuardedFetchError;
      if (e.code === 'TOO_LARGE')
        throw new GuardedFetchError('TOO_LARGE', `image ${shown} is larger than ${o.maxBytes} bytes`);
      throw new GuardedFetchError(e.code ?? 'FETCH_FAILED', `could not fetch image ${shown}: ${e.message}`);
    }
  }
  const kind = sniff(bytes);
  if (!kind) throw new GuardedFetchError('NOT_IMAGE', `image ${shown} is not a PNG/JPEG/WEBP/GIF`);
  return { bytes, contentType: kind.contentType, filename: `image.${kind.ext}` };
}

/** POSTs JSON to a callback URL under the same policy; resolves with the status code. */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  o: GuardOptions,
): Promise<number> {
  const res = await guarded(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      maxBytes: 64 * 1024,
    },
    o,
  );
  return res.status;
}
