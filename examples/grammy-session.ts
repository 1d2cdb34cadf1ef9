// `npm run example:grammy`: grammY's own session plugin with each chat's session in S3, through
// `grammyStorage`. Every write is conditional on the ETag the session was read with, so two
// instances handling one chat at once never overwrite each other unnoticed.
//
// With BOT_TOKEN set, a real bot by long polling (Ctrl-C stops it): send it /count and /reset.
// Without it, a scripted chat in which every update is handled by a new Bot and a new storage
// adapter, as a cold start of a cloud function is, and the Bot API calls are printed, not sent.
// Storage: SESSIONS_URL, or a fresh prefix on the local MinIO (see examples/local-minio.ts).
import { Bot, session, type Context, type SessionFlavor } from 'grammy';
import type { Update } from 'grammy/types';
// In your project: import { grammyStorage } from 'telegram-s3-persistence/adapters';
import { grammyStorage } from '../src/adapters/index.js';
import { sessionsUrl } from './local-minio.js';

interface SessionData {
  count: number;
}
type MyContext = Context & SessionFlavor<SessionData>;

/** The bot: a counter per chat, kept in the chat's session. */
function createBot(token: string, prefix: string): Bot<MyContext> {
  const bot = new Bot<MyContext>(token);
  bot.use(session({ initial: (): SessionData => ({ count: 0 }), storage: grammyStorage<SessionData>({ prefix }) }));
  bot.command('count', (ctx) => ctx.reply(`count: ${++ctx.session.count}`));
  bot.command('reset', async (ctx) => {
    ctx.session = null as unknown as SessionData; // grammY deletes a session set to null
    await ctx.reply('the counter is gone');
  });
  return bot;
}

// The AWS SDK's notice that its 2027 releases will need Node 22 is noise in this transcript.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const prefix = sessionsUrl('grammy-sessions');
console.log(`Sessions: ${prefix}/<chat id>`);

if (process.env.BOT_TOKEN) {
  const bot = createBot(process.env.BOT_TOKEN, prefix);
  process.once('SIGINT', () => void bot.stop());
  process.once('SIGTERM', () => void bot.stop());
  await bot.start({ onStart: (me) => console.log(`@${me.username} is polling; send it /count`) });
} else {
  const chat = { id: 1001, type: 'private' as const, first_name: 'Ada' };
  for (const [updateId, text] of ['/count', '/count', '/reset', '/count'].entries()) {
    // A new Bot and a new adapter per update: nothing survives in memory, only in the bucket.
    const bot = createBot('1:example', prefix);
    bot.botInfo = { id: 1, is_bot: true, first_name: 'Example', username: 'example_bot' } as typeof bot.botInfo;
    bot.api.config.use(async (_prev, method, payload) => {
      console.log(`bot  ◂ ${method === 'sendMessage' ? (payload as { text: string }).text : method}`);
      return { ok: true, result: { message_id: updateId, date: 0, chat } } as never;
    });
    console.log(`Ada  ▸ ${text}`);
    const update = {
      update_id: updateId + 1,
      message: { message_id: updateId + 1, date: 0, chat, from: { id: chat.id, is_bot: false, first_name: 'Ada' }, text, entities: [{ type: 'bot_command', offset: 0, length: text.length }] },
    } as Update;
    await bot.handleUpdate(update);
  }
}
