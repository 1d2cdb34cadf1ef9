import { Bot, Context } from 'grammy';
import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { persistence, type PersistenceFlavor } from '../../src/grammy.js';
import { END, S3Persistence } from '../../src/index.js';
import { botInfo, textUpdate } from '../support/adapter-bots.js';
import { ControlledStore } from '../support/stores.js';

type UD = { count?: number };
type CD = { note?: string };
type BD = { total?: number };
type MyContext = Context & PersistenceFlavor<UD, CD, BD>;


const message = textUpdate;

/** A bot on an in-memory store whose API calls are recorded instead of sent. */
function testBot(store: ControlledStore) {
  const s3 = new S3Persistence<UD, CD, BD>({ filepath: 's3://bucket/bot', store, onFlush: true });
  const bot = new Bot<MyContext>('1:test', { botInfo });
  const calls: Array<{ method: string; payload: Record<string, unknown> }> = [];
  bot.api.config.use(async (_prev, method, payload) => {
    calls.push({ method, payload: payload as Record<string, unknown> });
    return { ok: true, result: { message_id: calls.length, date: 0, chat: { id: 1, type: 'private' } } } as never;
  });
  const persistent = persistence<UD, CD, BD, MyContext>(s3);
  bot.use(persistent);
  return { bot, calls, persistent, s3 };
}

describe('grammY persistence middleware', () => {
  it('gives handlers ctx.userData, ctx.chatData and ctx.botData, stored before handleUpdate resolves', async () => {
    const store = new ControlledStore();
    const { bot, calls } = testBot(store);
    bot.command('count', async (ctx) => {
      ctx.userData.count = (ctx.userData.count ?? 0) + 1;
      ctx.chatData.note = 'seen';
      ctx.botData.total = (ctx.botData.total ?? 0) + 1;
      await ctx.reply(String(ctx.userData.count));
    });
    await bot.handleUpdate(message(1, 42, '/count'));
    const cold = testBot(store);
    cold.bot.command('count', async (ctx) => {
      ctx.userData.count = (ctx.userData.count ?? 0) + 1;
      await ctx.reply(`${ctx.userData.count} ${ctx.chatData.note} ${ctx.botData.total}`);
    });
    await cold.bot.handleUpdate(message(2, 42, '/count'));
    expect(calls.map((call) => call.payload.text)).toEqual(['1']);
    expect(cold.calls.map((call) => call.payload.text)).toEqual(['2 seen 1']);
  });

  it('does not run the handlers of a redelivered update', async () => {
    const store = new ControlledStore();
    const { bot, calls } = testBot(store);
    bot.on('message', (ctx) => ctx.reply('once'));
    await bot.handleUpdate(message(5, 42, 'hi'));
    await bot.handleUpdate(message(5, 42, 'hi'));
    expect(calls).toHaveLength(1);
  });

  it('carries arbitrary callback data on buttons and gives it back on the press', async () => {
    const store = new ControlledStore();
    const { bot, calls } = testBot(store);
    bot.command('menu', (ctx) => ctx.reply('pick', { reply_markup: ctx.inlineKeyboard([[{ text: 'A', callbackData: { pick: ['a', 1] } }]]) }));
    await bot.handleUpdate(message(1, 42, '/menu'));
    const keyboard = calls[0]!.payload.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
    const data = keyboard.inline_keyboard[0]![0]!.callback_data;
    expect(data).toMatch(/^[0-9a-f]{64}$/);

    const cold = testBot(store);
    const seen: unknown[] = [];
    cold.bot.on('callback_query:data', (ctx) => {
      seen.push(ctx.callbackData);
    });
    const press = (updateId: number, pressed: string) =>
      cold.bot.handleUpdate({
        update_id: updateId,
        callback_query: { id: `q${updateId}`, from: { id: 42, is_bot: false, first_name: 'U' }, chat_instance: 'c', data: pressed },
      } as Update);
    await press(2, data);
    await press(3, 'f'.repeat(64));
    expect(seen).toEqual([
      { ok: true, value: { pick: ['a', 1] } },
      { ok: false, reason: 'unknown', data: 'f'.repeat(64) },
    ]);
  });

  it('runs a persistent conversation whose steps land on different instances', async () => {
    const store = new ControlledStore();
    const replies: unknown[] = [];
    const instance = () => {
      const made = testBot(store);
      made.bot.use(
        made.persistent.conversation({
          name: 'survey',
          entryPoints: [{ match: Context.has.command('survey'), handle: () => 'NAME' }],
          states: {
            NAME: [
              {
                match: Context.has.filterQuery('message:text'),
                handle: async (ctx) => {
                  await ctx.reply(`bye ${ctx.message!.text}`);
                  return END;
                },
              },
            ],
          },
        }),
      );
      return made;
    };
    const first = instance();
    await first.bot.handleUpdate(message(1, 42, '/survey'));
    const second = instance();
    await second.bot.handleUpdate(message(2, 42, 'Ada'));
    replies.push(...second.calls.map((call) => call.payload.text));
    expect(replies).toEqual(['bye Ada']);
    expect(await second.s3.getConversations('survey')).toEqual(new Map());
  });

  it('handles an update without a user, refusing only access to user data', async () => {
    const { bot } = testBot(new ControlledStore());
    const errors: unknown[] = [];
    bot.on('channel_post', (ctx) => {
      ctx.botData.total = 1;
      try {
        void ctx.userData;
      } catch (error) {
        errors.push((error as Error).message);
      }
    });
    await bot.handleUpdate({ update_id: 9, channel_post: { message_id: 1, date: 0, chat: { id: -100, type: 'channel', title: 'c' }, text: 'x' } } as Update);
    expect(errors).toEqual(['this update has no user, so it has no user data']);
  });
});
