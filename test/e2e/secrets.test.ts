// The bot token and the webhook secret never reach the function's output: not in normal runs, not
// when requests are refused, not when the Bot API or the configuration fails. Every stdout and stderr
// of every process is captured and searched (here explicitly; every other e2e test does it too, in
// its deployment's close()).
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { BOT_TOKEN, deploy, leaks, text, userData, WEBHOOK_SECRET, type Deployment } from './deployment.js';

const USER = 6001;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoSecrets(outputs: readonly string[]): void {
  expect(leaks(outputs)).toEqual([]);
}

const deployments: Deployment[] = [];
async function deployFor(options: Parameters<typeof deploy>[0] = {}): Promise<Deployment> {
  const bot = await deploy(options);
  deployments.push(bot);
  return bot;
}
afterEach(async () => {
  for (const bot of deployments.splice(0)) await bot.close();
});

describe('the bot token and the webhook secret never appear in the output', () => {
  it('(the search finds the token, its secret part alone, and the webhook secret)', () => {
    expect(leaks([`token ${BOT_TOKEN}`, `…${BOT_TOKEN.split(':')[1]!}…`, WEBHOOK_SECRET, 'clean'])).toHaveLength(3);
  });

  it('of every command, and of refused requests', async () => {
    const bot = await deployFor();
    for (const command of ['/start', '/count', '/note buy milk', '/note', '/stats', '/survey', 'Ada', '36', '/menu']) {
      await bot.say(USER, command);
    }
    await bot.press(USER, 'f'.repeat(64), 1);
    await bot.invoke(webhookEvent(messageUpdate({ updateId: 1, userId: USER, text: '/count' }), { secret: 'wrong' }));
    await bot.invoke(webhookEvent('not json', { secret: WEBHOOK_SECRET }));

    expect(bot.outputs.length).toBeGreaterThan(20);
    expectNoSecrets(bot.outputs);
  });

  it('when the Bot API answers 500: the update fails with 500, is logged, stores nothing, and runs on redelivery', async () => {
    const bot = await deployFor();
    bot.api.failNext('sendMessage', 500);
    const update = messageUpdate({ updateId: 601, userId: USER, text: '/count' });

    const failed = await bot.send(update);
    const redelivered = await bot.send(update);

    expect(failed.result.statusCode).toBe(500);
    expect(failed.stderr).toMatch(/"event":"update-failed","updateId":601,"status":500,"error":"[^"]*sendMessage[^"]*500/);
    expect(redelivered.result.statusCode).toBe(200);
    expect(bot.take('sendMessage').map(text)).toEqual(['1', '1']); // the failed reply was attempted, then sent
    expect(userData(await bot.snapshot()).get(USER)).toMatchObject({ count: 1 });
    expectNoSecrets(bot.outputs);
  });

  it('when the Bot API cannot be reached, also with grammY debug logging on', async () => {
    const bot = await deployFor({ apiRoot: `http://127.0.0.1:${await closedPort()}` });
    bot.env.DEBUG = 'grammy*';

    const { result, stderr } = await bot.say(USER, '/count');

    expect(result.statusCode).toBe(500);
    expect(stderr).toMatch(/Network request for 'sendMessage' failed/);
    expectNoSecrets(bot.outputs);
  });

  it('when the function is misconfigured (BOT_INFO not JSON, or the bucket missing)', async () => {
    const badInfo = await deployFor();
    badInfo.env.BOT_INFO = `{ "token": "${BOT_TOKEN}"`;
    const noBucket = await deployFor();
    noBucket.env.PERSISTENCE_URL = 's3://no-such-bucket-e2e/bot/state';

    const misconfigured = await badInfo.say(USER, '/count');
    const bucketless = await noBucket.say(USER, '/count');

    expect(misconfigured.result.statusCode).toBe(500);
    expect(misconfigured.stderr).toMatch(/BOT_INFO is not valid JSON/);
    expect(bucketless.result.statusCode).toBe(500);
    expect(bucketless.stderr).toMatch(/no-such-bucket-e2e/);
    expectNoSecrets([...badInfo.outputs, ...noBucket.outputs]);
  });
});
