// The library's webhook (src/webhook.ts) on every platform it serves, with an in-memory store and a
// bot whose Bot API calls are recorded instead of sent. The end-to-end tests run it for real on
// Lambda (test/e2e), Bun and Deno (test/integration/bun-deno.test.ts).
import { Readable } from 'node:stream';
import { Bot, type Context } from 'grammy';
import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { persistence, type PersistenceFlavor } from '../../src/grammy.js';
import { MemoryObjectStore, S3Persistence, UpdateInProgressError, type Logger, type LogRecord } from '../../src/index.js';
import { webhookHandler, type NodeWebhookResponse, type WebhookOptions, type WebhookPlatform } from '../../src/webhook.js';
import { botInfo, textUpdate } from '../support/adapter-bots.js';

type MyContext = Context & PersistenceFlavor<{ count?: number }>;
const SECRET = 'unit-webhook-secret';
const TOKEN = `${botInfo.id}:unit-token-part`;

/** A counting bot on `store`, its Bot API calls recorded; `withInfo` gives it its identity up front. */
function countingBot(store = new MemoryObjectStore('bucket'), withInfo = false) {
  const s3 = new S3Persistence<{ count?: number }>({ filepath: 's3://bucket/bot', store, onFlush: true });
  const bot = new Bot<MyContext>(TOKEN, withInfo ? { botInfo } : {});
  const calls: Array<{ method: string; payload: Record<string, unknown> }> = [];
  bot.api.config.use(async (_prev, method, payload) => {
    calls.push({ method, payload: payload as Record<string, unknown> });
    const result = method === 'getMe' ? botInfo : { message_id: calls.length, date: 0, chat: { id: 1, type: 'private' } };
    return { ok: true, result } as never;
  });
  bot.use(persistence(s3));
  bot.command('count', async (ctx) => {
    ctx.userData.count = (ctx.userData.count ?? 0) + 1;
    await ctx.reply(String(ctx.userData.count));
  });
  return { bot, s3, store, calls, replies: () => calls.filter((call) => call.method === 'sendMessage').map((call) => call.payload.text) };
}

interface Sent {
  status: number;
  body: unknown;
}

/** Sends one request to `platform`'s handler the way that platform does, and reads its answer. */
type Sender = (body: string, headers: Record<string, string>, method?: string) => Promise<Sent>;

function sender<P extends WebhookPlatform>(
  platform: P,
  bot: Bot<MyContext>,
  s3: S3Persistence<{ count?: number }>,
  options: Partial<WebhookOptions<P>> = {},
): Sender {
  const handler = webhookHandler(bot, s3, { platform, secretToken: SECRET, ...options }) as (...args: never[]) => Promise<unknown>;
  if (platform === 'aws-lambda-async') {
    return async (body, headers, method = 'POST') => {
      const result = (await handler(...([{ headers, body, isBase64Encoded: false, requestContext: { http: { method } } }] as never[]))) as {
        statusCode: number;
        body: string;
      };
      return { status: result.statusCode, body: JSON.parse(result.body) };
    };
  }
  if (platform === 'http' || platform === 'express') {
    return async (body, headers, method = 'POST') => {
      const request = Object.assign(Readable.from([Buffer.from(body)]), { method, headers });
      let status = 0;
      let text = '';
      const response: NodeWebhookResponse = {
        writeHead: (code) => (status = code),
        end: (chunk) => (text = chunk),
      };
      await handler(...([request, response] as never[]));
      return { status, body: JSON.parse(text) };
    };
  }
  return async (body, headers, method = 'POST') => {
    const request = new Request('https://bot.example/webhook', { method, headers, ...(method === 'GET' ? {} : { body }) });
    const response = (await handler(...([request] as never[]))) as Response;
    return { status: response.status, body: await response.json() };
  };
}

/** A logger that keeps each record with its level. */
function recorder(): { logger: Logger; logged: Array<LogRecord & { level: string }> } {
  const logged: Array<LogRecord & { level: string }> = [];
  const keep = (level: string) => (record: LogRecord) => void logged.push({ level, ...record });
  return { logger: { info: keep('info'), warn: keep('warn'), error: keep('error') }, logged };
}

const update = (id: number, text = '/count'): Update => textUpdate(id, 42, text) as Update;
const withSecret = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET };
const PLATFORMS: WebhookPlatform[] = ['aws-lambda-async', 'std/http', 'bun', 'cloudflare-mod', 'http', 'express'];

