/**
 * Incoming messages (SPEC §7.1): prompts, photos with captions, replies to photos, albums,
 * commands. In groups only commands and replies to the bot's own messages count. Each handler
 * only validates, creates the task and replies.
 */
import type { BlendDimensions } from '../../engine/api.ts';
import type { FrontContext } from '../context.ts';
import type { Tr } from '../i18n/index.ts';
import { MediaGroups, type SharedAlbums } from '../media-groups.ts';
import { helpText } from '../texts.ts';
import { type Command, type ImageRef, imageOf, isGroup, parseCommand, type TgMessage } from '../updates.ts';
import { showAccounts, showQueue } from './admin.ts';
import { cancelJob, listJobs, replySeed } from './commands.ts';
import { createJob, type JobRequest, type JobTarget, reserveSlot } from './create-job.ts';
import { showHistory } from './history.ts';
import { say } from './reply.ts';
import { openLanguageMenu, openSettings } from './settings-menu.ts';
import { answerZoom, pendingZoom } from './zoom.ts';

const DIMENSIONS: Record<string, BlendDimensions> = {
  portrait: 'PORTRAIT',
  square: 'SQUARE',
  landscape: 'LANDSCAPE',
};

export class MessageHandler {
  private readonly albums: MediaGroups<TgMessage>;

  /** `albums`: in a cluster, where the parts of an album meet whichever instance got them. */
  constructor(
    private readonly ctx: FrontContext,
    albums?: SharedAlbums,
  ) {
    const shared = albums
      ? {
          albums,
          onError: (err: Error) => ctx.logger.error({ err: err.message }, 'album parts in Redis not reached'),
        }
      : undefined;
    this.albums = new MediaGroups(
      ctx.timing.mediaGroupMs,
      (items) => {
        ctx.spawn('album', () => this.onAlbum(items));
      },
      shared,
    );
  }

  stop(): void {
    this.albums.stop();
  }

  /** Entry point for every `message` update. */
  onMessage(msg: TgMessage): void {
    const { ctx } = this;
    const from = msg.from;
    if (!from || from.is_bot) return;
    if (msg.media_group_id) {
      this.albums.add(`${msg.chat.id}:${msg.media_group_id}`, msg);
      return;
    }
    const cmd = this.command(msg.text ?? msg.caption);
    if (cmd === null) return;
    const repliesToBot = msg.reply_to_message?.from?.id === ctx.bot.id;
    if (isGroup(msg.chat) && !cmd && !repliesToBot) return;
    if (!this.admit(msg)) return;
    ctx.spawn('message', () => this.handle(msg, cmd, repliesToBot));
  }

  /** The command of a text, undefined for none, null for a command addressed to another bot. */
  private command(text: string | undefined): Command | undefined | null {
    const cmd = parseCommand(text);
    if (cmd?.target && cmd.target.toLowerCase() !== this.ctx.bot.username.toLowerCase()) return null;
    return cmd;
  }

  /** Access check with the one polite refusal. */
  private admit(msg: TgMessage): boolean {
    const { ctx } = this;
    const from = msg.from;
    if (!from) return false;
    if (ctx.access.allowed(from)) return true;
    if (ctx.access.firstRefusal(from.id)) {
      ctx.spawn('refusal', async () => {
        const t = await ctx.prefs.trOf(from.id, from.language_code);
        await say(ctx, msg.chat.id, t('notAllowed'), { replyTo: msg.message_id });
      });
    }
    return false;
  }

