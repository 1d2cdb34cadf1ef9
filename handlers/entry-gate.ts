/**
 * What the Workers and Cloud Functions entries of the sample bot check before an update reaches
 * the bot: configuration, method, the webhook secret (before the cold start, so a refused request
 * makes no request of its own), then one bot per instance, set up once.
 */
import { readConfig, redact, type BotConfig } from './config.js';
import { secretMatches } from './secret.js';

/** A refusal: the status and JSON body to answer. */
export interface Refusal {
  status: number;
  body: { ok: false; error: string };
}

export type Admission<Handle> = { handle: Handle; config: BotConfig } | { refusal: Refusal };

const MISCONFIGURED: Refusal = { status: 500, body: { ok: false, error: 'the bot is misconfigured; see the function log' } };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The gate of one entry: `admit(env, method, secretHeader)` answers the update's handler, or why not.
 *
 * @example
 * const admit = entryGate((config, env) => setUpHandle(config, env));
 * const admission = await admit(env, request.method, request.headers.get('x-telegram-bot-api-secret-token'));
 */
export function entryGate<Handle, Env extends Record<string, string | undefined>>(
  setUp: (config: BotConfig, env: Env) => Promise<Handle>,
): (env: Env, method: string | undefined, secret: string | null | undefined) => Promise<Admission<Handle>> {
  let handle: Promise<Handle> | undefined;
  return async (env, method, secret) => {
    let config: BotConfig;
    try {
      config = readConfig(env);
    } catch (error) {
      // Configuration errors name the variable, never its value.
      console.error(`cold start failed: ${describe(error)}`);
      return { refusal: MISCONFIGURED };
    }
    if (method !== undefined && method !== 'POST') return { refusal: { status: 405, body: { ok: false, error: 'use POST' } } };
    if (config.webhookSecret === undefined) {
      console.error('WEBHOOK_SECRET is not set: refusing every update');
      return { refusal: MISCONFIGURED };
    }
    if (!secretMatches(secret, config.webhookSecret)) {
      return { refusal: { status: 401, body: { ok: false, error: 'wrong or missing secret token' } } };
    }
    const current = (handle ??= setUp(config, env));
    try {
      return { handle: await current, config };
    } catch (error) {
      if (handle === current) handle = undefined; // the next request tries the cold start again
      console.error(`cold start failed: ${redact(describe(error), config)}`);
      return { refusal: MISCONFIGURED };
    }
  };
}

/** Logs an update that failed (token and secret redacted) and gives the 500 to answer, so Telegram delivers it again. */
export function updateFailed(error: unknown, config: BotConfig): Refusal {
  console.error(`update failed: ${redact(describe(error), config)}`);
  return { status: 500, body: { ok: false, error: 'the update could not be handled' } };
}
