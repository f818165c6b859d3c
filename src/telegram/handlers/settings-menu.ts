/**
 * `/settings` and `/language` (SPEC §15): one inline menu message that edits itself in place. The
 * callback data says what was pressed (`s:<owner>:<op>`, no store entry needed): only the owner
 * of the menu may press it, and every value is checked against the allowed lists. A change is
 * stored before the menu shows it.
 */
import type { FrontContext } from '../context.ts';
import { isLang, LANG_NAMES, LANGS, type Lang, type MessageKey, type Tr } from '../i18n/index.ts';
import type { InlineKeyboard } from '../keyboard.ts';
import { apiFailure, isNotModified } from '../sender.ts';
import { ASPECTS, addedParams, type Prefs, SPEEDS, STYLIZE, VERSIONS, versionLabel } from '../settings.ts';
import type { TgCallbackQuery } from '../updates.ts';
import { say, toast } from './reply.ts';

export const SETTINGS_PREFIX = 's:';

type Page = 'main' | 'v' | 'ar' | 's' | 'sp' | 'l' | 'L';
type Button = { text: string; callback_data: string };

const STYLIZE_KEY: Record<(typeof STYLIZE)[number], MessageKey> = {
  low: 'styLow',
  med: 'styMed',
  high: 'styHigh',
  veryhigh: 'styVeryHigh',
};
const SPEED_KEY: Record<(typeof SPEEDS)[number], MessageKey> = {
  fast: 'speedFast',
  relax: 'speedRelax',
  turbo: 'speedTurbo',
};

function data(owner: number, op: string): string {
  return `${SETTINGS_PREFIX}${owner}:${op}`;
}

/** The menu's text and keyboard for a page. */
export function settingsView(
  t: Tr,
  prefs: Prefs,
  owner: number,
  page: Page,
  speeds: readonly string[],
): { text: string; keyboard: InlineKeyboard } {
  const onOff = (v: boolean) => (v ? t('setOn') : t('setOff'));
  const lang: Lang = prefs.lang ?? t.lang;
  const labels = {
    v: t('setVersion', { value: prefs.version ? versionLabel(prefs.version) : t('setDefault') }),
    ar: t('setAspect', { value: prefs.aspect ?? t('setDefault') }),
    s: t('setStylize', { value: prefs.stylize ? t(STYLIZE_KEY[prefs.stylize]) : t('setDefault') }),
    raw: t('setRaw', { value: onOff(prefs.raw) }),
    sp: t('setSpeed', {
      value: prefs.speed && speeds.includes(prefs.speed) ? t(SPEED_KEY[prefs.speed]) : t('setDefault'),
    }),
    d: t('setDraft', { value: onOff(prefs.draft) }),
    l: t('setLanguage', {
      value: prefs.lang ? LANG_NAMES[prefs.lang] : `${t('setAuto')} (${LANG_NAMES[lang]})`,
    }),
    al: t('setAlbum', { value: onOff(prefs.album) }),
  };
  const params = addedParams(prefs, '', speeds) || t('setNothing');
  const head = `${t('setTitle')}\n${params}`;
  const b = (text: string, op: string): Button => ({ text, callback_data: data(owner, op) });
  const mark = (on: boolean, text: string) => (on ? `✓ ${text}` : text);
  const back = [b(t('setBack'), 'p:main')];
  const pairs = (list: Button[]) => {
    const rows: Button[][] = [];
    for (let i = 0; i < list.length; i += 3) rows.push(list.slice(i, i + 3));
    return rows;
  };
  switch (page) {
    case 'main': {
      const rows: Button[][] = [
        [b(labels.v, 'p:v'), b(labels.ar, 'p:ar')],
        [b(labels.s, 'p:s'), b(labels.raw, 'raw')],
        speeds.length > 0 ? [b(labels.sp, 'p:sp'), b(labels.d, 'd')] : [b(labels.d, 'd')],
        [b(labels.l, 'p:l'), b(labels.al, 'al')],
      ];
      return { text: head, keyboard: { inline_keyboard: rows } };
    }
    case 'v':
      return {
        text: `${head}\n\n${t('setChoose', { what: labels.v })}`,
        keyboard: {
          inline_keyboard: [
            ...pairs([
              b(mark(prefs.version === null, t('setDefault')), 'v=-'),
              ...VERSIONS.map((v) => b(mark(prefs.version === v, versionLabel(v)), `v=${v}`)),
            ]),
            back,
          ],
        },
      };
    case 'ar':
      return {
        text: `${head}\n\n${t('setChoose', { what: labels.ar })}`,
        keyboard: {
          inline_keyboard: [
            ...pairs([
              b(mark(prefs.aspect === null, t('setDefault')), 'ar=-'),
              ...ASPECTS.map((a) => b(mark(prefs.aspect === a, a), `ar=${a}`)),
            ]),
            back,
          ],
        },
      };
    case 's':
      return {
        text: `${head}\n\n${t('setChoose', { what: labels.s })}`,
        keyboard: {
          inline_keyboard: [
            ...pairs([
              b(mark(prefs.stylize === null, t('setDefault')), 's=-'),
              ...STYLIZE.map((s) => b(mark(prefs.stylize === s, t(STYLIZE_KEY[s])), `s=${s}`)),
            ]),
            back,
          ],
        },
      };
    case 'sp':
      return {
        text: `${head}\n\n${t('setChoose', { what: labels.sp })}`,
        keyboard: {
          inline_keyboard: [
            ...pairs([
              b(mark(prefs.speed === null, t('setDefault')), 'sp=-'),
              ...SPEEDS.filter((s) => speeds.includes(s)).map((s) =>
                b(mark(prefs.speed === s, t(SPEED_KEY[s])), `sp=${s}`),
              ),
            ]),
            back,
          ],
        },
      };
    case 'l':
    case 'L': {
      // 'L' is the stand-alone /language menu: a choice ends it instead of going back.
      const op = page === 'L' ? 'L' : 'l';
      const rows = pairs([
        b(mark(prefs.lang === null, t('setAuto')), `${op}=-`),
        ...LANGS.map((l) => b(mark(prefs.lang === l, LANG_NAMES[l]), `${op}=${l}`)),
      ]);
      return {
        text: page === 'L' ? t('languageAsk') : `${head}\n\n${t('setChoose', { what: labels.l })}`,
        keyboard: { inline_keyboard: page === 'L' ? rows : [...rows, back] },
      };
    }
  }
}

