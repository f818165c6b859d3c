/**
 * The message catalogues: every key of the English catalogue exists in every other one, with the
 * same placeholders, and every text renders with nothing left unfilled.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { en, type MessageKey } from '../../src/telegram/i18n/en.ts';
import { CATALOGUES, LANGS, langFromCode, placeholders, tr } from '../../src/telegram/i18n/index.ts';

const KEYS = Object.keys(en) as MessageKey[];

describe('catalogues', () => {
  test('every key is in every catalogue, with the same placeholders, and nothing else', () => {
    for (const lang of LANGS) {
      const cat = CATALOGUES[lang];
      assert.deepEqual(Object.keys(cat).sort(), [...KEYS].sort(), `keys of ${lang}`);
      for (const key of KEYS) {
        assert.ok(cat[key].trim().length > 0, `${lang}.${key} is empty`);
        assert.deepEqual(placeholders(cat[key]), placeholders(en[key]), `placeholders of ${lang}.${key}`);
      }
    }
  });

  test('every key renders in every language with every placeholder filled', () => {
    for (const lang of LANGS) {
      const t = tr(lang);
      for (const key of KEYS) {
        const vars = Object.fromEntries(placeholders(en[key]).map((p) => [p, `<${p}>`]));
        const out = t(key, vars);
        assert.ok(!out.includes('{{') && !out.includes('}}'), `${lang}.${key} left a placeholder: ${out}`);
        assert.notEqual(out, key, `${lang}.${key} fell back to its key`);
        for (const p of Object.keys(vars))
          assert.ok(out.includes(`<${p}>`), `${lang}.${key} dropped {{${p}}}`);
      }
    }
  });

  test('the catalogues really differ from English where a text is words', () => {
    for (const lang of LANGS.filter((l) => l !== 'en')) {
      assert.notEqual(tr(lang)('help'), en.help);
      assert.notEqual(tr(lang)('errQueueFull'), en.errQueueFull);
    }
  });

  test('language_code picks by its first two letters, else nothing', () => {
    assert.equal(langFromCode('zh-hans'), 'zh');
    assert.equal(langFromCode('zh-TW'), 'zh');
    assert.equal(langFromCode('ko'), 'ko');
    assert.equal(langFromCode('ru-RU'), 'ru');
    assert.equal(langFromCode('de'), undefined);
    assert.equal(langFromCode(undefined), undefined);
  });

  test('a prompt with braces or markup is shown as it is', () => {
    assert.equal(
      tr('en')('headJob', { title: 'Imagine', prompt: '<b>{{x}}</b> & co' }),
      '🎨 Imagine: <b>{{x}}</b> & co',
    );
  });
});
