/**
 * The Google Cloud Functions entry of the sample bot: an HTTP function for
 * `@google-cloud/functions-framework` (`--entry-point=webhook`), grammY's `express` adapter (the
 * framework hands over an Express request with the JSON body parsed). The same environment as the
 * Lambda; state through the AWS SDK, as on Lambda. Built by infra/gcf/build.mjs.
 *
 * A request with a wrong secret is refused before the cold start; the update's writes are flushed
 * before the response returns (the instance may be throttled right after it).
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import { webhookCallback } from 'grammy';
import { entryGate, updateFailed } from './entry-gate.js';
import { setUpBot } from './setup.js';

type Handle = (request: Parameters<HttpFunction>[0], response: Parameters<HttpFunction>[1]) => Promise<unknown>;

const admit = entryGate(async (config, env: NodeJS.ProcessEnv): Promise<Handle> => {
  const { bot } = await setUpBot(config, env);
  return webhookCallback(bot, 'express', { secretToken: config.webhookSecret });
});

export const webhook: HttpFunction = async (request, response) => {
  const admission = await admit(process.env, request.method, request.header('x-telegram-bot-api-secret-token'));
  if ('refusal' in admission) {
    response.status(admission.refusal.status).json(admission.refusal.body);
    return;
  }
  try {
    await admission.handle(request, response);
  } catch (error) {
    const { status, body } = updateFailed(error, admission.config);
    if (!response.headersSent) response.status(status).json(body);
  }
};
