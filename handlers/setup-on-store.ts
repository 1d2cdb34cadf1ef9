/**
 * Builds the sample bot on any object store: persistence, then bot. No S3 client is imported here,
 * so the Workers entry (fetch store, no AWS SDK) and the Node entries (AWS SDK) share it.
 */
import type { Bot } from 'grammy';
import { S3Persistence } from '../src/s3-persistence.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { createBot, mergeConcurrentChanges, type BotContext } from './bot.js';
import type { BotConfig } from './config.js';

export type SamplePersistence = S3Persistence<BotContext['userData'], BotContext['chatData'], BotContext['botData']>;

export function setUpBotOnStore(config: BotConfig, store: ObjectStore): { bot: Bot<BotContext>; persistence: SamplePersistence } {
  const persistence: SamplePersistence = new S3Persistence({
    filepath: config.persistenceUrl,
    layout: config.layout,
    store,
    onFlush: true,
    merge: mergeConcurrentChanges,
  });
  const bot = createBot({ token: config.token, botInfo: config.botInfo, store: persistence, apiRoot: config.apiRoot });
  persistence.setBot(bot);
  return { bot, persistence };
}
