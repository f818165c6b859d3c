/**
 * Who may do what in the console (SPEC §16): with a secret, only a signed-in browser; without
 * one, full access from this machine only, read-only from elsewhere unless `console.open`.
 */
import { isIP } from 'node:net';

/** `full`: read and act; `read`: look only; `none`: sign in first. */
export type Access = 'full' | 'read' | 'none';

export interface AccessInput {
  /** `settings.secret` is set. */
  secretSet: boolean;
  /** The request carries a valid session cookie. */
  signedIn: boolean;
  /** The request comes from this machine (see {@link isLocalRequest}). */
  local: boolean;
  /** `console.open`. */
  open: boolean;
}

/** The one access decision, pure so that every case can be tested without a network. */
export function decideAccess(a: AccessInput): Access {
  if (a.secretSet) return a.signedIn ? 'full' : 'none';
  return a.local || a.open ? 'full' : 'read';
}

function loopbackAddress(address: string): boolean {
  const a = address.replace(/^::ffff:/i, '');
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

function loopbackHost(hostHeader: string): boolean {
  // "[::1]:8686" → "::1"; "localhost:8686" → "localhost"
  const host = hostHeader.startsWith('[')
    ? hostHeader.slice(1, hostHeader.indexOf(']'))
    : hostHeader.replace(/:\d+$/, '');
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || loopbackAddress(h);
}

/**
 * A request from this machine: the peer is a loopback address AND the browser addressed a
 * loopback name. The second half stops DNS rebinding, where a page of another site reaches
 * 127.0.0.1 under its own host name; proxy headers are never trusted.
 */
export function isLocalRequest(remoteAddress: string | undefined, hostHeader: string | undefined): boolean {
  return !!remoteAddress && !!hostHeader && loopbackAddress(remoteAddress) && loopbackHost(hostHeader);
}

/**
 * An action request that a page of another site could not have sent: it carries our custom
 * header (which a cross-site form or a no-CORS fetch cannot set) and, when the browser names
 * the origin, that origin is this host.
 */
export function sameOriginAction(headers: {
  'x-mjb-console'?: string | string[] | undefined;
  origin?: string | undefined;
  host?: string | undefined;
  'sec-fetch-site'?: string | string[] | undefined;
}): boolean {
  if (headers['x-mjb-console'] !== '1') return false;
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
