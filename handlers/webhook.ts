/**
 * The Lambda entry of the sample bot: an API Gateway HTTP API (payload 2.0) event in, a response
 * out, through the library's webhook (`telegram-s3-persistence/webhook`): the secret token and the
 * body are checked before any state is touched, and everything the bot writes is flushed before the
 * response returns, because Lambda freezes after it.
 */
import { webhookHandler, type LambdaWebhookEvent, type LambdaWebhookResult } from 'telegram-s3-persistence/webhook';
import { ConfigError, readConfig } from './config.js';
import { nodeFetch } from './node-fetch.js';
import { setUpBot } from './setup.js';

export type { LambdaWebhookEvent as HttpApiEvent, LambdaWebhookResult as HttpApiResult };

let handle: ((event: LambdaWebhookEvent) => Promise<LambdaWebhookResult>) | undefined;

/** Environment: BOT_TOKEN, WEBHOOK_SECRET, PERSISTENCE_URL, and optionally BOT_INFO, PERSISTENCE_LAYOUT, S3_CLIENT (fetch or sdk: handlers/setup.ts), S3_ENDPOINT, TELEGRAM_API_ROOT. */
export async function handler(event: LambdaWebhookEvent): Promise<LambdaWebhookResult> {
  if (handle === undefined) {
    try {
      const config = readConfig(process.env);
      if (config.webhookSecret === undefined) throw new ConfigError('WEBHOOK_SECRET is not set: refusing every update');
      // The fetch store unless S3_CLIENT says sdk: the default bundle has no AWS SDK (infra/bundle.mjs).
      // Its S3 requests and the Bot API calls go through node:http, not Node's fetch, whose first use
      // costs a small function about 10 MB (handlers/node-fetch.ts). Nothing else in the handler
      // starts undici, so V8's tiering budget for its WebAssembly parser is no longer set here.
      const { bot, persistence } = setUpBot(config, process.env, 'fetch', nodeFetch as typeof fetch);
      const secretToken = config.webhookSecret;
      handle = webhookHandler(bot, persistence, { platform: 'aws-lambda-async', secretToken, botInfo: config.botInfo });
    } catch (error) {
      // Configuration errors name the variable, never its value.
      console.error(`cold start failed: ${error instanceof Error ? error.message : String(error)}`);
      const body = JSON.stringify({ ok: false, error: 'the bot is misconfigured; see the function log' });
      return { statusCode: 500, headers: { 'content-type': 'application/json' }, body };
    }
  }
  return handle(event);
}