describe.each(PLATFORMS)('webhookHandler on %s', (platform) => {
  it('handles an update: 200, the reply, the state stored; a redelivery is answered 200 and runs nothing', async () => {
    const { bot, s3, store, replies } = countingBot(undefined, true);
    const send = sender(platform, bot, s3);

    const first = await send(JSON.stringify(update(1)), withSecret);
    const second = await send(JSON.stringify(update(2)), withSecret);
    const again = await send(JSON.stringify(update(2)), withSecret);

    expect([first, second, again]).toEqual([200, 200, 200].map((status) => ({ status, body: { ok: true } })));
    expect(replies()).toEqual(['1', '2']);
    const reloaded = new S3Persistence<{ count?: number }>({ filepath: 's3://bucket/bot', store });
    expect((await reloaded.getUserData()).get(42)).toEqual({ count: 2 });
  });

  it.each<{ request: string; body: string; headers: Record<string, string>; status: number; error: RegExp }>([
    { request: 'no secret', body: JSON.stringify(update(3)), headers: { 'content-type': 'application/json' }, status: 401, error: /secret/ },
    { request: 'a longer secret', body: JSON.stringify(update(3)), headers: { 'x-telegram-bot-api-secret-token': `${SECRET}x` }, status: 401, error: /secret/ },
    { request: 'a body that is not JSON', body: '{"update_id": 3,', headers: withSecret, status: 400, error: /not JSON/ },
    { request: 'an unknown kind of update', body: '{"update_id": 3, "telepathy": {}}', headers: withSecret, status: 400, error: /telepathy/ },
    { request: 'a body over maxBodyBytes', body: JSON.stringify({ ...update(3), pad: 'x'.repeat(300) }), headers: withSecret, status: 400, error: /larger than 256 bytes/ },
  ])('refuses $request with $status, before calling Telegram or reading the state', async ({ body, headers, status, error }) => {
    const { bot, s3, store, calls } = countingBot();
    const send = sender(platform, bot, s3, { maxBodyBytes: 256 });

    const answer = await send(body, headers);

    expect(answer).toEqual({ status, body: { ok: false, error: expect.stringMatching(error) } });
    expect(calls).toEqual([]);
    expect(await store.get('bot')).toEqual({ status: 'absent' });
  });
});

