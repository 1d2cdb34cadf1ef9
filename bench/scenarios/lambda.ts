/**
 * Lambda: the deployable zip (`serverless package`, offline), the handler bundle, the handler's
 * initialisation in a fresh process (importing the bundle: Lambda's init phase), and a whole cold
 * update: a fresh process that imports the bundle, loads a snapshot of 1k, 10k or 100k users,
 * handles `/count` and writes, against MinIO and a fake Bot API on loopback.
 *
 * The processes are run by the end-to-end tests' harness (test/support/lambda.ts), which needs
 * nothing from vitest.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleHandler } from '../../infra/bundle.mjs';
import { messageUpdate, startFakeBotApi } from '../../test/support/fake-bot-api.js';
import { invokeInFreshProcess, startInstance, webhookEvent } from '../../test/support/lambda.js';
import type { LayoutName } from '../../src/index.js';
import type { BenchContext } from '../lib/context.js';
import { summarize, type Summary } from '../lib/stats.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export interface LambdaOptions {
  /** Fresh processes that only import the bundle. */
  inits: number;
  /** Cold updates per snapshot size and layout. */
  coldUpdates: ReadonlyArray<{ users: number; runs: number; layout: LayoutName }>;
  /** Run `serverless package` for the zip size (a few seconds). */
  packageZip: boolean;
}

export interface LambdaColdUpdate {
  users: number;
  layout: LayoutName;
  initMs: Summary;
  /** The first invocation: load the snapshot, handle the update, reply, write. */
  invokeMs: Summary;
  totalMs: Summary;
}

export interface LambdaResult {
  /** The zip `serverless package` builds, or why there is none. */
  zipBytes: number | { skipped: string };
  bundleBytes: number;
  initMs: Summary;
  coldUpdates: LambdaColdUpdate[];
}

export const LAMBDA_DEFAULTS: LambdaOptions = {
  inits: 10,
  coldUpdates: [
    { users: 1_000, runs: 5, layout: 'single-file' },
    { users: 10_000, runs: 5, layout: 'single-file' },
    { users: 100_000, runs: 3, layout: 'single-file' },
    { users: 100_000, runs: 5, layout: 'sharded' },
  ],
  packageZip: true,
};

const BOT_TOKEN = '7000000001:BENCHMARK-token-not-secret';
const WEBHOOK_SECRET = 'bench-webhook-secret';

async function packagedZipBytes(): Promise<number | { skipped: string }> {
  const workDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-sls-'));
  try {
    // Offline, as the packaging test runs it: no AWS credentials, telemetry and notifications off.
    await run(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'package', '--stage', 'bench', '--package', workDir], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? workDir,
        AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'none'),
        AWS_CONFIG_FILE: join(workDir, 'none'),
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
      timeout: 180_000,
    });
    return (await stat(join(workDir, 'webhook.zip'))).size;
  } catch (error) {
    return { skipped: `serverless package failed: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export async function lambda(context: BenchContext, options: LambdaOptions = LAMBDA_DEFAULTS): Promise<LambdaResult> {
  const zipBytes = options.packageZip ? await packagedZipBytes() : { skipped: 'not asked for' };
  const bundleDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-bundle-'));
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  try {
    const bundle = await bundleHandler(bundleDir);
    const bundleBytes = (await stat(bundle)).size;

    const inits: number[] = [];
    for (let i = 0; i < options.inits; i++) {
      const instance = startInstance(bundle, {});
      inits.push((await instance.ready).initMs);
      await instance.close();
    }

    const coldUpdates: LambdaColdUpdate[] = [];
    let updateId = 1;
    for (const { users, runs, layout } of options.coldUpdates) {
      const userIds = context.population(users).users.map(([id]) => id).slice(0, runs);
      const path =
        layout === 'sharded' ? await context.shardedEntries(users, userIds, `lambda-${users}`) : await context.snapshot(users, layout, `lambda-${users}`);
      const { connection } = context;
      const env = {
        BOT_TOKEN,
        WEBHOOK_SECRET,
        BOT_INFO: JSON.stringify(api.botInfo),
        PERSISTENCE_URL: `s3://${context.bucket}/${path}`,
        PERSISTENCE_LAYOUT: layout,
        S3_ENDPOINT: connection.endpoint,
        AWS_ACCESS_KEY_ID: connection.accessKeyId,
        AWS_SECRET_ACCESS_KEY: connection.secretAccessKey,
        AWS_REGION: connection.region,
        TELEGRAM_API_ROOT: api.apiRoot,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const init: number[] = [];
      const invoke: number[] = [];
      for (let i = 0; i < runs; i++) {
        const update = messageUpdate({ updateId: updateId++, userId: userIds[i]!, text: '/count' });
        const invocation = await invokeInFreshProcess(bundle, webhookEvent(update, { secret: WEBHOOK_SECRET }), env, { timeoutMs: 120_000 });
        if (invocation.result.statusCode !== 200) throw new Error(`cold update at ${users} users answered ${invocation.result.statusCode}: ${invocation.stderr}`);
        init.push(invocation.initMs);
        invoke.push(invocation.invokeMs);
      }
      coldUpdates.push({
        users,
        layout,
        initMs: summarize(init),
        invokeMs: summarize(invoke),
        totalMs: summarize(init.map((ms, i) => ms + invoke[i]!)),
      });
    }
    return { zipBytes, bundleBytes, initMs: summarize(inits), coldUpdates };
  } finally {
    await api.close();
    await rm(bundleDir, { recursive: true, force: true });
  }
}
