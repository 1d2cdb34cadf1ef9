// Several Lambda instances at once: each a fresh process that loaded the snapshot before the others
// wrote, so every write but the first meets a lost ETag condition and must merge, not overwrite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { deploy, text, userData, WEBHOOK_SECRET, type Deployment } from './deployment.js';

const USERS = [2001, 2002, 2003, 2004, 2005, 2006];
const ROUNDS = 4;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy();
});
afterEach(async () => {
  await bot.close();
});

describe('concurrent instances', () => {
  it(`lose nothing: ${USERS.length} users, each /count ${ROUNDS} times, ${USERS.length} fresh processes at once per round`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const invocations = await Promise.all(USERS.map((user) => bot.say(user, '/count')));

      expect(invocations.map((invocation) => invocation.result.statusCode)).toEqual(USERS.map(() => 200));
      const replies = bot.take('sendMessage');
      expect(new Map(replies.map((reply) => [reply.payload.chat_id, text(reply)]))).toEqual(
        new Map(USERS.map((user) => [user, String(round)])),
      );
    }

    await bot.say(USERS[0]!, '/stats');
    expect(bot.take('sendMessage').map(text)).toEqual([`Total /count presses by everyone: ${USERS.length * ROUNDS}`]);
    const snapshot = await bot.snapshot();
    for (const user of USERS) expect(userData(snapshot).get(user)).toMatchObject({ count: ROUNDS });
    expect(snapshot?.get('bot_data')).toMatchObject({ totalCount: USERS.length * ROUNDS });
  });

  it('a warm instance sees what a fresh instance wrote in between', async () => {
    const warm = bot.warmInstance();
    const viaWarm = (updateId: number) =>
      warm.invoke(webhookEvent(messageUpdate({ updateId, userId: USERS[0]!, text: '/count' }), { secret: WEBHOOK_SECRET }));

    await viaWarm(1);
    await bot.say(USERS[0]!, '/count'); // another instance
    await viaWarm(2);

    expect(bot.take('sendMessage').map(text)).toEqual(['1', '2', '3']);
    expect(userData(await bot.snapshot()).get(USERS[0]!)).toMatchObject({ count: 3 });
  });
});
