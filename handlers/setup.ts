/**
 * Builds the sample bot from its configuration, the same way for the Lambda webhook, Cloud
 * Functions and long polling: an AWS SDK client, then persistence and bot.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Bot } from 'grammy';
import type { BotContext } from './bot.js';
import type { BotConfig } from './config.js';
import { setUpBotOn, type SamplePersistence } from './setup-on-store.js';

export interface SampleBot {
  bot: Bot<BotContext>;
  persistence: SamplePersistence;
  client: S3Client;
}

export function setUpBot(config: BotConfig, env: NodeJS.ProcessEnv = process.env): SampleBot {
  const client = new S3Client({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT, forcePathStyle: true } : {}),
  });
  return { ...setUpBotOn(config, { client }), client };
}
