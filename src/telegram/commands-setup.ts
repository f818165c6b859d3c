/**
 * The command menus Telegram shows (SPEC §15): `setMyCommands` once per catalogue language and
 * once without a language (English), and for each admin known by id the admin commands as well,
 * in their chat's scope (again per language, since Telegram prefers a scope's language-less list
 * over the default scope's localised one).
 */
import type { FrontContext } from './context.ts';
import { LANGS, tr } from './i18n/index.ts';
import { apiFailure } from './sender.ts';
import { commandList } from './texts.ts';

/** Commands handled beyond the base set, when the engine offers them. */
const HANDLED_EXTRAS: string[] = ['shorten', 'seed'];

/** Commands offered beyond the base set (shorten, seed) once the engine supports them. */
export function extraCommands(ctx: FrontContext): string[] {
  const engine = ctx.engine as unknown as Record<string, unknown>;
  return HANDLED_EXTRAS.filter((name) => typeof engine[name] === 'function');
}

export async function registerCommands(ctx: FrontContext): Promise<void> {
  const extra = extraCommands(ctx);
  const scopes: { scope?: Record<string, unknown>; admin: boolean }[] = [
    { admin: false },
    ...ctx.access.adminChats().map((id) => ({ scope: { type: 'chat', chat_id: id }, admin: true })),
  ];
  for (const { scope, admin } of scopes) {
    for (const lang of [undefined, ...LANGS]) {
      const payload = {
        commands: commandList(tr(lang ?? 'en'), admin, extra),
        ...(scope ? { scope } : {}),
        ...(lang ? { language_code: lang } : {}),
      };
      try {
        await ctx.sender.call('setMyCommands', payload, { priority: 'message' });
      } catch (err) {
        ctx.logger.warn({ lang, scope, err: apiFailure(err).description }, 'setMyCommands failed');
      }
    }
  }
}
