// `npm run example:telegraf`: Telegraf's session middleware with each session in S3, through
// `telegrafSessionStore`. Every write is conditional on the ETag the session was read with, so two
// instances handling one chat at once never overwrite each other unnoticed.
//
// With BOT_TOKEN set, a real bot by long polling (Ctrl-C stops it): send it /count and /reset.
// Without it, a scripted chat in which every update is handled by a new Telegraf and a new store,
// as a cold start of a cloud function is, and the Bot API calls are printed, not sent.
// Storage: SESSIONS_URL, or a fresh prefix on the local MinIO (see examples/local-minio.ts).
import { Telegraf, Telegram, session, type Context } from 'telegraf';
import type { Update } from 'telegraf/types';
// In your project: import { telegrafSessionStore } from 'telegram-s3-persistence/telegraf';
import { telegrafSessionStore } from '../src/adapters/telegraf.js';
import { sessionsUrl } from './local-minio.js';

interface SessionData {
  count: number;
}
interface MyContext extends Context {
  session?: SessionData;
}

/** The bot: a counter per user and chat (Telegraf's default session key is `<from.id>:<chat.id>`). */
function createBot(token: string, prefix: string): Telegraf<MyContext> {
  const bot = new Telegraf<MyContext>(token);
  bot.use(session({ store: telegrafSessionStore<SessionData>({ prefix }), defaultSession: (): SessionData => ({ count: 0 }) }));
  bot.command('count', (ctx) => ctx.reply(`count: ${++ctx.session!.count}`));
  bot.command('reset', async (ctx) => {
    ctx.session = undefined; // Telegraf deletes a session set to undefined
    await ctx.reply('the counter is gone');
  });
  return bot;
}

// The AWS SDK's notice that its 2027 releases will need Node 22 is noise in this transcript.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const prefix = sessionsUrl('telegraf-sessions');
console.log(`Sessions: ${prefix}/<user id>:<chat id>`);

if (process.env.BOT_TOKEN) {
  const bot = createBot(process.env.BOT_TOKEN, prefix);
  process.once('SIGINT', () => bot.stop('SIGINT'));
  process.once('SIGTERM', () => bot.stop('SIGTERM'));
  console.log('polling; send the bot /count');
  await bot.launch();
} else {
  const chat = { id: 1001, type: 'private' as const, first_name: 'Ada' };
  // Every Telegraf client prints its Bot API calls instead of sending them.
  Telegram.prototype.callApi = (async (method: string, payload: { text?: string }) => {
    console.log(`bot  ◂ ${method === 'sendMessage' ? payload.text : method}`);
    return { message_id: 1, date: 0, chat };
  }) as typeof Telegram.prototype.callApi;
  for (const [updateId, text] of ['/count', '/count', '/reset', '/count'].entries()) {
    // A new Telegraf and a new store per update: nothing survives in memory, only in the bucket.
    const bot = createBot('1:example', prefix);
    bot.botInfo = { id: 1, is_bot: true, first_name: 'Example', username: 'example_bot' } as typeof bot.botInfo;
    console.log(`Ada  ▸ ${text}`);
    const update = {
      update_id: updateId + 1,
      message: { message_id: updateId + 1, date: 0, chat, from: { id: chat.id, is_bot: false, first_name: 'Ada' }, text, entities: [{ type: 'bot_command', offset: 0, length: text.length }] },
    } as Update;
    await bot.handleUpdate(update);
  }
}
