// Bots of both frameworks wired to a session store, with their Bot API calls recorded instead of
// sent: the counting bot of the adapter tests and examples, once for grammY and once for Telegraf.
import { Bot, session, type Context as GrammyContext, type SessionFlavor, type StorageAdapter } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import type { Update as TelegrafUpdate } from 'telegraf/types';
import { Telegraf, session as telegrafSession, type Context as TelegrafContext, type SessionStore } from 'telegraf';

/** The session of the counting bot. */
export interface CountSession {
  count: number;
}

export const botInfo = {
  id: 1,
  is_bot: true,
  first_name: 'Test',
  username: 'test_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
} as UserFromGetMe;

/** A private-chat text message from `userId` (a command when it starts with '/'). */
export function textUpdate(updateId: number, userId: number, text: string): Update {
  const command = text.startsWith('/') ? [{ type: 'bot_command' as const, offset: 0, length: text.split(' ')[0]!.length }] : undefined;
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: 0,
      chat: { id: userId, type: 'private', first_name: 'U' },
      from: { id: userId, is_bot: false, first_name: 'U' },
      text,
      entities: command,
    },
  } as Update;
}

/** The text of every sendMessage, oldest first. */
export type Replies = string[];

/**
 * A grammY bot with `session({ storage })`: `/count` adds one to the session's counter and replies
 * with it, `/reset` deletes the session, and any other text only reads it.
 */
export function grammyCountingBot(storage: StorageAdapter<CountSession>): {
  bot: Bot<GrammyContext & SessionFlavor<CountSession>>;
  replies: Replies;
  handle: (update: Update) => Promise<void>;
} {
  const bot = new Bot<GrammyContext & SessionFlavor<CountSession>>('1:test', { botInfo });
  const replies: Replies = [];
  bot.api.config.use(async (_prev, method, payload) => {
    if (method === 'sendMessage') replies.push(String((payload as { text: unknown }).text));
    return { ok: true, result: { message_id: replies.length, date: 0, chat: { id: 1, type: 'private' } } } as never;
  });
  bot.use(session({ initial: () => ({ count: 0 }), storage }));
  bot.command('count', (ctx) => ctx.reply(String(++ctx.session.count)));
  bot.command('reset', async (ctx) => {
    // grammY deletes a session set to null (its setter takes null; the intersection type loses that).
    (ctx as { session: CountSession | null }).session = null;
    await ctx.reply('reset');
  });
  bot.on('message:text', (ctx) => ctx.reply(`count is ${ctx.session.count}`));
  return { bot, replies, handle: (update) => bot.handleUpdate(update) };
}

type TelegrafCountContext = TelegrafContext & { session?: CountSession };

/** The same bot on Telegraf with `session({ store })`; its calls go to a stub per update. */
export function telegrafCountingBot(store: SessionStore<CountSession>): {
  bot: Telegraf<TelegrafCountContext>;
  replies: Replies;
  handle: (update: Update) => Promise<void>;
} {
  const bot = new Telegraf<TelegrafCountContext>('1:test');
  bot.botInfo = botInfo;
  const replies: Replies = [];
  // Telegraf gives each update its own Telegram client, so the stub goes on that one.
  bot.use((ctx, next) => {
    ctx.telegram.callApi = (async (method: string, payload: { text?: unknown }) => {
      if (method === 'sendMessage') replies.push(String(payload.text));
      return { message_id: replies.length, date: 0, chat: { id: 1, type: 'private' } };
    }) as never;
    return next();
  });
  bot.use(telegrafSession({ store, defaultSession: () => ({ count: 0 }) }));
  bot.command('count', (ctx) => ctx.reply(String(++ctx.session!.count)));
  bot.command('reset', async (ctx) => {
    ctx.session = undefined;
    await ctx.reply('reset');
  });
  bot.on('text', (ctx) => ctx.reply(`count is ${ctx.session!.count}`));
  // The same JSON; the two frameworks' type packages differ in details of fields this bot never reads.
  return { bot, replies, handle: (update) => bot.handleUpdate(update as unknown as TelegrafUpdate) };
}
