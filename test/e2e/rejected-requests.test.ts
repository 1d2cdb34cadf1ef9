// Requests that are not Telegram's updates: a wrong or missing secret token gets 401, a body that is
// not an update gets 400, and neither touches the state nor calls the Bot API.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { deploy, WEBHOOK_SECRET, type Deployment } from './deployment.js';

const USER = 3001;
const count = (updateId: number) => messageUpdate({ updateId, userId: USER, text: '/count' });

const REJECTED: Array<{ request: string; event: () => unknown; status: number; error: RegExp }> = [
  { request: 'a wrong secret token', event: () => webhookEvent(count(1), { secret: 'not-the-secret' }), status: 401, error: /secret/ },
  {
    request: 'a secret token that differs only in its last character',
    event: () => webhookEvent(count(2), { secret: `${WEBHOOK_SECRET.slice(0, -1)}x` }),
    status: 401,
    error: /secret/,
  },
  { request: 'no secret token', event: () => webhookEvent(count(3)), status: 401, error: /secret/ },
  { request: 'a body that is not JSON', event: () => webhookEvent('{"update_id": 4,', { secret: WEBHOOK_SECRET }), status: 400, error: /not JSON/ },
  {
    request: 'a JSON array',
    event: () => webhookEvent(JSON.stringify([count(5)]), { secret: WEBHOOK_SECRET }),
    status: 400,
    error: /not a JSON object/,
  },
  {
    request: 'an update without update_id',
    event: () => webhookEvent({ message: count(6).message }, { secret: WEBHOOK_SECRET }),
    status: 400,
    error: /update_id/,
  },
  {
    request: 'an unknown kind of update',
    event: () => webhookEvent({ update_id: 7, telepathy: { thought: '/count' } }, { secret: WEBHOOK_SECRET }),
    status: 400,
    error: /"telepathy" is not a kind of update/,
  },
  {
    request: 'a body larger than 1 MiB',
    event: () => webhookEvent(messageUpdate({ updateId: 8, userId: USER, text: `/note ${'x'.repeat(1024 * 1024)}` }), { secret: WEBHOOK_SECRET }),
    status: 400,
    error: /larger than 1048576 bytes/,
  },
];

let bot: Deployment;
afterEach(async () => {
  await bot.close();
});

describe('with no state stored yet', () => {
  beforeEach(async () => {
    bot = await deploy();
  });

  it.each(REJECTED)('$request gets $status, stores nothing and calls no Bot API method', async ({ event, status, error }) => {
    const { result } = await bot.invoke(event());

    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ ok: false, error: expect.stringMatching(error) });
    expect(await bot.snapshotBytes()).toBeUndefined();
    expect(bot.api.calls).toEqual([]);
  });
});

describe('with state stored', () => {
  beforeEach(async () => {
    bot = await deploy();
    await bot.say(USER, '/count');
  });

  it.each(REJECTED)('$request gets $status, leaves the snapshot byte for byte and calls no Bot API method', async ({ event, status }) => {
    const before = await bot.snapshotBytes();
    const callsBefore = bot.api.calls.length;

    const { result } = await bot.invoke(event());

    expect(result.statusCode).toBe(status);
    expect(await bot.snapshotBytes()).toEqual(before);
    expect(bot.api.calls.length).toBe(callsBefore);
  });
});

describe('without BOT_INFO (the bot would call getMe on its first update)', () => {
  beforeEach(async () => {
    bot = await deploy({ botInfo: false });
  });

  it('a wrong secret on a cold instance calls no Bot API method and writes nothing, not even the getMe cache', async () => {
    const { result } = await bot.invoke(webhookEvent(count(9), { secret: 'not-the-secret' }));

    expect(result.statusCode).toBe(401);
    expect(bot.api.calls).toEqual([]);
    expect(await bot.objectKeys()).toEqual([]);
  });
});
