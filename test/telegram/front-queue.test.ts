import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from './helpers.ts';

/** Issue 10 (6), Telegram side: many prompts at once against a small queue; each user is told. */
describe('Telegram front: a full queue under concurrency', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ settings: { maxQueue: 3 } });
  });
  after(async () => {
    await h.close();
  });

  test('20 users at once with maxQueue 3: every user without a job is told the queue is full', async () => {
    h.holdJobs(true);
    try {
      // The one account's three slots are taken first.
      await h.occupy(3);
      const users = Array.from({ length: 20 }, (_, i) => h.tg.user(6000 + i));
      for (const u of users) h.tg.sendText({ from: u, text: `crowd ${u.id}` });
      const answered = (u: { id: number }) =>
        h.tg
          .botMessages(u.id)
          .find((m) => /queue is full|^🎨 Imagine: crowd/.test(m.text ?? m.caption ?? ''));
      await h.tg.waitFor(() => users.every((u) => answered(u)), 20_000, 'every user answered');
      const crowd = (await h.tasks()).filter((t) => t.prompt.startsWith('crowd '));
      const told = users.filter((u) => /queue is full/.test(answered(u)?.text ?? ''));
      // A user without a job was told why; a user with one got its status message instead.
      for (const u of users) {
        const hasJob = crowd.some((t) => t.prompt === `crowd ${u.id}`);
        assert.equal(told.includes(u), !hasJob, `user ${u.id}: job ${hasJob}`);
      }
      assert.ok(told.length >= 1, 'the queue filled up');
      assert.ok(crowd.length <= 20 - told.length);
    } finally {
      await h.settle();
    }
  });
});
