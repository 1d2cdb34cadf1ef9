// The sample bot switched to the sharded layout by configuration alone (PERSISTENCE_LAYOUT), each
// update in a fresh process: every command keeps working, and each user and chat has its own object.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shardedKey } from '../../src/snapshot/layout.js';
import { STATE_KEY, deploy, keyboardOf, text, type Deployment } from './deployment.js';

const ADA = 1001;
const BOB = 1002;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy({ layout: 'sharded' });
});
afterEach(async () => {
  await bot.close();
});

describe('the sample bot with PERSISTENCE_LAYOUT=sharded', () => {
  it('counts, notes, surveys and menus across cold starts, one object per user and chat', async () => {
    await bot.say(ADA, '/count');
    await bot.say(BOB, '/count');
    await bot.say(ADA, '/count');
    await bot.say(ADA, '/note buy milk');
    await bot.say(ADA, '/note');
    await bot.say(ADA, '/stats');
    await bot.say(ADA, '/survey');
    await bot.say(ADA, 'Ada');
    await bot.say(ADA, '36');
    expect(bot.take('sendMessage').map(text)).toEqual([
      '1',
      '1',
      '2',
      'Saved the note: buy milk',
      'Note: buy milk',
      'Total /count presses by everyone: 3',
      'Survey: what is your name? (/cancel to stop)',
      'Nice to meet you, Ada. How old are you?',
      'Survey complete: Ada, 36 years old.',
    ]);

    await bot.say(BOB, '/menu');
    const [menu] = bot.take('sendMessage');
    const button = keyboardOf(menu!).inline_keyboard[0]![0]!;
    await bot.press(BOB, (button as { callback_data: string }).callback_data, 1);
    expect(text(bot.take('editMessageText')[0]!)).toContain('"fruit": "apple"');

    const keys = await bot.objectKeys();
    expect(keys).toEqual(
      expect.arrayContaining([
        shardedKey(STATE_KEY, { section: 'user_data', id: ADA }),
        shardedKey(STATE_KEY, { section: 'user_data', id: BOB }),
        shardedKey(STATE_KEY, { section: 'chat_data', id: ADA }),
        `${STATE_KEY}/bot_data`,
        `${STATE_KEY}/callback_data`,
      ]),
    );
    expect(keys).not.toContain(STATE_KEY);
  });
});
