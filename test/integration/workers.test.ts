// The sample bot on Cloudflare Workers: wrangler.jsonc built by `wrangler deploy --dry-run` (offline),
// the bundle served by workerd, the real runtime, each isolate in a new process, against MinIO and a
// fake Bot API on loopback. What one isolate wrote, the next one finds.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildWorker, uploadSize } from '../../infra/workers/build.mjs';
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { messageUpdate, startFakeBotApi, type FakeBotApi, type Update } from '../support/fake-bot-api.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { startWorkerd, type WorkerdProcess } from '../support/workerd.js';

const BOT_TOKEN = '7123456789:AAWorkers-SecretTokenPart_do-not-print';
const WEBHOOK_SECRET = 'workers-webhook-secret_0123456789abcdef';
const STATE_KEY = 'bot/state';
/** As wrangler.jsonc: nodejs_compat, which the library needs (node:crypto, Buffer), is on by default from 2026-08-04. */
const WRANGLER_COMPATIBILITY = { compatibilityDate: '2026-11-01', compatibilityFlags: [] };

let outdir: string;
let script: string;
let wranglerOutput: string;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-worker-'));
  ({ script, output: wranglerOutput } = await buildWorker('wrangler.jsonc', outdir));
}, 300_000);
afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

let api: FakeBotApi;
let bucket: string;
let bindings: Record<string, string>;
const running: WorkerdProcess[] = [];
const printed: string[] = [];
let nextUpdateId = 1;

beforeEach(async () => {
  const minio = inject('minio');
  api = await startFakeBotApi({ token: BOT_TOKEN });
  bucket = await freshBucket('workers');
  bindings = {
    BOT_TOKEN,
    WEBHOOK_SECRET,
    PERSISTENCE_URL: `s3://${bucket}/${STATE_KEY}`,
    S3_ENDPOINT: minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    AWS_REGION: minio.region,
    TELEGRAM_API_ROOT: api.apiRoot,
  };
});
afterEach(async () => {
  for (const worker of running.splice(0)) printed.push(await worker.close());
  await api.close();
  const leaked = printed.splice(0).filter((text) => text.includes(BOT_TOKEN.split(':')[1]!) || text.includes(WEBHOOK_SECRET));
  expect(leaked).toEqual([]);
});

/** A new isolate: a new workerd process serving the bundle. */
async function isolate(): Promise<WorkerdProcess> {
  const worker = await startWorkerd({ script, bindings, ...WRANGLER_COMPATIBILITY });
  running.push(worker);
  return worker;
}

function post(worker: WorkerdProcess, update: Update | string, secret = WEBHOOK_SECRET): Promise<Response> {
  return fetch(worker.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: typeof update === 'string' ? update : JSON.stringify(update),
  });
}

const say = (worker: WorkerdProcess, userId: number, text: string) =>
  post(worker, messageUpdate({ updateId: nextUpdateId++, userId, text }));

const replies = () => api.callsTo('sendMessage').map((call) => call.payload.text);

async function objectKeys(): Promise<string[]> {
  const client = minioClient();
  try {
    const keys: string[] = [];
    for await (const key of new S3ObjectStore({ client, bucket }).list('')) keys.push(key);
    return keys;
  } finally {
    client.destroy();
  }
}

async function snapshot() {
  const client = minioClient();
  try {
    const read = await new S3ObjectStore({ client, bucket }).get(STATE_KEY);
    return read.status === 'found' ? decodeSnapshot(read.body) : undefined;
  } finally {
    client.destroy();
  }
}

describe('wrangler deploy --dry-run of wrangler.jsonc', () => {
  it('builds offline a bundle without the AWS SDK, far under the 3 MiB (gzip) limit of the free plan', async () => {
    const bundle = await readFile(script, 'utf8');

    expect(bundle).not.toMatch(/@smithy|S3ServiceException/);
    expect(bundle).toContain('AWS4-HMAC-SHA256');
    expect(uploadSize(wranglerOutput).gzipKib).toBeLessThan(3 * 1024);
  });
});

describe('the sample bot in workerd', () => {
  it('writes /count to MinIO, and a new isolate counts on from there', async () => {
    const first = await isolate();
    expect((await say(first, 42, '/count')).status).toBe(200);
    expect((await say(first, 42, '/count')).status).toBe(200);
    await first.close();

    const second = await isolate();
    expect(second.pid).not.toBe(first.pid);
    expect((await say(second, 42, '/count')).status).toBe(200);

    expect(replies()).toEqual(['1', '2', '3']);
    const stored = await snapshot();
    expect((stored?.get('user_data') as Map<number, unknown>).get(42)).toMatchObject({ count: 3 });
    expect(stored?.get('bot_data')).toMatchObject({ totalCount: 3 });
  });

  it('keeps a conversation across isolates: /survey asked in one is answered in the next two', async () => {
    await say(await isolate(), 7, '/survey');
    await say(await isolate(), 7, 'Ada');
    await say(await isolate(), 7, '36');

    expect(replies().at(-1)).toMatch(/Ada.*36/s);
  });

  it('calls getMe once, caches the answer beside the state, and a new isolate reads it from there', async () => {
    await say(await isolate(), 42, '/start');
    await say(await isolate(), 42, '/start');

    expect(api.callsTo('getMe')).toHaveLength(1);
    expect(await objectKeys()).toEqual([STATE_KEY, `${STATE_KEY}.bot-info.json`]);
  });

  it('refuses a wrong secret with 401 before any request of its own (no getMe, nothing stored)', async () => {
    const worker = await isolate();

    const response = await post(worker, messageUpdate({ updateId: nextUpdateId++, userId: 42, text: '/count' }), 'wrong');

    expect(response.status).toBe(401);
    expect(api.calls).toEqual([]);
    expect(await objectKeys()).toEqual([]);
  });

  it('answers 500 naming no secret when the S3 credentials are refused, and stores nothing', async () => {
    bindings.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    bindings.BOT_INFO = JSON.stringify(api.botInfo);
    const worker = await isolate();

    expect((await say(worker, 42, '/count')).status).toBe(500);
    const output = await worker.close();

    expect(output).toMatch(/AccessDeniedError.*the credentials were refused \(SignatureDoesNotMatch\)/);
    expect(await objectKeys()).toEqual([]);
  });
});
