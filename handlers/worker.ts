/**
 * The Cloudflare Workers entry of the sample bot (`wrangler.jsonc`): the library's webhook
 * (`telegram-s3-persistence/webhook`, platform `cloudflare-mod`), state through the fetch object
 * store (no AWS SDK in the bundle). Settings are the Worker's vars and secrets: the Lambda's names
 * plus the S3 credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`).
 * A Worker gets them with each request, so the bot is set up on the first one and kept by the isolate.
 */
import { fetchStoreFromEnvironment, type FetchStoreEnvironment } from '../src/fetch-store.js';
import { parseFilepath } from '../src/snapshot/layout.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { webhookHandler } from '../src/webhook.js';
import { ConfigError, readConfig } from './config.js';
import { setUpBotOnStore } from './setup-on-store.js';

export type WorkerEnv = FetchStoreEnvironment & Record<string, string | undefined>;
/** The object store of the state's bucket, from the Worker's settings. */
export type StoreFactory = (bucket: string, env: WorkerEnv) => ObjectStore;
type Handle = (request: Request) => Promise<Response>;

/**
 * A Worker's `fetch` for the sample bot on the object store `storeFor` gives; one bot per isolate.
 *
 * @example
 * export default { fetch: workerFetch(fetchStoreFromEnvironment) };
 */
export function workerFetch(storeFor: StoreFactory): (request: Request, env: WorkerEnv) => Promise<Response> {
  let handle: Handle | undefined;
  return async (request, env) => {
    if (handle === undefined) {
      try {
        const config = readConfig(env);
        if (config.webhookSecret === undefined) throw new ConfigError('WEBHOOK_SECRET is not set: refusing every update');
        const { bot, persistence } = setUpBotOnStore(config, storeFor(parseFilepath(config.persistenceUrl).bucket, env));
        handle = webhookHandler(bot, persistence, { platform: 'cloudflare-mod', secretToken: config.webhookSecret, botInfo: config.botInfo });
      } catch (error) {
        // Configuration errors name the variable, never its value.
        console.error(`cold start failed: ${error instanceof Error ? error.message : String(error)}`);
        return Response.json({ ok: false, error: 'the bot is misconfigured; see the Worker log' }, { status: 500 });
      }
    }
    return handle(request);
  };
}

export default { fetch: workerFetch(fetchStoreFromEnvironment) };
