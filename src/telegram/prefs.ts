/**
 * Per-user settings in the store's `telegram` space (`user:<id>`), so they survive restarts and
 * are shared by every instance on one Redis. Reads are cached for a few seconds; a change is
 * written before it is shown to the user.
 */
import type { Logger } from '../log.ts';
import { type Lang, langFromCode, type Tr, tr } from './i18n/index.ts';
import { type KeyValue, readKey, writeKey } from './kv.ts';
import { DEFAULT_PREFS, type Prefs, prefsSchema } from './settings.ts';
import type { TgUser } from './updates.ts';

/** Users whose settings are kept in memory at most (oldest read dropped first). */
const CACHE_MAX = 5000;
/** How long a read is trusted: other instances on the same Redis may change a user's settings. */
const CACHE_MS = 5000;

export class UserPrefs {
  private readonly cache = new Map<number, { prefs: Prefs; at: number }>();

  constructor(
    private readonly kv: KeyValue,
    private readonly logger: Logger,
  ) {}

  async get(userId: number): Promise<Prefs> {
    const known = this.cache.get(userId);
    if (known && Date.now() - known.at < CACHE_MS) return known.prefs;
    const stored = await readKey(this.kv, `user:${userId}`, prefsSchema, this.logger);
    const prefs = stored ?? DEFAULT_PREFS;
    this.remember(userId, prefs);
    return prefs;
  }

  /** Applies a change and stores it; resolves once it is written. */
  async update(userId: number, patch: Partial<Prefs>): Promise<Prefs> {
    const next = { ...(await this.get(userId)), ...patch };
    await writeKey(this.kv, `user:${userId}`, next, this.logger);
    this.remember(userId, next);
    return next;
  }

  /** Keeps Telegram's language_code of a user up to date (written only when it changed). */
  async noteUser(user: TgUser): Promise<void> {
    const code = user.language_code;
    if (!code) return;
    const prefs = await this.get(user.id);
    if (prefs.telegramLang !== code) await this.update(user.id, { telegramLang: code });
  }

  /** The user's language: their choice, else Telegram's language_code, else English. */
  async langOf(userId: number, languageCode?: string): Promise<Lang> {
    const prefs = await this.get(userId);
    return prefs.lang ?? langFromCode(languageCode ?? prefs.telegramLang) ?? 'en';
  }

  async trOf(userId: number, languageCode?: string): Promise<Tr> {
    return tr(await this.langOf(userId, languageCode));
  }

  private remember(userId: number, prefs: Prefs): void {
    this.cache.delete(userId);
    this.cache.set(userId, { prefs, at: Date.now() });
    if (this.cache.size > CACHE_MAX) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
