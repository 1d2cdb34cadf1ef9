// The sample bot deployed on a platform other than Lambda, for one test: its own bucket on the test
// MinIO, its own fake Bot API, the settings the platform would give it, and instances started by
// the platform's runtime (workerd, functions-framework), each a new process. Whatever an instance
// printed is kept, and `close()` fails if any of it holds the token or the webhook secret.
import { expect, inject } from 'vitest';
import { decodeSnapshot, type SnapshotFields } from '../../src/snapshot/codec.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { messageUpdate, startFakeBotApi, type FakeBotApi, type Update } from './fake-bot-api.js';
import { freshBucket, minioClient } from './minio.js';

export const BOT_TOKEN = '7123456789:AAPlatform-SecretTokenPart_do-not-print';
export const WEBHOOK_SECRET = 'platform-webhook-secret_0123456789abcdef';
export const STATE_KEY = 'bot/state';

/** One running instance of the function: a URL to post to, and a way to stop it. */
export interface PlatformInstance {
  readonly url: string;
  readonly pid: number;
  /** Stops it; resolves with what it printed. */
  close(): Promise<string>;
}

export interface PlatformDeployment {
  readonly api: FakeBotApi;
  readonly bucket: string;
  /** The settings every new instance gets; a test may change them before starting one. */
  readonly env: Record<string, string>;
  /** A new instance (a cold start), stopped by `close()` unless the test stops it first. */
  instance(): Promise<PlatformInstance>;
  /** Posts `update` (or a raw body) as Telegram does, with `secret` (default: the right one). */
  post(instance: PlatformInstance, update: Update | string, secret?: string): Promise<Response>;
  /** A user's text message; update ids are numbered by the deployment. */
  say(instance: PlatformInstance, userId: number, text: string): Promise<Response>;
  /** The texts the bot sent, oldest first. */
  replies(): unknown[];
  snapshot(): Promise<SnapshotFields | undefined>;
  objectKeys(): Promise<string[]>;
  /** Stops every instance and the fake Bot API; throws if any instance printed a secret. */
  close(): Promise<void>;
}

let nextUpdateId = 1;

/**
 * @example
 * const bot = await deployOn((env) => startWorkerd({ script, bindings: env, ... }));
 * await bot.say(await bot.instance(), 42, '/count');
 */
export async function deployOn(start: (env: Record<string, string>) => Promise<PlatformInstance>): Promise<PlatformDeployment> {
  const minio = inject('minio');
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  const bucket = await freshBucket('platform');
  const env: Record<string, string> = {
    BOT_TOKEN,
    WEBHOOK_SECRET,
    PERSISTENCE_URL: `s3://${bucket}/${STATE_KEY}`,
    S3_ENDPOINT: minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    AWS_REGION: minio.region,
    TELEGRAM_API_ROOT: api.apiRoot,
  };
  const running: PlatformInstance[] = [];
  const printed: string[] = [];
  const withStore = async <T>(use: (store: S3ObjectStore) => Promise<T>): Promise<T> => {
    const client = minioClient();
    try {
      return await use(new S3ObjectStore({ client, bucket }));
    } finally {
      client.destroy();
    }
  };
  const post = (instance: PlatformInstance, update: Update | string, secret = WEBHOOK_SECRET) =>
    fetch(instance.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body: typeof update === 'string' ? update : JSON.stringify(update),
    });

  return {
    api,
    bucket,
    env,
    async instance() {
      const instance = await start({ ...env });
      const stop = instance.close.bind(instance);
      let output: Promise<string> | undefined;
      const tracked: PlatformInstance = { url: instance.url, pid: instance.pid, close: () => (output ??= stop()) };
      running.push(tracked);
      return tracked;
    },
    post,
    say: (instance, userId, text) => post(instance, messageUpdate({ updateId: nextUpdateId++, userId, text })),
    replies: () => api.callsTo('sendMessage').map((call) => call.payload.text),
    snapshot: () =>
      withStore(async (store) => {
        const read = await store.get(STATE_KEY);
        return read.status === 'found' ? decodeSnapshot(read.body) : undefined;
      }),
    objectKeys: () =>
      withStore(async (store) => {
        const keys: string[] = [];
        for await (const key of store.list('')) keys.push(key);
        return keys;
      }),
    async close() {
      for (const instance of running) printed.push(await instance.close());
      await api.close();
      const secretPart = BOT_TOKEN.split(':')[1]!;
      const leaked = printed.filter((text) => text.includes(secretPart) || text.includes(WEBHOOK_SECRET));
      if (leaked.length > 0) throw new Error(`an instance printed the bot token or the webhook secret:\n${leaked.join('\n---\n')}`);
    },
  };
}

/**
 * The sample bot on a platform calls getMe once: two instances answer /start, and beside the state
 * are getMe's answer, the verdict of the conditional-write check and one claim per update (`claims:
 * false` for a bot of one's own, which claims no updates).
 */
export async function expectGetMeCachedBesideState(bot: PlatformDeployment, { claims: claiming = true } = {}): Promise<void> {
  await bot.say(await bot.instance(), 42, '/start');
  await bot.say(await bot.instance(), 42, '/start');

  expect(bot.api.callsTo('getMe')).toHaveLength(1);
  const keys = await bot.objectKeys();
  const claims = keys.filter((key) => key.startsWith(`${STATE_KEY}.claims/`));
  expect(keys.filter((key) => !claims.includes(key))).toEqual([STATE_KEY, `${STATE_KEY}.bot-info.json`, `${STATE_KEY}.conditional-writes.json`]);
  expect(claims).toHaveLength(claiming ? 2 : 0);
}

/**
 * The sample bot on a platform counts /count in MinIO, and an instance started after the first one
 * stopped counts on from there. Returns the stored snapshot for checks of the platform's own.
 */
export async function expectCountingAcrossInstances(bot: PlatformDeployment): Promise<{ stored: SnapshotFields | undefined; second: PlatformInstance }> {
  const first = await bot.instance();
  expect((await bot.say(first, 42, '/count')).status).toBe(200);
  expect((await bot.say(first, 42, '/count')).status).toBe(200);
  await first.close();

  const second = await bot.instance();
  expect(second.pid).not.toBe(first.pid);
  expect((await bot.say(second, 42, '/count')).status).toBe(200);

  expect(bot.replies()).toEqual(['1', '2', '3']);
  const stored = await bot.snapshot();
  expect((stored?.get('user_data') as Map<number, unknown>).get(42)).toMatchObject({ count: 3 });
  return { stored, second };
}
