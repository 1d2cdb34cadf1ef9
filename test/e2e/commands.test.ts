// Every command of the sample bot, each update in a fresh Node process (a cold start) running the
// bundled handler against MinIO and the fake Bot API: whatever one process wrote, the next one finds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { conversationState, deploy, keyboardOf, text, userData, type Deployment } from './deployment.js';

const ADA = 1001;
const BOB = 1002;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy();
});
afterEach(async () => {
  await bot.close();
});

describe('the sample bot, one fresh process per update', () => {
  it('/start greets and lists the commands', async () => {
    const { result } = await bot.say(ADA, '/start');

    expect(result.statusCode).toBe(200);
    const [reply] = bot.take('sendMessage');
    expect(reply?.payload.chat_id).toBe(ADA);
    expect(text(reply!)).toMatch(/^Hello!/);
    for (const command of ['/count', '/note', '/stats', '/survey', '/menu']) expect(text(reply!)).toContain(command);
  });

  it('/count replies 1, then 2 in the next fresh process, and the snapshot in MinIO holds 2', async () => {
    const first = await bot.say(ADA, '/count');
    const second = await bot.say(ADA, '/count');

    expect(second.pid).not.toBe(first.pid);
    expect(bot.take('sendMessage').map(text)).toEqual(['1', '2']);
    const snapshot = await bot.snapshot();
    expect(userData(snapshot).get(ADA)).toMatchObject({ count: 2 });
    expect(snapshot?.get('bot_data')).toMatchObject({ totalCount: 2 });
  });

  it('/note text saves the chat note and /note shows it in a new process', async () => {
    await bot.say(ADA, '/note');
    await bot.say(ADA, '/note buy milk');
    await bot.say(ADA, '/note');

    expect(bot.take('sendMessage').map(text)).toEqual([
      'No note yet: /note your text',
      'Saved the note: buy milk',
      'Note: buy milk',
    ]);
    const chats = (await bot.snapshot())?.get('chat_data') as Map<number, unknown>;
    expect(chats.get(ADA)).toEqual({ note: 'buy milk' });
  });

  it('/note belongs to the chat: another chat has none', async () => {
    await bot.say(ADA, '/note in the private chat');
    await bot.say(ADA, '/note', -5001);

    expect(bot.take('sendMessage').map(text)).toEqual(['Saved the note: in the private chat', 'No note yet: /note your text']);
  });

  it('/stats counts every user’s /count presses', async () => {
    await bot.say(ADA, '/count');
    await bot.say(BOB, '/count');
    await bot.say(ADA, '/count');
    await bot.say(BOB, '/stats');

    expect(bot.take('sendMessage').map(text)).toEqual(['1', '1', '2', 'Total /count presses by everyone: 3']);
  });

  it('/survey asks for a name, then an age, then replies with both, each step in a new process', async () => {
    await bot.say(ADA, '/survey');
    const afterStart = await bot.snapshot();
    await bot.say(ADA, 'Ada');
    const afterName = await bot.snapshot();
    await bot.say(ADA, '36');

    expect(bot.take('sendMessage').map(text)).toEqual([
      'Survey: what is your name? (/cancel to stop)',
      'Nice to meet you, Ada. How old are you?',
      'Survey complete: Ada, 36 years old.',
    ]);
    expect(conversationState(afterStart, 'survey', [ADA, ADA])).toBe('NAME');
    expect(conversationState(afterName, 'survey', [ADA, ADA])).toBe('AGE');
    const done = await bot.snapshot();
    expect(conversationState(done, 'survey', [ADA, ADA])).toBeUndefined();
    expect(userData(done).get(ADA)).toMatchObject({ survey: { name: 'Ada', age: 36 } });
  });

  it('/survey keeps asking for the age until it is a whole number, and /cancel ends it', async () => {
    await bot.say(ADA, '/survey');
    await bot.say(ADA, 'Ada');
    await bot.say(ADA, 'thirty-six');
    await bot.say(ADA, '/cancel');
    await bot.say(ADA, '36');

    expect(bot.take('sendMessage').map(text)).toEqual([
      'Survey: what is your name? (/cancel to stop)',
      'Nice to meet you, Ada. How old are you?',
      'Please send your age as a whole number.',
      'Survey cancelled.',
    ]);
  });

  it('/menu sends buttons with 64-character callback data; a press in a new process shows what the button carried', async () => {
    await bot.say(ADA, '/menu');
    const [menu] = bot.take('sendMessage');
    expect(text(menu!)).toBe('Pick a fruit:');
    const buttons = keyboardOf(menu!).inline_keyboard.flat();
    expect(buttons.map((button) => button.text)).toEqual(['🍎 Apple', '🍌 Banana', '🥝 Kiwi']);
    for (const button of buttons) expect(button.callback_data).toMatch(/^[0-9a-f]{64}$/);
    const [message] = bot.api.messagesIn(ADA).filter((sent) => sent.reply_markup !== undefined);

    const { result } = await bot.press(ADA, buttons[2]!.callback_data!, message!.message_id);

    expect(result.statusCode).toBe(200);
    const [answer] = bot.take('answerCallbackQuery');
    expect(answer?.payload).toEqual({ callback_query_id: expect.any(String) });
    const [edit] = bot.take('editMessageText');
    expect(edit?.payload).toMatchObject({ chat_id: ADA, message_id: message!.message_id });
    const shown = text(edit!).replace(/^The button carried:\n/, '');
    expect(JSON.parse(shown)).toEqual({ fruit: 'kiwi', colour: 'green', calories: 61, tags: ['fuzzy', 'tart'] });
    expect(bot.api.messagesIn(ADA).find((sent) => sent.message_id === message!.message_id)?.text).toBe(text(edit!));
  });

  it('a button the bot does not know (expired or foreign) gets the documented answer and changes nothing', async () => {
    await bot.say(ADA, '/menu');
    const [menu] = bot.take('sendMessage');
    const real = keyboardOf(menu!).inline_keyboard[0]![0]!.callback_data!;
    const before = await bot.snapshotBytes();

    const unknown = await bot.press(ADA, real.slice(0, 32) + 'f'.repeat(32), 1);
    const foreign = await bot.press(ADA, 'not-ours', 1);

    expect([unknown.result.statusCode, foreign.result.statusCode]).toEqual([200, 200]);
    const expired = { text: 'This button has expired: send /menu again.', show_alert: true };
    expect(bot.take('answerCallbackQuery').map((call) => call.payload)).toEqual([
      { callback_query_id: expect.any(String), ...expired },
      { callback_query_id: expect.any(String), ...expired },
    ]);
    expect(bot.take('editMessageText')).toEqual([]);
    // Only the processed update ids changed: the keyboards are as they were.
    expect(decodeSnapshot((await bot.snapshotBytes())!).get('callback_data')).toEqual(decodeSnapshot(before!).get('callback_data'));
  });
});
