// Without BOT_INFO the function learns its identity with getMe on its first cold start and caches
// the answer beside the snapshot, so later cold starts make no getMe call (handlers/bot-info.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploy, STATE_KEY, text, type Deployment } from './deployment.js';

const USER = 5001;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy({ botInfo: false });
});
afterEach(async () => {
  await bot.close();
});

describe('the bot identity without BOT_INFO', () => {
  it('is fetched with getMe once, then read from the bucket by later cold starts', async () => {
    await bot.say(USER, '/start');
    expect(bot.api.callsTo('getMe')).toHaveLength(1);
    expect(await bot.objectKeys()).toContain(`${STATE_KEY}.bot-info.json`);

    await bot.say(USER, '/count');
    await bot.say(USER, '/count');

    expect(bot.api.callsTo('getMe')).toHaveLength(1);
    expect(bot.take('sendMessage').map(text).slice(1)).toEqual(['1', '2']);
  });

  it('lets the bot recognise commands addressed to it by its username', async () => {
    await bot.say(USER, `/count@${bot.api.botInfo.username}`);
    await bot.say(USER, '/count@someone_else_bot');

    expect(bot.take('sendMessage').map(text)).toEqual(['1']);
  });
});