describe('webhookHandler', () => {
  it('answers 405 to a GET', async () => {
    const { bot, s3 } = countingBot();
    expect(await sender('std/http', bot, s3)('', withSecret, 'GET')).toMatchObject({ status: 405 });
  });

  it.each([
    { parser: 'express.json() (an object)', body: (text: string) => JSON.parse(text) as unknown },
    { parser: 'express.raw() (a Buffer)', body: (text: string) => Buffer.from(text) },
    { parser: 'express.text() (a string)', body: (text: string) => text },
  ])('reads the body an Express $parser gave, the stream already read', async ({ body }) => {
    const { bot, s3, replies } = countingBot(undefined, true);
    const handler = webhookHandler(bot, s3, { platform: 'express', secretToken: SECRET });
    const request = Object.assign(Readable.from([]), { method: 'POST', headers: withSecret, body: body(JSON.stringify(update(7))) });
    let status = 0;
    await handler(request, { writeHead: (code) => (status = code), end: () => undefined });
    expect(status).toBe(200);
    expect(replies()).toEqual(['1']);
  });

  it('reads Google Cloud Functions\' rawBody', async () => {
    const { bot, s3, replies } = countingBot(undefined, true);
    const handler = webhookHandler(bot, s3, { platform: 'express', secretToken: SECRET });
    const text = JSON.stringify(update(8));
    const request = Object.assign(Readable.from([]), { method: 'POST', headers: withSecret, body: JSON.parse(text) as unknown, rawBody: Buffer.from(text) });
    let status = 0;
    await handler(request, { writeHead: (code) => (status = code), end: () => undefined });
    expect(status).toBe(200);
    expect(replies()).toEqual(['1']);
  });

  it('reads a base64-encoded Lambda body', async () => {
    const { bot, s3, replies } = countingBot(undefined, true);
    const handler = webhookHandler(bot, s3, { platform: 'aws-lambda-async', secretToken: SECRET });
    const body = Buffer.from(JSON.stringify(update(9)), 'utf8').toString('base64');
    const result = await handler({ headers: withSecret, body, isBase64Encoded: true });
    expect(result.statusCode).toBe(200);
    expect(replies()).toEqual(['1']);
  });

  it('asks getMe once and caches the answer beside the state; a cache for another bot is replaced with a warning', async () => {
    const store = new MemoryObjectStore('bucket');
    await store.put('bot.bot-info.json', new TextEncoder().encode(JSON.stringify({ ...botInfo, id: 5 })), { ifNoneMatch: '*' });
    const { logger, logged } = recorder();
    const first = countingBot(store);
    await sender('bun', first.bot, first.s3, { logger })(JSON.stringify(update(1)), withSecret);
    const second = countingBot(store);
    await sender('bun', second.bot, second.s3, { logger })(JSON.stringify(update(2)), withSecret);

    expect(first.calls.map((call) => call.method)).toEqual(['getMe', 'sendMessage']);
    expect(second.calls.map((call) => call.method)).toEqual(['sendMessage']);
    expect(logged).toEqual([
      {
        level: 'warn',
        event: 'bot-info-cache',
        cache: 's3://bucket/bot.bot-info.json',
        message: `the cached bot info in s3://bucket/bot.bot-info.json is for bot 5, not for the token's bot ${botInfo.id}: asking getMe and replacing it`,
      },
    ]);
    const cached = await store.get('bot.bot-info.json');
    expect(cached.status === 'found' && JSON.parse(new TextDecoder().decode(cached.body))).toMatchObject({ id: botInfo.id });
  });

  it('takes botInfo from the options: no getMe, nothing cached', async () => {
    const { bot, s3, store, calls } = countingBot();
    await sender('cloudflare-mod', bot, s3, { botInfo })(JSON.stringify(update(1)), withSecret);
    expect(calls.map((call) => call.method)).toEqual(['sendMessage']);
    expect(await store.get('bot.bot-info.json')).toEqual({ status: 'absent' });
  });

  it('answers 500 when the update fails, and logs it without the token or the secret', async () => {
    const { bot, s3 } = countingBot(undefined, true);
    bot.command('fail', () => {
      throw new Error(`failed with ${TOKEN} and ${SECRET}`);
    });
    const { logger, logged } = recorder();
    const answer = await sender('express', bot, s3, { logger })(JSON.stringify(update(4, '/fail')), withSecret);
    expect(answer).toEqual({ status: 500, body: { ok: false, error: 'the update could not be handled' } });
    expect(logged).toEqual([{ level: 'error', event: 'update-failed', updateId: 4, status: 500, error: expect.stringMatching(/failed with/) }]);
    expect(JSON.stringify(logged)).not.toContain(TOKEN.split(':')[1]);
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });

  it('answers 500 when the cold start fails, logs it as one record without the token, and starts again on the next request', async () => {
    const { bot, s3, store } = countingBot();
    let failures = 1;
    const flaky = Object.assign(Object.create(store) as MemoryObjectStore, {
      get: (key: string) => (failures-- > 0 ? Promise.reject(new Error(`no route to the bucket with ${TOKEN}`)) : store.get(key)),
    });
    const { logger, logged } = recorder();
    const send = sender('aws-lambda-async', bot, s3, { logger, botInfoCache: { store: flaky, key: 'bot.bot-info.json' } });

    const failed = await send(JSON.stringify(update(6)), withSecret);
    const next = await send(JSON.stringify(update(7)), withSecret);

    expect(failed).toEqual({ status: 500, body: { ok: false, error: 'the bot could not start; see the log' } });
    expect(next).toEqual({ status: 200, body: { ok: true } });
    expect(logged).toEqual([{ level: 'error', event: 'cold-start-failed', error: expect.stringMatching(/no route to the bucket/) }]);
    expect(JSON.stringify(logged)).not.toContain(TOKEN.split(':')[1]);
  });

  it('answers 503, unlogged, while another delivery of the update holds its claim', async () => {
    const { bot, s3 } = countingBot(undefined, true);
    bot.command('busy', () => {
      throw new UpdateInProgressError(5);
    });
    const { logger, logged } = recorder();
    const answer = await sender('std/http', bot, s3, { logger })(JSON.stringify(update(5, '/busy')), withSecret);
    expect(answer).toEqual({ status: 503, body: { ok: false, error: expect.stringMatching(/another delivery/) } });
    expect(logged).toEqual([]);
  });

  it('refuses to be built without a secret token or for an unknown platform', () => {
    const { bot, s3 } = countingBot();
    expect(() => webhookHandler(bot, s3, { platform: 'bun', secretToken: '' })).toThrow(/secretToken is required/);
    expect(() => webhookHandler(bot, s3, { platform: 'gopher' as 'bun', secretToken: SECRET })).toThrow(/unknown platform "gopher"/);
  });
});
