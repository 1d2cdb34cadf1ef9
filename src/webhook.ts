/**
 * A Telegram webhook for a grammY bot whose state lives in a persistence, as one handler per
 * platform: AWS Lambda, Deno, Bun, Cloudflare Workers, Node's `http` and Express.
 *
 * Before anything else runs, a request is checked: the secret token (constant time), the method,
 * the body's size and that the body is an update. A refused request touches no state and makes no
 * request of its own. Then, on the first update of an instance, the bot's identity comes from
 * `botInfo` or from a cache beside the state (getMe once otherwise), and grammY's `webhookCallback`
 * handles the update. grammY's platform adapters parse the body themselves, with no size limit and
 * no answer but 500 for a body that is not an update, so the request is read here and the checked
 * update handed to its platform-neutral `callback` adapter; grammY's webhook replies still work.
 * A redelivered update is skipped by the persistence middleware (`persistence()` of
 * `telegram-s3-persistence/grammy`), which must be installed on the bot, and answered 200.
 */
import { webhookCallback, type Bot, type Context } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import type { BasePersistence } from './contract.js';
import { InvalidOptionsError } from './errors.js';
import { loggerOf, type Logger } from './runtime/logger.js';
import type { S3Persistence } from './s3-persistence.js';
import type { ObjectStore } from './store/object-store.js';

/** The platforms, by grammY's names for their adapters. */
export type WebhookPlatform = 'aws-lambda-async' | 'std/http' | 'bun' | 'cloudflare-mod' | 'http' | 'express';

/** An API Gateway event (HTTP API payload 2.0, or REST API / payload 1.0), as far as the webhook reads it. */
export interface LambdaWebhookEvent {
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string } };
  httpMethod?: string;
}

