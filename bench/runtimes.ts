/**
 * The platform table's figures (README, "Platforms"): for each runtime, the sample bot's bundle and
 * its cold start as a ratio of that runtime's bare start, against MinIO and a fake Bot API on loopback.
 *
 *   npm run bench -- --runtimes     prints the table, writes bench/runtimes.json
 *
 * A cold start is the wall time from spawning a process until its first webhook update is answered
 * (200, the reply sent and the state written), with a stored snapshot of 1,000 users to load. The
 * bare start is the same path with nothing in it: on Lambda's Node, a handler module that answers at
 * once, run by the same harness (test/support/lambda.ts); on Bun and Deno, a `Bun.serve` or
 * `Deno.serve` that answers at once, timed the same way. Bare and cold runs alternate, so that load
 * on the machine weighs on both sides alike.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleHandler, handlerBuildOptions } from '../infra/bundle.mjs';
import { startMinio } from '../infra/minio.js';
import { ensureRuntime, RUNTIMES } from '../infra/runtimes.mjs';
import { messageUpdate, startFakeBotApi, type Update } from '../test/support/fake-bot-api.js';
import { invokeInFreshProcess, webhookEvent } from '../test/support/lambda.js';
import { BenchContext } from './lib/context.js';
import { summarize, type Summary } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BOT_TOKEN = '7000000001:BENCHMARK-token-not-secret';
const WEBHOOK_SECRET = 'bench-webhook-secret';
const USERS = 1_000;
const RUNS = 11;

export interface RuntimeRow {
  runtime: string;
  version: string;
  /** The minified bundle of the sample bot for this runtime, every dependency inside. */
  bundleBytes: number;
  bareMs: Summary;
  coldMs: Summary;
  /** coldMs.median / bareMs.median. */
  ratio: number;
}

const now = () => performance.now();

/** Spawns `command args` with `env`, waits for its "listening on URL" line, posts `update` and resolves with the milliseconds from spawn to the answer. */
async function serverColdStart(command: string, args: string[], env: Record<string, string>, update: Update): Promise<number> {
  const started = now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      void closed.then(() => reject(new Error(`${command} ${args.join(' ')} ended before listening:\n${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const found = /^listening on (http:\/\/\S+)$/.exec(line)?.[1];
        if (found !== undefined) resolve(found);
      });
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
      body: JSON.stringify(update),
    });
    const answered = now() - started;
    if (response.status !== 200) throw new Error(`${args.join(' ')} answered ${response.status}: ${await response.text()}\n${stderr}`);
    return answered;
  } finally {
    child.kill('SIGTERM');
    await closed;
  }
}

const BARE_SERVERS = {
  bun: `const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: async (request) => (await request.text(), Response.json({ ok: true })) });
console.log('listening on ' + server.url.origin);`,
  deno: `Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ hostname, port }) => console.log('listening on http://' + hostname + ':' + port) },
  async (request) => (await request.text(), Response.json({ ok: true })));`,
};

export async function runtimesBench(): Promise<RuntimeRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-runtimes-'));
  const minio = await startMinio();
  const context = await BenchContext.open(minio);
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  try {
    const path = await context.snapshot(USERS, 'single-file', 'runtimes');
    const userIds = context.population(USERS).users.map(([id]) => id);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? work,
      BOT_TOKEN,
      WEBHOOK_SECRET,
      BOT_INFO: JSON.stringify(api.botInfo),
      PERSISTENCE_URL: `s3://${context.bucket}/${path}`,
      S3_ENDPOINT: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      AWS_REGION: minio.region,
      TELEGRAM_API_ROOT: api.apiRoot,
      PORT: '0',
    };
    let updateId = 1;
    const nextUpdate = () => messageUpdate({ updateId: updateId++, userId: userIds[updateId % userIds.length]!, text: '/count' });

    const lambdaBundle = await bundleHandler(join(work, 'lambda'));
    const bareHandler = join(work, 'bare-handler.mjs');
    await writeFile(bareHandler, `export const handler = async () => ({ statusCode: 200, headers: {}, body: '{"ok":true}' });\n`);
    const rows: RuntimeRow[] = [];

    const lambdaRuntimes = [
      { runtime: 'Lambda nodejs20.x (machine Node)', node: process.execPath, version: process.version.slice(1) },
      { runtime: 'Lambda nodejs24.x (Node 24 from npm)', node: await ensureRuntime('node24'), version: RUNTIMES.node24.version },
    ];
    for (const { runtime, node, version } of lambdaRuntimes) {
      const bare: number[] = [];
      const cold: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const event = webhookEvent(nextUpdate(), { secret: WEBHOOK_SECRET });
        let started = now();
        await invokeInFreshProcess(bareHandler, event, env, { node });
        bare.push(now() - started);
        started = now();
        const { result, stderr } = await invokeInFreshProcess(lambdaBundle, webhookEvent(nextUpdate(), { secret: WEBHOOK_SECRET }), env, { node });
        cold.push(now() - started);
        if (result.statusCode !== 200) throw new Error(`${runtime}: ${result.statusCode} ${result.body}\n${stderr}`);
      }
      rows.push(row(runtime, version, (await stat(lambdaBundle)).size, bare, cold));
    }

    for (const name of ['bun', 'deno'] as const) {
      const bin = await ensureRuntime(name);
      const bundle = join(work, `${name}-server.mjs`);
      // The Lambda bundle's options, for the runtime's own condition: the package's '#cbor-x' then picks cbor-x's pure-JS entry.
      await build({ ...handlerBuildOptions, sourcemap: false, conditions: [name], entryPoints: [join(root, `examples/${name}/server.ts`)], outfile: bundle });
      const bareScript = join(work, `${name}-bare.mjs`);
      await writeFile(bareScript, BARE_SERVERS[name]);
      const args = (script: string) => (name === 'bun' ? ['run', script] : ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-sys', script]);
      const bare: number[] = [];
      const cold: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        bare.push(await serverColdStart(bin, args(bareScript), env, nextUpdate()));
        cold.push(await serverColdStart(bin, args(bundle), env, nextUpdate()));
      }
      rows.push(row(`${name === 'bun' ? 'Bun' : 'Deno'} (from npm)`, RUNTIMES[name].version, (await stat(bundle)).size, bare, cold));
    }
    return rows;
  } finally {
    await api.close();
    context.close();
    await minio.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function row(runtime: string, version: string, bundleBytes: number, bare: number[], cold: number[]): RuntimeRow {
  const bareMs = summarize(bare);
  const coldMs = summarize(cold);
  return { runtime, version, bundleBytes, bareMs, coldMs, ratio: coldMs.median / bareMs.median };
}

export async function main(): Promise<void> {
  const rows = await runtimesBench();
  const lines = [
    '| runtime | version | bundle | bare start (median) | cold start, first update (median) | ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.runtime} | ${r.version} | ${(r.bundleBytes / 1024).toFixed(0)} KiB | ${r.bareMs.median.toFixed(0)} ms | ${r.coldMs.median.toFixed(0)} ms | ${r.ratio.toFixed(1)}x |`,
    ),
  ];
  console.log(lines.join('\n'));
  await writeFile(join(root, 'bench', 'runtimes.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), users: USERS, runs: RUNS, rows }, null, 2)}\n`);
}
