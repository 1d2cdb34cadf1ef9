/**
 * The Cloudflare Workers entry of the sample bot (`wrangler.jsonc`): the library's webhook
 * (`telegram-s3-persistence/webhook`, platform `cloudflare-mod`), state through the fetch object
 * store (no AWS SDK in the bundle) behind the check of conditional writes, as `S3Persistence` puts
 * its default store. Settings are the Worker's vars and secrets: the Lambda's names plus the S3
 * credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`). A Worker
 * gets them with each request, so the bot is set up on the first one and kept by the isolate.
 */
import { ConditionalWriteGuard, parseFilepath, type ObjectStore } from 'telegram-s3-persistence';
import { fetchStoreFromEnvironment, type FetchStoreEnvironment } from 'telegram-s3-persistence/fetch-store';
import { webhookHandler } from 'telegram-s3-persistence/webhook';
import { ConfigError, readConfig } from './config.js';
import { setUpBotOn } from './setup-on-store.js';

export type WorkerEnv = FetchStoreEnvironment & Record<string, string | undefined>;
/** The object store of the state's bucket, from the Worker's settings, and the server's address (for the check's verdict). */
export type StoreFactory = (bucket: string, env: WorkerEnv) => { store: ObjectStore; endpoint: string | (() => Promise<string>) };
type Handle = (request: Request) => Promise<Response>;

/**
 * A Worker's `fetch` for the sample bot on the object store `storeFor` gives; one bot per isolate.
 *
 * @example
 * export default { fetch: workerFetch((bucket, env) => ({ store: myStore(bucket, env), endpoint: 'https://s3.example' })) };
 */
export function workerFetch(storeFor: StoreFactory): (request: Request, env: WorkerEnv) => Promise<Response> {
  let handle: Handle | undefined;
  return async (request, env) => {
    if (handle === undefined) {
      try {
        const config = readConfig(env);
        if (config.webhookSecret === undefined) throw new ConfigError('WEBHOOK_SECRET is not set: refusing every update');
        const { bucket, path } = parseFilepath(config.persistenceUrl);
        const { store, endpoint } = storeFor(bucket, env);
        const { bot, persistence } = setUpBotOn(config, { store: new ConditionalWriteGuard({ store, endpoint, path }) });
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

/** The fetch store from the Worker's settings. */
function fetchStore(bucket: string, env: WorkerEnv): { store: ObjectStore; endpoint: string } {
  const store = fetchStoreFromEnvironment(bucket, env);
  return { store, endpoint: store.endpointUrl };
}

export default { fetch: workerFetch(fetchStore) };
