// Without BOT_INFO the function learns its identity with getMe on its first cold start and caches
// the answer beside the snapshot, so later cold starts make no getMe call (src/webhook.ts).
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { minioClient } from '../support/minio.js';
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

  it('replaces a cache written for another bot (the token changed), with a warning naming both bot ids', async () => {
    const client = minioClient();
    const key = `${STATE_KEY}.bot-info.json`;
    const other = { ...bot.api.botInfo, id: 999_000_111, username: 'previous_bot' };
    await client.send(new PutObjectCommand({ Bucket: bot.bucket, Key: key, Body: JSON.stringify(other) }));

    const first = await bot.say(USER, `/count@${bot.api.botInfo.username}`);
    const second = await bot.say(USER, `/count@${bot.api.botInfo.username}`);

    expect(first.stderr).toMatch(new RegExp(`bot-info.json is for bot 999000111, not for the token's bot ${bot.api.botInfo.id}`));
    expect(second.stderr).not.toMatch(/bot-info/);
    expect(bot.api.callsTo('getMe')).toHaveLength(1);
    expect(bot.take('sendMessage').map(text)).toEqual(['1', '2']);
    const cached = await client.send(new GetObjectCommand({ Bucket: bot.bucket, Key: key }));
    expect(JSON.parse(await cached.Body!.transformToString())).toMatchObject({ id: bot.api.botInfo.id });
    client.destroy();
  });
});