export async function openSettings(
  ctx: FrontContext,
  t: Tr,
  chatId: number,
  userId: number,
  replyTo: number,
): Promise<void> {
  const prefs = await ctx.prefs.get(userId);
  const view = settingsView(t, prefs, userId, 'main', ctx.speeds);
  await say(ctx, chatId, view.text, { replyTo, replyMarkup: view.keyboard });
}

export async function openLanguageMenu(
  ctx: FrontContext,
  t: Tr,
  chatId: number,
  userId: number,
  replyTo: number,
): Promise<void> {
  const prefs = await ctx.prefs.get(userId);
  const view = settingsView(t, prefs, userId, 'L', ctx.speeds);
  await say(ctx, chatId, view.text, { replyTo, replyMarkup: view.keyboard });
}

/** What a press changes, or null when its value is not one of the allowed ones. */
function change(op: string, prefs: Prefs, speeds: readonly string[]): Partial<Prefs> | null {
  const [field, raw] = op.split('=', 2) as [string, string | undefined];
  const value = raw === '-' ? null : raw;
  const allowed = (list: readonly string[]) =>
    value === null || (value !== undefined && list.includes(value));
  switch (field) {
    case 'raw':
      return { raw: !prefs.raw };
    case 'd':
      return { draft: !prefs.draft };
    case 'al':
      return { album: !prefs.album };
    case 'v':
      return allowed(VERSIONS) ? { version: value as Prefs['version'] } : null;
    case 'ar':
      return allowed(ASPECTS) ? { aspect: value as Prefs['aspect'] } : null;
    case 's':
      return allowed(STYLIZE) ? { stylize: value as Prefs['stylize'] } : null;
    case 'sp':
      return allowed(SPEEDS.filter((s) => speeds.includes(s))) ? { speed: value as Prefs['speed'] } : null;
    case 'l':
    case 'L':
      return value === null || isLang(value) ? { lang: value } : null;
    default:
      return null;
  }
}

/** A press on a settings or language menu. */
export async function onSettingsPress(ctx: FrontContext, t: Tr, cq: TgCallbackQuery): Promise<void> {
  const m = /^s:(\d+):(.+)$/.exec(cq.data ?? '');
  const message = cq.message;
  if (!m || !message) {
    await toast(ctx, cq.id, t('expired'));
    return;
  }
  const owner = Number(m[1]);
  const op = m[2] ?? '';
  if (owner !== cq.from.id) {
    await toast(ctx, cq.id, t('notYours'));
    return;
  }
  let prefs = await ctx.prefs.get(owner);
  let page: Page = 'main';
  let lang = t;
  if (op.startsWith('p:')) {
    const wanted = op.slice(2);
    if (!['main', 'v', 'ar', 's', 'sp', 'l'].includes(wanted)) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    page = wanted as Page;
    await toast(ctx, cq.id, '');
  } else {
    const patch = change(op, prefs, ctx.speeds);
    if (!patch) {
      await toast(ctx, cq.id, t('expired'));
      return;
    }
    prefs = await ctx.prefs.update(owner, patch);
    lang = await ctx.prefs.trOf(owner, cq.from.language_code);
    await toast(ctx, cq.id, lang('setSaved'));
    if (op.startsWith('L=')) {
      await editMenu(ctx, message.chat.id, message.message_id, lang('languageSet'), undefined);
      return;
    }
  }
  const view = settingsView(lang, prefs, owner, page, ctx.speeds);
  await editMenu(ctx, message.chat.id, message.message_id, view.text, view.keyboard);
}

async function editMenu(
  ctx: FrontContext,
  chatId: number,
  messageId: number,
  text: string,
  keyboard: InlineKeyboard | undefined,
): Promise<void> {
  try {
    await ctx.sender.call(
      'editMessageText',
      { chat_id: chatId, message_id: messageId, text, ...(keyboard ? { reply_markup: keyboard } : {}) },
      { chatId, priority: 'message' },
    );
  } catch (err) {
    if (!isNotModified(err))
      ctx.logger.warn({ chat: chatId, err: apiFailure(err).description }, 'settings menu not updated');
  }
}
