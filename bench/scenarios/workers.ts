/**
 * Cloudflare Workers: the sample bot's Worker with each S3 client, built by `wrangler deploy
 * --dry-run` (bundle size as wrangler reports the upload), then served by workerd, one new process
 * per run (a new isolate): time to listen (the runtime starts and compiles the bundle) and the
 * first request (`/count`: setup, load a snapshot of 1k users from MinIO, reply, write). A bare
 * Worker (a Response, no imports) is the runtime's own cold start, the denominator of the ratios.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker, uploadSize } from '../../infra/workers/build.mjs';
import { messageUpdate, startFakeBotApi } from '../../test/support/fake-bot-api.js';
import { startWorkerd, WORKERD_VERSION } from '../../test/support/workerd.js';
import type { BenchContext } from '../lib/context.js';
import { now, summarize, type Summary } from '../lib/stats.js';

export interface WorkersOptions {
  /** New isolates per variant. */
  runs: number;
  /** Users in the stored snapshot the first request loads. */
  users: number;
}

export interface WorkerVariant {
  name: 'bare' | 'fetch store' | 'AWS SDK v3';
  /** Wrangler's "Total Upload", KiB; none for the bare Worker, which is not built. */
  uploadKib: number | null;
  uploadGzipKib: number | null;
  /** Spawn to listening: workerd starts and compiles the bundle. */
  startMs: Summary;
  /** The first request's round trip. */
  firstRequestMs: Summary;
  totalMs: Summary;
}

export interface WorkersResult {
  workerd: string;
  users: number;
  variants: WorkerVariant[];
}

export const WORKERS_DEFAULTS: WorkersOptions = { runs: 10, users: 1_000 };

const BOT_TOKEN = '7000000001:BENCHMARK-token-not-secret';
const WEBHOOK_SECRET = 'bench-webhook-secret';
const COMPATIBILITY = { compatibilityDate: '2026-11-01', compatibilityFlags: [] };

export async function workers(context: BenchContext, options: WorkersOptions = WORKERS_DEFAULTS): Promise<WorkersResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-workers-'));
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  try {
    const bareScript = join(workDir, 'bare', 'worker.js');
    await mkdir(join(workDir, 'bare'));
    await writeFile(bareScript, "export default { fetch: () => new Response('ok') };\n");
    const built = {
      'fetch store': await buildWorker('wrangler.jsonc', join(workDir, 'fetch')),
      'AWS SDK v3': await buildWorker('bench/workers/wrangler-sdk.jsonc', join(workDir, 'sdk')),
    };

    const variants: WorkerVariant[] = [];
    let updateId = 1;
    const userIds = context.population(options.users).users.map(([id]) => id);
    for (const name of ['bare', 'fetch store', 'AWS SDK v3'] as const) {
      const script = name === 'bare' ? bareScript : built[name].script;
      const size = name === 'bare' ? null : uploadSize(built[name].output);
      const path = await context.snapshot(options.users, 'single-file', `workers-${name.replace(/\W+/g, '-')}`);
      const { connection } = context;
      const bindings = {
        BOT_TOKEN,
        WEBHOOK_SECRET,
        BOT_INFO: JSON.stringify(api.botInfo),
        PERSISTENCE_URL: `s3://${context.bucket}/${path}`,
        S3_ENDPOINT: connection.endpoint,
        AWS_ACCESS_KEY_ID: connection.accessKeyId,
        AWS_SECRET_ACCESS_KEY: connection.secretAccessKey,
        AWS_REGION: connection.region,
        TELEGRAM_API_ROOT: api.apiRoot,
      };
      const start: number[] = [];
      const first: number[] = [];
      for (let i = 0; i < options.runs; i++) {
        const spawned = now();
        const worker = await startWorkerd({ script, bindings, ...COMPATIBILITY });
        const listening = now();
        const update = messageUpdate({ updateId: updateId++, userId: userIds[i % userIds.length]!, text: '/count' });
        const response = await fetch(worker.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
          body: JSON.stringify(update),
        });
        await response.arrayBuffer();
        const answered = now();
        const printed = await worker.close();
        if (response.status !== 200) throw new Error(`the ${name} Worker answered ${response.status}: ${printed}`);
        start.push(listening - spawned);
        first.push(answered - listening);
      }
      variants.push({
        name,
        uploadKib: size?.kib ?? null,
        uploadGzipKib: size?.gzipKib ?? null,
        startMs: summarize(start),
        firstRequestMs: summarize(first),
        totalMs: summarize(start.map((ms, i) => ms + first[i]!)),
      });
    }
    return { workerd: WORKERD_VERSION, users: options.users, variants };
  } finally {
    await api.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
