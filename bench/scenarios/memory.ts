/**
 * Peak memory of the sample bot's Lambda handler on a large single-file snapshot (issue 16, item 3).
 *
 * The handler is the Lambda bundle as shipped (`infra/bundle.mjs`, the fetch store: `S3_CLIENT`
 * unset), driven as the end-to-end tests drive it: a fresh Node process imports the bundle, then
 * handles one `/count` of a user in the snapshot (cold load, the update, the reply to a fake Bot
 * API, the conditional PUT of the new snapshot). Inside that process:
 *
 * - **floor**: the peak RSS (`VmHWM` of /proc/self/status) once the bundle is imported and nothing
 *   is loaded;
 * - **peak**: the peak RSS after the first update has returned.
 *
 * The process gets the variables serverless.yml sets on the function itself (its process settings,
 * such as glibc's mmap threshold), as the deployed function does.
 *
 * Ratio = (peak - floor) / snapshot bytes; the target is at most 2 at every size. Each snapshot
 * (about 40, 120 and 300 MB, from the bench population, encoded by the library's own
 * `encodeSnapshot` and stored with a plain PUT) is seeded once per run; every process reads a fresh
 * server-side copy of it. cbor-x runs as in the Lambda bundle (pure JS: the bundle leaves
 * cbor-extract out) and, beside it, with cbor-extract (the same bundle placed where it can load it).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CopyObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { bundleHandler } from '../../infra/bundle.mjs';
import { encodeSnapshot } from '../../src/snapshot/codec.js';
import { messageUpdate, startFakeBotApi } from '../../test/support/fake-bot-api.js';
import { webhookEvent } from '../../test/support/lambda.js';
import type { BenchContext } from '../lib/context.js';
import { generatePopulation, toSnapshotFields } from '../lib/population.js';
import { functionEnvironment } from '../lib/serverless-environment.js';
import { plainClient, putObject } from '../lib/s3.js';
import { summarize, type Summary } from '../lib/stats.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BOT_TOKEN = '7000000002:BENCHMARK-memory-not-secret';
const WEBHOOK_SECRET = 'bench-memory-secret';
const MB = 1e6;

export interface MemoryOptions {
  /** Snapshot sizes to aim at, in bytes (the population is sized to come close). */
  sizes: number[];
  /** Fresh processes per size and cbor-x build. */
  rounds: number;
}

export const MEMORY_DEFAULTS: MemoryOptions = { sizes: [40 * MB, 120 * MB, 300 * MB], rounds: 3 };

/**
 * A cheaper run while working on memory (the figures of record come from the defaults):
 * `BENCH_MEMORY_MB=40` (comma-separated sizes), `BENCH_MEMORY_ROUNDS=1`, `BENCH_MEMORY_BUILDS=js`
 * (pure JS only), `BENCH_MEMORY_STDERR=1` (each child's stderr printed).
 */
export function memoryOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): MemoryOptions {
  const sizes = env.BENCH_MEMORY_MB?.split(',').map((mb) => Number(mb) * MB);
  const rounds = Number(env.BENCH_MEMORY_ROUNDS);
  return {
    sizes: sizes?.every((size) => size > 0) ? sizes : MEMORY_DEFAULTS.sizes,
    rounds: Number.isSafeInteger(rounds) && rounds > 0 ? rounds : MEMORY_DEFAULTS.rounds,
  };
}

export interface MemoryRow {
  /** `pure JS` (as the Lambda bundle runs cbor-x) or `cbor-extract`. */
  cbor: 'pure JS' | 'cbor-extract';
  users: number;
  snapshotBytes: number;
  /** Peak RSS of the process once the bundle is imported, before anything is loaded. */
  floorBytes: Summary;
  /** Peak RSS of the process after the first update. */
  peakBytes: Summary;
  /** (peak - floor) / snapshotBytes, per process. */
  ratio: Summary;
  /** The first update's duration inside the process (load, update, reply, write). */
  invokeMs: Summary;
}

