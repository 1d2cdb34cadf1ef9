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
import { readConfig, redact, type BotConfig } from './config.js';
import { setUpBotOnStore } from './setup-on-store.js';

export type WorkerEnv = FetchStoreEnvironment & Record<string, string | undefined>;

type Handle = (request: Request) => Promise<Response>;
/** The object store of the state's bucket, from the Worker's settings. */
export type StoreFactory = (bucket: string, env: WorkerEnv) => ObjectStore;

function respond(status: number, body: Record<string, unknown>): Response {
  return Response.json(body, { status });
}

/** Compares in time independent of where the strings differ. */
function secretMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}

/**
 * A Worker's `fetch` for the sample bot on the object store `storeFor` gives; one bot per isolate.
 *
 * @example
 * export default { fetch: workerFetch(fetchStoreFromEnvironment) };
 */
export function workerFetch(storeFor: StoreFactory): (request: Request, env: WorkerEnv) => Promise<Response> {
  let handle: Promise<Handle> | undefined;
  const setUp = async (config: BotConfig, env: WorkerEnv): Promise<Handle> => {
    const { bot } = await setUpBotOnStore(config, storeFor(parseFilepath(config.persistenceUrl).bucket, env));
    return webhookCallback(bot, 'cloudflare-mod', { secretToken: config.webhookSecret });
  };
  return async (request, env) => {
    let config: BotConfig;
    try {
      config = readConfig(env);
    } catch (error) {
      // Configuration errors name the variable, never its value.
      console.error(`cold start failed: ${error instanceof Error ? error.message : String(error)}`);
      return respond(500, MISCONFIGURED);
    }
    if (request.method !== 'POST') return respond(405, { ok: false, error: 'use POST' });
    if (config.webhookSecret === undefined) {
      console.error('WEBHOOK_SECRET is not set: refusing every update');
      return respond(500, MISCONFIGURED);
    }
    if (!secretMatches(request.headers.get('x-telegram-bot-api-secret-token'), config.webhookSecret)) {
      return respond(401, { ok: false, error: 'wrong or missing secret token' });
    }
    const current = (handle ??= setUp(config, env));
    let handleUpdate: Handle;
    try {
      handleUpdate = await current;
    } catch (error) {
      if (handle === current) handle = undefined; // the next request tries the cold start again
      console.error(`cold start failed: ${redact(describe(error), config)}`);
      return respond(500, MISCONFIGURED);
    }
    try {
      return await handleUpdate(request);
    } catch (error) {
      console.error(`update failed: ${redact(describe(error), config)}`);
      return respond(500, { ok: false, error: 'the update could not be handled' });
    }
  };
}

const MISCONFIGURED = { ok: false, error: 'the bot is misconfigured; see the Worker log' };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export default { fetch: workerFetch(fetchStoreFromEnvironment) };
