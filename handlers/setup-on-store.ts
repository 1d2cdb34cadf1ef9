/**
 * Builds the sample bot on an S3 client or on any object store: persistence, then bot. Nothing of
 * an S3 client is imported here at run time, so the Workers entry (fetch store, no AWS SDK) and the
 * Node entries (AWS SDK) share it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Bot } from 'grammy';
import { S3Persistence, type ObjectStore } from 'telegram-s3-persistence';
import { createBot, mergeConcurrentChanges, type BotContext } from './bot.js';
import type { BotConfig } from './config.js';

export type SamplePersistence = S3Persistence<BotContext['userData'], BotContext['chatData'], BotContext['botData']>;

/** Where the state goes: an AWS SDK client (the persistence checks its conditional writes), or a store. */
export type StateStorage = { client: S3Client } | { store: ObjectStore };

/** `fetch`: what the bot's Bot API requests go through (default the platform's `fetch`). */
export function setUpBotOn(config: BotConfig, storage: StateStorage, fetch?: typeof globalThis.fetch): { bot: Bot<BotContext>; persistence: SamplePersistence } {
  const persistence: SamplePersistence = new S3Persistence({
    filepath: config.persistenceUrl,
    layout: config.layout,
    ...storage,
    onFlush: true,
    merge: mergeConcurrentChanges,
  });
  const bot = createBot({
    token: config.token,
    botInfo: config.botInfo,
    store: persistence,
    apiRoot: config.apiRoot,
    claimLeaseSeconds: config.claimLeaseSeconds,
    fetch,
  });
  persistence.setBot(bot);
  return { bot, persistence };
}
