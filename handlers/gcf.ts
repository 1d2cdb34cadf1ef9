/**
 * The Google Cloud Functions entry of the sample bot: an HTTP function for
 * `@google-cloud/functions-framework` (`--entry-point=webhook`) on the library's webhook
 * (`telegram-s3-persistence/webhook`, platform `express`: the framework hands over an Express
 * request with its raw body). The Lambda's environment; state through the AWS SDK, as on Lambda.
 * Built by infra/gcf/build.mjs.
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import { webhookHandler, type NodeWebhookRequest, type NodeWebhookResponse } from 'telegram-s3-persistence/webhook';
import { ConfigError, readConfig } from './config.js';
import { setUpBot } from './setup.js';

let handle: ((request: NodeWebhookRequest, response: NodeWebhookResponse) => Promise<void>) | undefined;

export const webhook: HttpFunction = async (request, response) => {
  if (handle === undefined) {
    try {
      const config = readConfig(process.env);
      if (config.webhookSecret === undefined) throw new ConfigError('WEBHOOK_SECRET is not set: refusing every update');
      const { bot, persistence } = setUpBot(config);
      handle = webhookHandler(bot, persistence, { platform: 'express', secretToken: config.webhookSecret, botInfo: config.botInfo });
    } catch (error) {
      // Configuration errors name the variable, never its value.
      console.error(`cold start failed: ${error instanceof Error ? error.message : String(error)}`);
      response.status(500).json({ ok: false, error: 'the bot is misconfigured; see the function log' });
      return;
    }
  }
  await handle(request as unknown as NodeWebhookRequest, response);
};
