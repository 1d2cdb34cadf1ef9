// Telegram delivers an update again when the webhook did not answer 200 in time. An update that was
// handled runs once: a redelivery to another (fresh) instance is acknowledged and does nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callbackQueryUpdate, messageUpdate } from '../support/fake-bot-api.js';
import { deploy, keyboardOf, text, userData, type Deployment } from './deployment.js';

const USER = 4001;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy();
});
afterEach(async () => {
  await bot.close();
});

describe('a redelivered update', () => {
  it('runs once: 200, no second reply, the count and the snapshot unchanged', async () => {
    const update = messageUpdate({ updateId: 501, userId: USER, text: '/count' });
    const first = await bot.send(update);
    const stored = await bot.snapshotBytes();

    const again = await bot.send(update);

    expect([first.result.statusCode, again.result.statusCode]).toEqual([200, 200]);
    expect(again.pid).not.toBe(first.pid);
    expect(bot.take('sendMessage').map(text)).toEqual(['1']);
    expect(await bot.snapshotBytes()).toEqual(stored);
    expect(userData(await bot.snapshot()).get(USER)).toMatchObject({ count: 1 });
  });

  it('of a survey step does not answer the step twice nor skip the next one', async () => {
    await bot.say(USER, '/survey');
    const name = messageUpdate({ updateId: 502, userId: USER, text: 'Ada' });
    await bot.send(name);
    await bot.send(name);
    await bot.say(USER, '36');

    expect(bot.take('sendMessage').map(text)).toEqual([
      'Survey: what is your name? (/cancel to stop)',
      'Nice to meet you, Ada. How old are you?',
      'Survey complete: Ada, 36 years old.',
    ]);
  });

  it('of a button press answers the query once', async () => {
    await bot.say(USER, '/menu');
    const data = keyboardOf(bot.take('sendMessage')[0]!).inline_keyboard[0]![0]!.callback_data!;
    const press = callbackQueryUpdate({ updateId: 503, userId: USER, data, messageId: 1 });

    await bot.send(press);
    await bot.send(press);

    expect(bot.take('answerCallbackQuery')).toHaveLength(1);
    expect(bot.take('editMessageText')).toHaveLength(1);
  });
});