export interface MemoryResult {
  rows: MemoryRow[];
  /**
   * The same first update on a snapshot of 1k users (about 0.2 MB), pure JS: what an update costs
   * above the floor whatever the snapshot (grammY, fetch, the reply, the socket buffers).
   */
  reference: MemoryRow;
  /** The target: (peak - floor) / snapshot bytes at most this. */
  goal: number;
  /**
   * Peak above the floor as a line in the snapshot's bytes (least squares through the medians of
   * the pure-JS rows): `fixedBytes + slope * snapshot bytes`.
   */
  fit: { fixedBytes: number; slope: number };
  /** The largest single-file snapshot for a function of this many MB: (memory - floor - fixed) / slope, less a tenth. */
  largestSnapshot: Array<{ functionMb: number; bytes: number }>;
  loadAverage: { start: number; end: number };
}

/**
 * The child: imports the bundle, reads its peak RSS (the floor), handles one event, reads the peak
 * again, and prints both with the handler's answer as one JSON line.
 */
const RUNNER = `
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const peakRss = () => {
  try {
    const match = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
};
const { handler } = await import(pathToFileURL(process.argv[1]).href);
const floor = peakRss();
const event = JSON.parse(process.argv[2]);
const started = performance.now();
const result = await handler(event);
const invokeMs = performance.now() - started;
process.stdout.write(JSON.stringify({ floor, peak: peakRss(), invokeMs, status: result.statusCode }) + '\\n', () => process.exit(0));
`;

interface Measured {
  floor: number;
  peak: number;
  invokeMs: number;
  status: number;
}

function runChild(bundle: string, event: unknown, env: Record<string, string>): Promise<Measured> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER, bundle, JSON.stringify(event)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (process.env.BENCH_MEMORY_STDERR) child.stderr.pipe(process.stderr);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`the memory child exited with ${code}:\n${stdout}\n${stderr}`));
      else resolve(JSON.parse(line) as Measured);
    });
  });
}

/** Users of the bench population that make a snapshot of about `bytes`, from the size of a sample. */
function usersFor(bytes: number, bytesPerUser: number): number {
  return Math.round(bytes / bytesPerUser / 1000) * 1000;
}

