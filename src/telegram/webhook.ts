/**
 * The webhook endpoint (SPEC §7.8): Telegram's POSTs at the webhook path, checked with the
 * secret-token header, bounded in size, handed to the front as parsed updates. In a cluster every
 * instance serves it (the load balancer picks one; the front's claim keeps a redelivery that
 * lands elsewhere from being handled twice).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const BODY_MAX = 1024 * 1024;

export interface TelegramWebhook {
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * The secret-token Telegram sends back with each update: the configured one, else one derived
 * from the bot token, so that every instance of a cluster expects the same one.
 */
export function webhookSecret(configured: string, token: string): string {
  return configured || createHash('sha256').update(`mjb-webhook:${token}`).digest('hex');
}

/** Compared without trailing slashes, as the API server routes paths. */
const trimPath = (path: string) => path.replace(/\/+$/, '') || '/';

/**
 * `handleUpdate` resolves once the update is dispatched; it throws when the update could not be
 * taken (Redis down in a cluster): Telegram then gets a 500 and delivers it again.
 */
export function createWebhook(
  url: string,
  secret: string,
  handleUpdate: (update: { update_id: number }) => Promise<void>,
): TelegramWebhook {
  const hookPath = trimPath(new URL(url).pathname);
  return {
    path: hookPath,
    async handle(req, res) {
      const path = trimPath((req.url ?? '').split('?')[0] ?? '');
      if (path !== hookPath) {
        res.writeHead(404).end();
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const given = Buffer.from(String(req.headers['x-telegram-bot-api-secret-token'] ?? ''));
      const wanted = Buffer.from(secret);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        req.resume();
        res.writeHead(403).end();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > BODY_MAX) {
          res.writeHead(413).end();
          return;
        }
        chunks.push(chunk as Buffer);
      }
      let update: unknown;
      try {
        update = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (
        !update ||
        typeof update !== 'object' ||
        typeof (update as { update_id?: unknown }).update_id !== 'number'
      ) {
        res.writeHead(400).end();
        return;
      }
      try {
        // Handlers only dispatch, so Telegram gets its 200 at once.
        await handleUpdate(update as { update_id: number });
      } catch {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
  };
}
