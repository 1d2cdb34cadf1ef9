// The long-polling entry (handlers/polling.ts, built as `npm run bot:polling` builds it) against the
// fake Bot API's getUpdates: same bot, same state in MinIO as the webhook, stopped by SIGINT.
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { deploy, text, userData, type Deployment } from './deployment.js';

const USER = 7001;

let bot: Deployment;
beforeEach(async () => {
  bot = await deploy();
});
afterEach(async () => {
  await bot.close();
});

function startPolling(env: Record<string, string>) {
  const child = spawn(process.execPath, [inject('pollingBundle')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, exited, output: () => output };
}

describe('npm run bot:polling', () => {
  it('deletes the webhook, answers updates from getUpdates with state in MinIO, and stops cleanly on SIGINT', async () => {
    const { WEBHOOK_SECRET: _unused, ...env } = bot.env; // polling needs no webhook secret
    const polling = startPolling(env);

    await bot.api.waitForCalls('getUpdates', 1);
    bot.api.pushUpdate(messageUpdate({ updateId: 1, userId: USER, text: '/count' }));
    await bot.api.waitForCalls('sendMessage', 1);
    bot.api.pushUpdate(messageUpdate({ updateId: 2, userId: USER, text: '/count' }));
    await bot.api.waitForCalls('sendMessage', 2);
    polling.child.kill('SIGINT');
    const exitCode = await polling.exited;

    expect(exitCode).toBe(0);
    const methods = bot.api.calls.map((call) => call.method);
    expect(methods.indexOf('deleteWebhook')).toBeGreaterThanOrEqual(0);
    expect(methods.indexOf('deleteWebhook')).toBeLessThan(methods.indexOf('getUpdates'));
    expect(bot.api.callsTo('deleteWebhook')[0]?.payload).not.toMatchObject({ drop_pending_updates: true });
    expect(bot.take('sendMessage').map(text)).toEqual(['1', '2']);
    expect(userData(await bot.snapshot()).get(USER)).toMatchObject({ count: 2 });
    expect(polling.output()).toMatch(/is polling/);
    expect(polling.output()).toMatch(/stopped/);
    bot.outputs.push(polling.output()); // searched for secrets by bot.close()

    // The webhook deployment takes over the same state.
    await bot.say(USER, '/count');
    expect(bot.take('sendMessage').map(text)).toEqual(['3']);
  });

  it('exits with an error naming the variable when BOT_TOKEN is missing', async () => {
    const { BOT_TOKEN: _unused, ...env } = bot.env;
    const polling = startPolling(env);

    expect(await polling.exited).toBe(1);
    expect(polling.output()).toMatch(/BOT_TOKEN is not set/);
    bot.outputs.push(polling.output());
    expect(bot.api.calls).toEqual([]);
  });
});
