/**
 * Builds the sample bot from its configuration, the same way for the Lambda webhook, Cloud
 * Functions and long polling: the object store from the environment, then persistence and bot.
 *
 * `S3_CLIENT` chooses how the state is reached:
 * - `fetch`: the fetch store (`telegram-s3-persistence/fetch-store`: SigV4 signed by the store, sent
 *   by the `fetch` given, else the platform's), behind the check of conditional writes as `S3Persistence` puts its default store. It
 *   signs with `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, which Lambda
 *   sets for the function's role (and which the SDK's credential chain reads there too). The
 *   Lambda bundle on it has no AWS SDK (infra/bundle.mjs). Snapshots go up as one PUT at any size.
 * - `sdk`: AWS SDK v3 (`AWS_REGION`, `S3_ENDPOINT`, the SDK's credential chain: profiles, SSO,
 *   instance roles), with multipart uploads of snapshots from 16 MiB.
 *
 * Unset: the entry's default, `fetch` for the Lambda webhook (whose environment always holds the
 * keys; serverless.yml sets `S3_CLIENT` anyway), `sdk` for Cloud Functions and long polling.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Bot } from 'grammy';
import { clientFromEnvironment, ConditionalWriteGuard, parseFilepath } from 'telegram-s3-persistence';
import { fetchStoreFromEnvironment } from 'telegram-s3-persistence/fetch-store';
import type { BotContext } from './bot.js';
import { ConfigError, type BotConfig } from './config.js';
import { setUpBotOn, type SamplePersistence, type StateStorage } from './setup-on-store.js';

export type S3ClientName = 'fetch' | 'sdk';

export interface SampleBot {
  bot: Bot<BotContext>;
  persistence: SamplePersistence;
  /** The S3 client it stores through. */
  s3Client: S3ClientName;
  /** Releases the S3 client's connections (the SDK's sockets; nothing for fetch). */
  close(): void;
}

/** `S3_CLIENT`, or `fallback` when it is unset. */
export function s3ClientOf(env: NodeJS.ProcessEnv, fallback: S3ClientName = 'sdk'): S3ClientName {
  const value = env.S3_CLIENT?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (value !== 'fetch' && value !== 'sdk') throw new ConfigError('S3_CLIENT must be fetch or sdk');
  return value;
}

/**
 * `fetch`: what the fetch store's S3 requests and the Bot API requests go through (default the
 * platform's `fetch`; the Lambda handler gives its transport on Node's http module, handlers/node-fetch.ts).
 */
export function setUpBot(
  config: BotConfig,
  env: NodeJS.ProcessEnv = process.env,
  defaultClient: S3ClientName = 'sdk',
  fetch?: typeof globalThis.fetch,
): SampleBot {
  const s3Client = s3ClientOf(env, defaultClient);
  let storage: StateStorage;
  let close = () => {};
  if (s3Client === 'fetch') {
    const { bucket, path } = parseFilepath(config.persistenceUrl);
    const store = fetchStoreFromEnvironment(bucket, env, fetch === undefined ? {} : { fetch });
    storage = { store: new ConditionalWriteGuard({ store, endpoint: store.endpointUrl, path }) };
  } else {
    const client: S3Client = clientFromEnvironment(env);
    storage = { client };
    close = () => client.destroy();
  }
  return { ...setUpBotOn(config, storage, fetch), s3Client, close };
}