/** What a Lambda handler behind API Gateway answers. */
export interface LambdaWebhookResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A Node request (`http.IncomingMessage`, or Express's, whose `rawBody` or parsed `body` is used when present). */
export interface NodeWebhookRequest extends AsyncIterable<Uint8Array | string> {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody?: Uint8Array;
}

/** A Node response (`http.ServerResponse`, or Express's). */
export interface NodeWebhookResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/** The handler each platform calls. */
export interface WebhookHandlers {
  'aws-lambda-async': (event: LambdaWebhookEvent) => Promise<LambdaWebhookResult>;
  'std/http': (request: Request) => Promise<Response>;
  bun: (request: Request) => Promise<Response>;
  'cloudflare-mod': (request: Request) => Promise<Response>;
  http: (request: NodeWebhookRequest, response: NodeWebhookResponse) => Promise<void>;
  express: (request: NodeWebhookRequest, response: NodeWebhookResponse) => Promise<void>;
}

/** Where getMe's answer is kept between cold starts: an object store and a key in it. */
export interface BotInfoCache {
  store: ObjectStore;
  key: string;
}

export interface WebhookOptions<P extends WebhookPlatform> {
  platform: P;
  /** The `secret_token` given to setWebhook; a request without it gets 401. */
  secretToken: string;
  /** The bot's identity (getMe's result, e.g. parsed from a `BOT_INFO` variable): no getMe at all. */
  botInfo?: UserFromGetMe;
  /**
   * Without `botInfo`: where getMe's answer is cached, so that only the first cold start calls getMe.
   * Default for an `S3Persistence`: `<path>.bot-info.json` beside its state. A cache written for
   * another bot (the token changed) is replaced, with a warning.
   */
  botInfoCache?: BotInfoCache | false;
  /** A larger body is refused with 400 before it is parsed; default 1 MiB (updates are far smaller). */
  maxBodyBytes?: number;
  /** grammY's `timeoutMilliseconds` for handling one update; default none (the platform's own limit applies). */
  timeoutMilliseconds?: number;
  /**
   * Where failures are reported: the runtime's {@link Logger}, by default one JSON line on stderr
   * per record (`event`: `cold-start-failed`, `update-failed`, `bot-info-cache`), the same format as
   * the runtime's line of each update; `false`: nowhere. Records never hold the token or the secret.
   */
  logger?: Logger | false;
}

/** Telegram's updates are far smaller; anything bigger is not an update. */
export const MAX_BODY_BYTES = 1024 * 1024;

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const UPDATE_KINDS = new Set([
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'business_connection', 'business_message',
  'edited_business_message', 'deleted_business_messages', 'message_reaction', 'message_reaction_count',
  'inline_query', 'chosen_inline_result', 'callback_query', 'shipping_query', 'pre_checkout_query',
  'purchased_paid_media', 'poll', 'poll_answer', 'my_chat_member', 'chat_member', 'chat_join_request',
  'chat_boost', 'removed_chat_boost',
]);

/** Parses a webhook body into an update, or says why it is not one. */
export function parseUpdate(body: string): Update | string {
  if (body === '') return 'the body is empty';
  let update: unknown;
  try {
    update = JSON.parse(body);
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

/** Compares every byte whatever the first difference, so the time taken tells nothing of the secret. */
function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}

/** A request as the checks see it, whatever the platform. */
interface IncomingWebhook {
  method: string | undefined;
  secret: string | undefined;
  /** The body as text, or `undefined` when it is larger than the limit. */
  body(limit: number): Promise<string | undefined>;
}

interface Answer {
  status: number;
  /** JSON text. */
  body: string;
}

/** Each platform: how its request is read, and how an answer is given back. */
interface Transport<Args extends unknown[], Result> {
  read(...args: Args): IncomingWebhook;
  answer(answer: Answer, ...args: Args): Promise<Result>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const byteLength = (text: string) => new TextEncoder().encode(text).length;

const fetchTransport: Transport<[Request], Response> = {
  read: (request) => ({
    method: request.method,
    secret: request.headers.get(SECRET_HEADER) ?? undefined,
    async body(limit) {
      if (Number(request.headers.get('content-length') ?? 0) > limit) return undefined;
      const text = await request.text();
      return byteLength(text) > limit ? undefined : text;
    },
  }),
  answer: async ({ status, body }) => new Response(body, { status, headers: JSON_HEADERS }),
};

const lambdaTransport: Transport<[LambdaWebhookEvent], LambdaWebhookResult> = {
  read(event) {
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    return {
      method: event.requestContext?.http?.method ?? event.httpMethod,
      secret: headers[SECRET_HEADER],
      async body(limit) {
        const raw = event.body ?? '';
        const text = event.isBase64Encoded ? new TextDecoder().decode(Uint8Array.from(atob(raw), (c) => c.charCodeAt(0))) : raw;
        return byteLength(text) > limit ? undefined : text;
      },
    };
  },
  answer: async ({ status, body }) => ({ statusCode: status, headers: { ...JSON_HEADERS }, body }),
};

const nodeTransport: Transport<[NodeWebhookRequest, NodeWebhookResponse], void> = {
  read: (request) => ({
    method: request.method,
    secret: [request.headers[SECRET_HEADER]].flat()[0],
    async body(limit) {
      // A body parser has read the stream already: Google Cloud Functions gives `rawBody`, Express's
      // express.json() an object, express.raw() a Buffer, express.text() a string.
      const parsed = request.rawBody ?? request.body;
      if (parsed !== undefined) {
        const text = parsed instanceof Uint8Array ? new TextDecoder().decode(parsed) : typeof parsed === 'string' ? parsed : (JSON.stringify(parsed) ?? '');
        return byteLength(text) > limit ? undefined : text;
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of request) {
        const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
        size += bytes.length;
        if (size > limit) return undefined;
        chunks.push(bytes);
      }
      const whole = new Uint8Array(size);
      let offset = 0;
      for (const bytes of chunks) {
        whole.set(bytes, offset);
        offset += bytes.length;
      }
      return new TextDecoder().decode(whole);
    },
  }),
  answer: async ({ status, body }, _request, response) => {
    response.writeHead(status, JSON_HEADERS);
    response.end(body);
  },
};

/** The platforms, by grammY's adapter names: a table of small transports, as grammY's own adapters are. */
const TRANSPORTS: { [P in WebhookPlatform]: Transport<Parameters<WebhookHandlers[P]>, Awaited<ReturnType<WebhookHandlers[P]>>> } = {
  'aws-lambda-async': lambdaTransport,
  'std/http': fetchTransport,
  bun: fetchTransport,
  'cloudflare-mod': fetchTransport,
  http: nodeTransport,
  express: nodeTransport,
};

const refuse = (status: number, error: string): Answer => ({ status, body: JSON.stringify({ ok: false, error }) });

/** The bot id a token belongs to: the digits before its colon. */
const botIdOf = (token: string) => Number(token.split(':')[0]);

/**
 * The bot's identity from `cache`, or from getMe (then cached). A cache that belongs to another bot
 * is replaced, with a warning; a cache that cannot be written only costs the next cold start a getMe.
 */
async function cachedBotInfo(bot: Bot<Context>, cache: BotInfoCache, logger: Logger): Promise<UserFromGetMe> {
  const where = `s3://${cache.store.bucket}/${cache.key}`;
  const log = (message: string) => logger.warn({ event: 'bot-info-cache', cache: where, message });
  const read = await cache.store.get(cache.key);
  if (read.status === 'found') {
    let cached: Partial<UserFromGetMe> | undefined;
    try {
      cached = JSON.parse(new TextDecoder().decode(read.body)) as Partial<UserFromGetMe>;
    } catch {
      log(`the cached bot info in ${where} is not JSON: asking getMe and replacing it`);
    }
    if (cached !== undefined && cached.id === botIdOf(bot.token) && typeof cached.username === 'string') return cached as UserFromGetMe;
    if (cached !== undefined) {
      log(`the cached bot info in ${where} is for bot ${String(cached.id)}, not for the token's bot ${botIdOf(bot.token)}: asking getMe and replacing it`);
    }
  }
  const info = await bot.api.getMe();
  const condition = read.status === 'found' ? { ifMatch: read.etag } : ({ ifNoneMatch: '*' } as const);
  await cache.store.put(cache.key, new TextEncoder().encode(JSON.stringify(info)), condition).catch((error: unknown) => {
    log(`could not cache the bot info in ${where} (the next cold start asks getMe again): ${messageOf(error)}`);
  });
  return info;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The default cache: beside the state of an `S3Persistence`, none for another persistence. Told by
 * its shape, not `instanceof`: nothing of the S3 client is imported here (a Worker may bring its own store).
 */
function defaultCache(persistence: object): BotInfoCache | undefined {
  const { store, path } = persistence as Partial<Pick<S3Persistence, 'store' | 'path'>>;
  return store !== undefined && typeof path === 'string' ? { store, key: `${path}.bot-info.json` } : undefined;
}

/**
 * The webhook handler of `platform` for `bot`, whose state lives in `persistence`.
 *
 * 401: missing or wrong secret token. 405: not a POST. 400: a body larger than `maxBodyBytes`, or
 * not an update. 200: handled, or a redelivery skipped. 503: another delivery of the same update is
 * being handled (the runtime's `claimUpdates`), not logged. 500: the update could not be handled or
 * its state not stored, logged. After a 503 or a 500 Telegram delivers the update again.
 *
 * @example
 * // AWS Lambda behind an API Gateway HTTP API
 * import { Bot } from 'grammy';
 * import { S3Persistence } from 'telegram-s3-persistence';
 * import { persistence } from 'telegram-s3-persistence/grammy';
 * import { webhookHandler } from 'telegram-s3-persistence/webhook';
 *
 * const store = new S3Persistence({ filepath: process.env.PERSISTENCE_URL!, onFlush: true });
 * const bot = new Bot<MyContext>(process.env.BOT_TOKEN!);
 * bot.use(persistence(store));
 * bot.command('count', (ctx) => ctx.reply(String((ctx.userData.count = (ctx.userData.count ?? 0) + 1))));
 * export const handler = webhookHandler(bot, store, { platform: 'aws-lambda-async', secretToken: process.env.WEBHOOK_SECRET! });
 *
 * // Deno: Deno.serve(webhookHandler(bot, store, { platform: 'std/http', secretToken }));
 * // Bun:  Bun.serve({ fetch: webhookHandler(bot, store, { platform: 'bun', secretToken }) });
 * // Cloudflare Workers: export default { fetch: webhookHandler(bot, store, { platform: 'cloudflare-mod', secretToken }) };
 */
export function webhookHandler<C extends Context, P extends WebhookPlatform, UD, CD, BD>(
  bot: Bot<C>,
  persistence: BasePersistence<UD, CD, BD>,
  options: WebhookOptions<P>,
): WebhookHandlers[P] {
  const transport = TRANSPORTS[options.platform] as unknown as Transport<unknown[], unknown> | undefined;
  if (transport === undefined) throw new InvalidOptionsError(`unknown platform "${String(options.platform)}": one of ${Object.keys(TRANSPORTS).join(', ')}`);
  if (typeof options.secretToken !== 'string' || options.secretToken === '') {
    throw new InvalidOptionsError('secretToken is required: the secret_token given to setWebhook (e.g. `openssl rand -hex 32`)');
  }
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const logger = loggerOf(options.logger);
  const secrets = [bot.token, bot.token.split(':')[1] ?? bot.token, options.secretToken];
  const redact = (text: string) => secrets.reduce((safe, secret) => safe.split(secret).join('[REDACTED]'), text);
  const cache = options.botInfoCache === false ? undefined : (options.botInfoCache ?? defaultCache(persistence));
  const { secretToken } = options;
  const handle = webhookCallback(bot as unknown as Bot<Context>, 'callback', {
    secretToken,
    onTimeout: 'throw',
    timeoutMilliseconds: options.timeoutMilliseconds ?? Infinity,
  });

  let coldStart: Promise<void> | undefined;
  const start = async () => {
    if (options.botInfo !== undefined) bot.botInfo = options.botInfo;
    else if (!bot.isInited()) bot.botInfo = cache === undefined ? await bot.api.getMe() : await cachedBotInfo(bot as unknown as Bot<Context>, cache, logger);
    persistence.setBot(bot);
  };

  const respond = async (request: IncomingWebhook): Promise<Answer> => {
    if (request.method !== undefined && request.method !== 'POST') return refuse(405, 'use POST');
    // Before grammY, whose own (also constant-time) check comes after its first getMe.
    if (!secretMatches(request.secret, secretToken)) return refuse(401, 'wrong or missing secret token');
    const body = await request.body(maxBodyBytes);
    if (body === undefined) return refuse(400, `the body is larger than ${maxBodyBytes} bytes`);
    const update = parseUpdate(body);
    if (typeof update === 'string') return refuse(400, update);
    try {
      await (coldStart ??= start());
    } catch (error) {
      coldStart = undefined;
      logger.error({ event: 'cold-start-failed', error: redact(messageOf(error)) });
      return refuse(500, 'the bot could not start; see the log');
    }
    let reply: string | undefined;
    let unauthorized = false;
    try {
      await handle(update, (json: string) => void (reply = json), request.secret, () => void (unauthorized = true));
    } catch (error) {
      // grammY wraps what a middleware threw in a BotError (`error`); the persistence's errors carry a stable `code`.
      const cause = (error as { error?: unknown }).error ?? error;
      if ((cause as { code?: unknown }).code === 'UPDATE_IN_PROGRESS') {
        return refuse(503, 'another delivery of this update is being handled; Telegram delivers it again');
      }
      logger.error({ event: 'update-failed', updateId: update.update_id, status: 500, error: redact(messageOf(error)) });
      return refuse(500, 'the update could not be handled');
    }
    if (unauthorized) return refuse(401, 'wrong or missing secret token');
    return { status: 200, body: reply ?? JSON.stringify({ ok: true }) };
  };

  // A declared first parameter: Deno.serve passes no request to a handler whose `length` is 0.
  return (async (request: unknown, ...rest: unknown[]) => {
    const args = [request, ...rest];
    return transport.answer(await respond(transport.read(...args)), ...args);
  }) as WebhookHandlers[P];
}
