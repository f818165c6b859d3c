/**
 * Banned words (SPEC §6.9): the seed's list, a configured list, or a file. Matching ignores case
 * and respects word boundaries, so `bra` does not match `brave`.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_BANNED_WORDS = [
  'making love',
  'no clothes',
  'no shirt',
  'bare',
  'barely dressed',
  'nude',
  'bra',
  'wearing nothing',
  'with no shirt',
  'naked',
  'without clothes on',
  'negligee',
  'zero clothes',
];

export interface BannedWords {
  words: readonly string[];
  /** The first banned word or phrase the prompt contains, or null. */
  find(prompt: string): string | null;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function bannedWordsFrom(words: readonly string[]): BannedWords {
  const clean = [...new Set(words.map((w) => w.trim().toLowerCase()).filter(Boolean))];
  const patterns = clean.map((w) => ({
    word: w,
    re: new RegExp(
      `(?<![\\p{L}\\p{N}_])${w.split(/\s+/).map(escapeRegExp).join('\\s+')}(?![\\p{L}\\p{N}_])`,
      'iu',
    ),
  }));
  return {
    words: clean,
    find(prompt) {
      for (const p of patterns) if (p.re.test(prompt)) return p.word;
      return null;
    },
  };
}

/** Reads `settings.bannedWords`: null → built-in; array → those; `{file}` → one per line, `#` comments. */
export function loadBannedWords(setting: null | string[] | { file: string }): BannedWords {
  if (setting === null) return bannedWordsFrom(DEFAULT_BANNED_WORDS);
  if (Array.isArray(setting)) return bannedWordsFrom(setting);
  const lines = readFileSync(setting.file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
  return bannedWordsFrom(lines);
}
