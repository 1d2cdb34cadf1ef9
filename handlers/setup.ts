/**
 * Builds the sample bot from its configuration, the same way for the Lambda webhook and for long
 * polling: S3 client, persistence, bot.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Bot } from 'grammy';
import { S3Persistence } from '../src/s3-persistence.js';
import { createBot, mergeConcurrentChanges, type BotContext } from './bot.js';
import type { BotConfig } from './config.js';

export interface SampleBot {
  bot: Bot<BotContext>;
  persistence: S3Persistence<BotContext['userData'], BotContext['chatData'], BotContext['botData']>;
  client: S3Client;
}

export function setUpBot(config: BotConfig, env: NodeJS.ProcessEnv = process.env): SampleBot {
  const client = new S3Client({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT, forcePathStyle: true } : {}),
  });
  const persistence = new S3Persistence<BotContext['userData'], BotContext['chatData'], BotContext['botData']>({
    filepath: config.persistenceUrl,
    layout: config.layout,
    client,
    onFlush: true,
    merge: mergeConcurrentChanges,
  });
  const bot = createBot({ token: config.token, botInfo: config.botInfo, store: persistence, apiRoot: config.apiRoot });
  persistence.setBot(bot);
  return { bot, persistence, client };
}
