/**
 * `/describe` as Midjourney answers it (reference §4.4): a message with the image first, then the
 * same message edited to four numbered prompts with the PicReader buttons. The prompts follow
 * from the image's bytes, so the same picture is described the same way. Also the 2026 buttons
 * under it (SPEC §14): Retry describes again, Imagine all imagines every prompt.
 */
import { randomUUID } from 'node:crypto';
import type { CustomIdInfo } from '../../midjourney/custom-ids.ts';
import { MIDJOURNEY_APP_ID } from '../../midjourney/ids.ts';
import type { InteractionContext } from '../discord/api.ts';
import { renderImage } from '../png.ts';
import type { PromptStarter } from './commands.ts';
import type { BotCore } from './core.ts';
import { describeRows, interactionStamps, MJ_USER } from './messages.ts';

const WORDS = ['a luminous', 'a quiet', 'an ornate', 'a weathered', 'a dreamlike', 'a minimalist'];
const LOOKS = ['soft light', 'bold contrast', 'pastel tones', 'film grain'];
const KEYS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣'];

/** Answers a describe of the interaction's first file (or refuses one without a file). */
export function describeImage(core: BotCore, ix: InteractionContext): void {
  const { discord, ms, later, gate } = core;
  const file = ix.files[0];
  if (!file) {
    core.errorEmbed(ix, 'Invalid request', 'No image was given.');
    return;
  }
  const seed = randomUUID();
  const image = discord.storeFile(ix.channelId, `${Date.now()}.png`, file.bytes, file.contentType);
  const h = file.bytes.reduce((a, b) => (a * 31 + b) >>> 0, 7);
  const prompts = [1, 2, 3, 4].map(
    (i) => `${WORDS[(h + i) % WORDS.length]} scene of shapes and colour, ${LOOKS[i - 1]} --ar 1:1`,
  );
  later(null, ms(500), () =>
    gate(-1, () => {
      const msg = discord.postMessage(ix.channelId, {
        author: MJ_USER,
        type: ix.guildId ? 20 : 0,
        nonce: ix.nonce,
        webhook_id: MIDJOURNEY_APP_ID,
        application_id: MIDJOURNEY_APP_ID,
        ...interactionStamps(ix.id, 'describe', ix.user),
        embeds: [{ type: 'rich', image: { url: image.url }, color: 0 }],
      });
      later(null, ms(3000), () =>
        gate(100, () => {
          discord.editMessage(ix.channelId, msg.id, {
            embeds: [
              {
                type: 'rich',
                description: prompts.map((p, i) => `${KEYS[i]} ${p}`).join('\n\n'),
                image: { url: image.url },
                color: 0,
              },
            ],
            components: describeRows(),
          });
          core.remember({
            hash: seed,
            userId: ix.user.id,
            channelId: ix.channelId,
            nonce: ix.nonce,
            interactionId: ix.id,
            prompt: '',
            label: 'describe',
            resultMessageId: msg.id,
            state: 'done',
          });
        }),
      );
    }),
  );
}

/** Retry and Imagine all under a describe result; false for other buttons. */
export function pressDescribeButton(
  core: BotCore,
  starter: PromptStarter,
  ix: InteractionContext,
  info: CustomIdInfo,
): boolean {
  if (info.action === 'DESCRIBE') {
    // Retry: describe the same picture again.
    const url = ix.message?.embeds?.[0]?.image?.url ?? '';
    const bytes = renderImage({ seed: url + Date.now(), step: 100, width: 64, height: 64 });
    describeImage(core, {
      ...ix,
      data: { ...ix.data, name: 'describe' },
      files: [{ id: '0', filename: 'retry.png', bytes, contentType: 'image/png' }],
    });
    return true;
  }
  if (info.action === 'PIC_READER' && info.index === 0) {
    // Imagine all: one job per described prompt, all answering this one click.
    const desc = ix.message?.embeds?.[0]?.description ?? '';
    for (const p of desc
      .split(/[0-9]\uFE0F?\u20E3/u)
      .slice(1)
      .map((x) => x.trim())
      .filter(Boolean)) {
      starter.startFromPrompt({ ...ix, data: { ...ix.data, name: 'imagine' } }, p, '', true);
    }
    return true;
  }
  return false;
}