  private async handle(msg: TgMessage, cmd: Command | undefined, repliesToBot: boolean): Promise<void> {
    const { ctx } = this;
    const from = msg.from;
    if (!from) return;
    const chatId = msg.chat.id;
    await ctx.prefs.noteUser(from);
    const t = await ctx.prefs.trOf(from.id, from.language_code);
    const target: JobTarget = { chatId, userId: from.id, replyTo: msg.message_id, t };
    const isAdmin = ctx.access.isAdmin(from);
    if (cmd) {
      switch (cmd.name) {
        case 'start':
        case 'help':
          await say(ctx, chatId, helpText(t, isAdmin));
          return;
        case 'jobs':
          await listJobs(ctx, t, msg, from.id);
          return;
        case 'cancel':
          await cancelJob(ctx, t, msg, from.id, isAdmin);
          return;
        case 'settings':
          await openSettings(ctx, t, chatId, from.id, msg.message_id);
          return;
        case 'language':
          await openLanguageMenu(ctx, t, chatId, from.id, msg.message_id);
          return;
        case 'history':
          await showHistory(ctx, t, chatId, from.id, msg.message_id);
          return;
        case 'accounts':
        case 'queue':
          if (!isAdmin) {
            await say(ctx, chatId, t('adminOnly'), { replyTo: msg.message_id });
            return;
          }
          if (cmd.name === 'accounts') await showAccounts(ctx, t, chatId, msg.message_id);
          else await showQueue(ctx, t, chatId, msg.message_id);
          return;
        case 'imagine': {
          if (!cmd.args) {
            await say(ctx, chatId, t('promptMissing'), { replyTo: msg.message_id });
            return;
          }
          const image = imageOf(msg) ?? imageOf(msg.reply_to_message);
          await this.start(target, { kind: 'imagine', prompt: cmd.args, images: image ? [image] : [] });
          return;
        }
        case 'describe': {
          const image = imageOf(msg) ?? imageOf(msg.reply_to_message);
          if (!image) {
            await say(ctx, chatId, t('describeWhat'), { replyTo: msg.message_id });
            return;
          }
          await this.start(target, { kind: 'describe', image });
          return;
        }
        case 'blend':
          await say(ctx, chatId, t('blendSingle'), { replyTo: msg.message_id });
          return;
        case 'shorten':
          if (!cmd.args) {
            await say(ctx, chatId, t('shortenMissing'), { replyTo: msg.message_id });
            return;
          }
          await this.start(target, { kind: 'shorten', prompt: cmd.args });
          return;
        case 'seed':
          await replySeed(ctx, t, msg, from.id, isAdmin);
          return;
        default:
          if (!isGroup(msg.chat)) await say(ctx, chatId, `${t('unknownCommand')}\n\n${helpText(t, isAdmin)}`);
          return;
      }
    }
    if (repliesToBot && msg.reply_to_message) {
      const zoom = await pendingZoom(ctx, chatId, msg.reply_to_message.message_id);
      if (zoom) {
        await answerZoom(ctx, t, msg, zoom, isAdmin);
        return;
      }
    }
    const text = (msg.text ?? msg.caption ?? '').trim();
    const image = imageOf(msg);
    if (image) {
      if (!text) {
        await say(ctx, chatId, t('photoHint'), { replyTo: msg.message_id });
        return;
      }
      await this.start(target, { kind: 'imagine', prompt: text, images: [image] });
      return;
    }
    if (msg.text && text) {
      await this.start(target, { kind: 'imagine', prompt: text, images: [] });
      return;
    }
    if (msg.sticker) {
      await say(ctx, chatId, t('stickerHint'), { replyTo: msg.message_id });
      return;
    }
    if (!isGroup(msg.chat)) await say(ctx, chatId, helpText(t, isAdmin));
  }

  private async start(target: JobTarget, req: JobRequest): Promise<void> {
    const release = await reserveSlot(this.ctx, target);
    if (!release) return;
    await createJob(this.ctx, target, req, release);
  }

  /** A whole album: /blend (2–5 photos), an imagine with several images, or a hint. */
  private async onAlbum(items: TgMessage[]): Promise<void> {
    const { ctx } = this;
    const sorted = [...items].sort((a, b) => a.message_id - b.message_id);
    const first = sorted[0];
    const from = first?.from;
    if (!first || !from) return;
    const chatId = first.chat.id;
    const captioned = sorted.find((m) => (m.caption ?? '').trim() !== '');
    const caption = (captioned?.caption ?? '').trim();
    const cmd = this.command(caption);
    if (cmd === null) return;
    const repliesToBot = sorted.some((m) => m.reply_to_message?.from?.id === ctx.bot.id);
    if (isGroup(first.chat) && !cmd && !repliesToBot) return;
    if (!this.admit(first)) return;
    const images = sorted.map((m) => imageOf(m)).filter((r): r is ImageRef => r !== undefined);
    const t: Tr = await ctx.prefs.trOf(from.id, from.language_code);
    const target: JobTarget = { chatId, userId: from.id, replyTo: (captioned ?? first).message_id, t };
    const replyTo = target.replyTo;
    if (cmd?.name === 'blend') {
      const words = cmd.args.toLowerCase().split(/\s+/).filter(Boolean);
      const dims = words.map((w) => DIMENSIONS[w]).find((d) => d !== undefined);
      if (images.length < 2 || images.length > 5) {
        await say(ctx, chatId, t('blendCount'), { replyTo });
        return;
      }
      await this.start(target, { kind: 'blend', images, dimensions: dims });
      return;
    }
    if (cmd?.name === 'describe') {
      await say(ctx, chatId, t('describeOne'), { replyTo });
      return;
    }
    const prompt = cmd?.name === 'imagine' ? cmd.args : cmd ? '' : caption;
    if (!prompt) {
      await say(ctx, chatId, t('albumHint'), { replyTo });
      return;
    }
    if (images.length > 5) {
      await say(ctx, chatId, t('tooManyImages'), { replyTo });
      return;
    }
    await this.start(target, { kind: 'imagine', prompt, images });
  }
}
