/**
 * Builds the sample bot from its configuration, the same way for the Lambda webhook, Cloud
 * Functions and long polling: the library's S3 client from the environment (`S3_ENDPOINT`,
 * `AWS_REGION`), then persistence and bot.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Bot } from 'grammy';
import { clientFromEnvironment } from 'telegram-s3-persistence';
import type { BotContext } from './bot.js';
import type { BotConfig } from './config.js';
import { setUpBotOn, type SamplePersistence } from './setup-on-store.js';

export interface SampleBot {
  bot: Bot<BotContext>;
  persistence: SamplePersistence;
  client: S3Client;
}

export function setUpBot(config: BotConfig, env: NodeJS.ProcessEnv = process.env): SampleBot {
  const client = clientFromEnvironment(env);
  return { ...setUpBotOn(config, { client }), client };
}
