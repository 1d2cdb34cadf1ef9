/**
 * The Lambda entry of the sample bot: an API Gateway HTTP API (payload 2.0) event in, a response
 * out. The secret token is checked and the body validated before any state is touched; everything
 * the bot writes is flushed before the response returns, because Lambda freezes after it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Update } from 'grammy/types';
import type { Bot } from 'grammy';
import type { BotContext } from './bot.js';
import { readConfig, redact, type BotConfig } from './config.js';
import { setUpBot } from './setup.js';

/** The subset of an API Gateway HTTP API event this handler reads. */
export interface HttpApiEvent {
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string } };
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Telegram's updates are far smaller; anything bigger is not an update. */
export const MAX_BODY_BYTES = 1024 * 1024;

const UPDATE_KINDS = new Set([
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'business_connection', 'business_message',
  'edited_business_message', 'deleted_business_messages', 'message_reaction', 'message_reaction_count',
  'inline_query', 'chosen_inline_result', 'callback_query', 'shipping_query', 'pre_checkout_query',
  'purchased_paid_media', 'poll', 'poll_answer', 'my_chat_member', 'chat_member', 'chat_join_request',
  'chat_boost', 'removed_chat_boost',
]);

function respond(statusCode: number, body: Record<string, unknown>): HttpApiResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Parses a webhook body into an update, or says why it is not one. */
export function parseUpdate(body: string | undefined, isBase64Encoded = false): Update | string {
  if (body === undefined || body === '') return 'the body is empty';
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) return `the body is larger than ${MAX_BODY_BYTES} bytes`;
  let update: unknown;
  try {
    update = JSON.parse(text);
  } catch {
    return 'the body is not JSON';
  }
  if (typeof update !== 'object' || update === null || Array.isArray(update)) return 'the body is not a JSON object';
  const { update_id: updateId } = update as { update_id?: unknown };
  if (typeof updateId !== 'number' || !Number.isSafeInteger(updateId) || updateId < 0) {
    return 'the body has no integer update_id';
  }
  const kinds = Object.keys(update).filter((key) => key !== 'update_id');
  if (kinds.length !== 1) return 'an update carries exactly one kind of content besides update_id';
  if (!UPDATE_KINDS.has(kinds[0]!)) return `"${kinds[0]}" is not a kind of update this bot knows`;
  const content = (update as Record<string, unknown>)[kinds[0]!];
  if (typeof content !== 'object' || content === null) return `"${kinds[0]}" is not an object`;
  return update as Update;
}

let bot: Promise<Bot<BotContext>> | undefined;

const MISCONFIGURED = { ok: false, error: 'the bot is misconfigured; see the function log' };

/**
 * AWS Lambda handler.
 *
 * 401: missing or wrong secret token. 400: not an update. 200: handled (or a redelivery skipped).
 * 500: the update could not be handled or stored; Telegram will deliver it again.
 * A request is checked before the cold start, so one that is refused makes no request of its own
 * (no getMe, no S3).
 */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  let config: BotConfig;
  try {
    config = readConfig(process.env);
  } catch (error) {
    // Configuration errors name the variable, never its value.
    console.error(`cold start failed: ${error instanceof Error ? error.message : String(error)}`);
    return respond(500, MISCONFIGURED);
  }
  const method = event.requestContext?.http?.method;
  if (method !== undefined && method !== 'POST') return respond(405, { ok: false, error: 'use POST' });
  if (config.webhookSecret === undefined) {
    console.error('WEBHOOK_SECRET is not set: refusing every update');
    return respond(500, MISCONFIGURED);
  }
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (!secretMatches(headers['x-telegram-bot-api-secret-token'], config.webhookSecret)) {
    return respond(401, { ok: false, error: 'wrong or missing secret token' });
  }
  const update = parseUpdate(event.body, event.isBase64Encoded);
  if (typeof update === 'string') return respond(400, { ok: false, error: update });
  let current: Bot<BotContext>;
  try {
    current = await (bot ??= setUpBot(config, process.env).then((sample) => sample.bot));
  } catch (error) {
    bot = undefined;
    console.error(`cold start failed: ${redact(error instanceof Error ? error.message : String(error), config)}`);
    return respond(500, MISCONFIGURED);
  }
  try {
    await current.handleUpdate(update);
    return respond(200, { ok: true });
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`update ${update.update_id} failed: ${redact(detail, config)}`);
    return respond(500, { ok: false, error: 'the update could not be handled' });
  }
}
