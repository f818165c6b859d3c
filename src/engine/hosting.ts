/**
 * Hosting images on Discord without a job (`upload-discord-images`, SPEC §12.2): the images are
 * fetched under the SSRF policy, uploaded through a ready account and posted in its channel, and
 * their CDN URLs (with `proxy.cdn`) come back, to be used in a later prompt.
 */
import type { Account } from './account.ts';
import { replaceCdn } from './cdn.ts';
import { EngineError } from './errors.ts';
import { type SubmitContext, uploadAndHost } from './submit.ts';

/** Uploads through the least busy usable account; errors are {@link EngineError}s. */
export async function hostImages(
  ctx: SubmitContext,
  accounts: Iterable<Account>,
  cdnOrigin: string,
  images: string[],
): Promise<string[]> {
  let best: Account | undefined;
  for (const a of accounts) {
    if (a.usable && (!best || a.running.size < best.running.size)) best = a;
  }
  if (!best) throw new EngineError('NO_ACCOUNT', 'no Midjourney account available');
  try {
    const urls = await uploadAndHost(ctx, best, images);
    return urls.map((u) => replaceCdn(u, cdnOrigin));
  } catch (err) {
    throw new EngineError('UPSTREAM_FAILED', `upload failed: ${(err as Error).message}`);
  }
}
