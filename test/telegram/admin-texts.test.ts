import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountsText, queueText } from '../../src/telegram/handlers/admin.ts';
import { tr } from '../../src/telegram/i18n/index.ts';

test('/accounts shows state, reason, running/queued, and /info fields when the engine has them', () => {
  const text = accountsText(tr('en'), [
    {
      id: 'acc1',
      state: 'ready',
      reason: null,
      running: 2,
      queued: 1,
      mode: 'fast',
      fastTimeRemaining: 3.25,
    },
    {
      id: 'acc2',
      state: 'paused',
      reason: 'blocked for 1 minute',
      running: 0,
      queued: 0,
      pausedUntil: Date.UTC(2026, 11, 2, 1, 30) / 1000,
    },
  ]);
  assert.equal(
    text,
    [
      'Midjourney accounts:',
      '• acc1: ready — 2 running, 1 queued',
      '   mode: fast',
      '   fast time left: 3.3 h',
      '• acc2: paused — 0 running, 0 queued',
      '   reason: blocked for 1 minute',
      '   paused until 2026-12-02 01:30 UTC',
    ].join('\n'),
  );
  assert.match(accountsText(tr('zh'), []), /没有配置/);
  assert.equal(
    queueText(tr('ru'), 4, [{ id: 'a', state: 'ready', reason: null, running: 3, queued: 4 }]),
    'Очередь: ждут 4.\n• a: выполняется 3, в очереди 4',
  );
});
