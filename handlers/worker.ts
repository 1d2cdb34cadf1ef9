/**
 * The Cloudflare Workers entry of the sample bot (`wrangler.jsonc`): grammY's `cloudflare-mod`
 * webhook adapter, state through the fetch object store (no AWS SDK in the bundle). Settings are
 * the Worker's vars and secrets, the same names as the Lambda's environment plus the S3 credentials
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`).
 *
 * A request with a wrong secret is refused before the cold start (no S3 request, no getMe); the
 * update's writes are flushed before the response returns.
 */
import { webhookCallback } from 'grammy';
import { fetchStoreFromEnvironment, type FetchStoreEnvironment } from '../src/fetch-store.js';
import { parseFilepath } from '../src/snapshot/layout.js';
import type { ObjectStore } from '../src/store/object-store.js';
import type { BotConfig } from './config.js';
import { entryGate, updateFailed } from './entry-gate.js';
import { setUpBotOnStore } from './setup-on-store.js';

export type WorkerEnv = FetchStoreEnvironment & Record<string, string | undefined>;

type Handle = (request: Request) => Promise<Response>;
/** The object store of the state's bucket, from the Worker's settings. */
export type StoreFactory = (bucket: string, env: WorkerEnv) => ObjectStore;

/**
 * A Worker's `fetch` for the sample bot on the object store `storeFor` gives; one bot per isolate.
 *
 * @example
 * export default { fetch: workerFetch(fetchStoreFromEnvironment) };
 */
export function workerFetch(storeFor: StoreFactory): (request: Request, env: WorkerEnv) => Promise<Response> {
  const admit = entryGate(async (config: BotConfig, env: WorkerEnv): Promise<Handle> => {
    const { bot } = await setUpBotOnStore(config, storeFor(parseFilepath(config.persistenceUrl).bucket, env));
    return webhookCallback(bot, 'cloudflare-mod', { secretToken: config.webhookSecret });
  });
  return async (request, env) => {
    const admission = await admit(env, request.method, request.headers.get('x-telegram-bot-api-secret-token'));
    if ('refusal' in admission) return Response.json(admission.refusal.body, { status: admission.refusal.status });
    try {
      return await admission.handle(request);
    } catch (error) {
      const { status, body } = updateFailed(error, admission.config);
      return Response.json(body, { status });
    }
  };
}

export default { fetch: workerFetch(fetchStoreFromEnvironment) };
