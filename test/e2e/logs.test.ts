// What an operator sees of the deployed bot: each invocation of the bundled handler prints one JSON
// line per update (its id, kind, costs and outcome), and never the token, the webhook secret or
// what a user wrote.
import { afterEach, describe, expect, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { deploy, leaks, WEBHOOK_SECRET, type Deployment } from './deployment.js';

const USER = 7001;
const USER_TEXT = 'Grace-private-7f3a';

/** The JSON lines of an output. */
function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const deployments: Deployment[] = [];
afterEach(async () => {
  for (const bot of deployments.splice(0)) await bot.close();
});

describe('the log of the deployed bot', () => {
  it('has one line per update with its fields, and no token, secret or user text', async () => {
    const bot = await deploy();
    deployments.push(bot);
    const commands = ['/count', `/note ${USER_TEXT}`, '/survey', USER_TEXT, '/stats'];
    const invocations = [];
    for (const command of commands) invocations.push(await bot.say(USER, command));
    const update = messageUpdate({ updateId: 90_001, userId: USER, text: '/count' });
    const first = await bot.send(update);
    const redelivered = await bot.send(update);
    const refused = await bot.invoke(webhookEvent(update, { secret: 'wrong' }));

    for (const invocation of [...invocations, first]) {
      const lines = jsonLines(invocation.stdout).filter((line) => line.event === 'update');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'info',
        kind: 'message',
        outcome: 'handled',
        durationMs: expect.any(Number),
        gets: expect.any(Number),
        notModified: expect.any(Number),
        puts: expect.any(Number),
        preconditionsLost: 0,
        conflicts: 0,
        retries: 0,
        bytesRead: expect.any(Number),
        bytesWritten: expect.any(Number),
      });
      // A fresh process is a cold start: it reads the snapshot (stored by the invocation before).
      expect(lines[0]!.gets).toBeGreaterThanOrEqual(1);
    }
    // Two PUTs: the update's claim (the sample bot claims updates) and the snapshot.
    expect(jsonLines(first.stdout)[0]).toMatchObject({ updateId: 90_001, puts: 2 });
    expect(jsonLines(redelivered.stdout).filter((line) => line.event === 'update')).toEqual([
      expect.objectContaining({ updateId: 90_001, outcome: 'duplicate', puts: 0 }),
    ]);
    expect(refused.result.statusCode).toBe(401);
    expect(jsonLines(refused.stdout)).toEqual([]);

    expect(leaks(bot.outputs)).toEqual([]);
    expect(bot.outputs.filter((output) => output.includes(USER_TEXT) || output.includes(WEBHOOK_SECRET))).toEqual([]);
  });
});