export async function memory(context: BenchContext, options: MemoryOptions = MEMORY_DEFAULTS): Promise<MemoryResult> {
  const loadStart = loadavg()[0]!;
  const client = plainClient(context.connection);
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  try {
    // Under the repository, so that the bundle's require('cbor-extract') finds the installed package.
    const bundle = await bundleHandler(join(root, '.build', 'bench', 'memory'));
    const cborExtract = (() => {
      try {
        createRequire(bundle).resolve('cbor-extract');
        return true;
      } catch {
        return false;
      }
    })();
    const sample = 20_000;
    const bytesPerUser = encodeSnapshot(toSnapshotFields(generatePopulation(sample))).length / sample;
    const env: Record<string, string> = {
      ...functionEnvironment(readFileSync(join(root, 'serverless.yml'), 'utf8'), 'webhook'),
      BOT_TOKEN,
      WEBHOOK_SECRET,
      BOT_INFO: JSON.stringify(api.botInfo),
      S3_ENDPOINT: context.connection.endpoint,
      AWS_ACCESS_KEY_ID: context.connection.accessKeyId,
      AWS_SECRET_ACCESS_KEY: context.connection.secretAccessKey,
      AWS_REGION: context.connection.region,
      TELEGRAM_API_ROOT: api.apiRoot,
    };
    const allBuilds: Array<{ cbor: MemoryRow['cbor']; env: Record<string, string> }> = [
      { cbor: 'pure JS', env: { CBOR_NATIVE_ACCELERATION_DISABLED: 'true' } },
      ...(cborExtract && process.env.BENCH_MEMORY_BUILDS !== 'js' ? [{ cbor: 'cbor-extract' as const, env: {} }] : []),
    ];
    const builds = (users: number) => (users <= 1000 ? allBuilds.slice(0, 1) : allBuilds);
    if (!cborExtract) console.warn('memory: cbor-extract is not installed; only the pure-JS build is measured');
    const rows: MemoryRow[] = [];
    let updateId = 1;
    // The reference first: 1k users.
    for (const target of [bytesPerUser * 1000, ...options.sizes]) {
      const users = usersFor(target, bytesPerUser);
      const seed = `memory/${users}/seed`;
      let userIds: number[];
      let snapshotBytes: number;
      {
        const population = generatePopulation(users);
        const body = encodeSnapshot(toSnapshotFields(population));
        snapshotBytes = body.length;
        userIds = population.users.filter((_, i) => i % 97 === 0).map(([id]) => id);
        await putObject(client, context.bucket, seed, body, 'application/cbor');
      }
      for (const build of builds(users)) {
        const samples: Measured[] = [];
        for (let round = 0; round < options.rounds; round++) {
          const key = `memory/${users}/${build.cbor === 'pure JS' ? 'js' : 'native'}-${round}`;
          await client.send(new CopyObjectCommand({ Bucket: context.bucket, CopySource: `${context.bucket}/${seed}`, Key: key }));
          const userId = userIds[round % userIds.length]!;
          const event = webhookEvent(messageUpdate({ updateId: updateId++, userId, text: '/count' }), { secret: WEBHOOK_SECRET });
          const measured = await runChild(bundle, event, { ...env, ...build.env, PERSISTENCE_URL: `s3://${context.bucket}/${key}` });
          if (measured.status !== 200) throw new Error(`memory: the handler answered ${measured.status}`);
          samples.push(measured);
          await client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key }));
          console.error(
            `memory: ${(snapshotBytes / MB).toFixed(0)} MB ${build.cbor}: floor ${(measured.floor / MB).toFixed(0)} MB, peak ${(measured.peak / MB).toFixed(0)} MB, ` +
              `ratio ${((measured.peak - measured.floor) / snapshotBytes).toFixed(2)}`,
          );
        }
        rows.push({
          cbor: build.cbor,
          users,
          snapshotBytes,
          floorBytes: summarize(samples.map((s) => s.floor)),
          peakBytes: summarize(samples.map((s) => s.peak)),
          ratio: summarize(samples.map((s) => (s.peak - s.floor) / snapshotBytes)),
          invokeMs: summarize(samples.map((s) => s.invokeMs)),
        });
      }
      await client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: seed }));
    }
    const [reference, ...measured] = rows;
    const lambda = measured.filter((row) => row.cbor === 'pure JS');
    const fit = fitLine(lambda.map((row) => [row.snapshotBytes, row.peakBytes.median - row.floorBytes.median]));
    const floor = Math.max(...lambda.map((row) => row.floorBytes.max));
    return { rows: measured, reference: reference!, goal: 2, fit, largestSnapshot: largestSnapshots(fit, floor), loadAverage: { start: loadStart, end: loadavg()[0]! } };
  } finally {
    await api.close();
    client.destroy();
  }
}

/** Least squares `y = fixedBytes + slope * x` through `points`. */
function fitLine(points: ReadonlyArray<readonly [number, number]>): MemoryResult['fit'] {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  const slope = sxx === 0 ? my / mx : points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0) / sxx;
  return { fixedBytes: my - slope * mx, slope };
}

/**
 * The largest single-file snapshot a function of 128, 512 and 1024 MB can load and update, from the
 * measured line of the Lambda build: (memory - floor - fixed) / slope, less a tenth for the spread
 * between processes.
 */
export function largestSnapshots(fit: MemoryResult['fit'], floorBytes: number): MemoryResult['largestSnapshot'] {
  return [128, 512, 1024].map((functionMb) => ({
    functionMb,
    bytes: Math.max(0, Math.floor((0.9 * (functionMb * 2 ** 20 - floorBytes - fit.fixedBytes)) / fit.slope)),
  }));
}
