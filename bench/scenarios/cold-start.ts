/**
 * Cold start: a fresh process constructs the persistence and loads a snapshot of 1k, 10k and 100k
 * users until an update's data is in hand. Baseline: a raw GetObject of the same data as JSON, and
 * JSON.parse. The library's target: at most 1.3x the baseline at 10k and 100k users.
 *
 * The library loads in two ways. `runtime` is `PersistenceRuntime` (the sample bot's driver)
 * handling its first update, until the handler has the data: its refreshes of bot, user, chat,
 * conversation and callback data share one GET, and only the update's own entries are decoded. `library` is the contract's full
 * load, PTB's start-up: every `get*`, so every entry decoded and copied out. The sharded layout is
 * measured as the runtime starts on it, whatever the number of users.
 *
 * Each measurement is a new Node process, so decoding runs with nothing compiled yet, as in Lambda.
 * cbor-x runs twice: with its native string extractor (cbor-extract, present after `npm install`)
 * and without it, as in the Lambda bundle, which leaves cbor-extract out.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { isNativeAccelerationEnabled } from 'cbor-x';
import type { MinioConnection } from '../../infra/minio.js';
import { PersistenceRuntime, S3Persistence } from '../../src/index.js';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { runChild } from '../lib/child-process.js';
import type { BenchContext } from '../lib/context.js';
import { SURVEY } from '../lib/population.js';
import { meteredClient, RequestLog } from '../lib/s3.js';
import { now, ratio, summarize, type Summary } from '../lib/stats.js';

export type ColdStartVariant = 'library' | 'runtime' | 'sharded' | 'json';

/** What the child process is asked to load. */
export interface ColdStartTask {
  task: 'cold-start';
  variant: ColdStartVariant;
  connection: MinioConnection;
  bucket: string;
  key: string;
  /** Load a second time in the same process (default true); a profile wants the cold load alone. */
  secondLoad?: boolean;
  /** runtime, sharded: the users whose updates the first and the second load are for. */
  userIds?: number[];
}

/** One load, in milliseconds, with its two phases. */
export interface LoadTiming {
  totalMs: number;
  /** library: the first `get*` (`getUserData`: GET, and every user decoded); runtime, sharded: the whole (no split); json: GetObject with the body read. */
  readMs: number;
  /** library: the other `get*` (chat, bot, callback data, conversations); runtime, sharded: 0; json: JSON.parse. */
  materializeMs: number;
}

export interface ColdStartMeasurement {
  /** The first load in the fresh process: the cold start. */
  cold: LoadTiming;
  /** A second load in the same process (new instance, same client): some code compiled, connection open. */
  warm?: LoadTiming;
  bytes: number;
  cborNative: boolean;
  /** The child's Node version. */
  node: string;
}

/** Runs in the fresh process: loads once cold, then once warm. */
export async function measureColdStart(task: ColdStartTask): Promise<ColdStartMeasurement> {
  const log = new RequestLog();
  const load = { library: loadWithLibrary, runtime: loadForOneUpdate, sharded: loadForOneUpdate, json: loadAsJson }[task.variant];
  const started = now();
  const client = meteredClient(task.connection, log);
  const cold = await load(task, client, started, 0);
  const warm = task.secondLoad === false ? undefined : await load(task, client, now(), 1);
  client.destroy();
  // The largest answer is the snapshot's (the library also reads its small conditional-writes verdict).
  const bytes = Math.max(0, ...log.records.map((record) => record.bytesDown));
  return { cold, ...(warm ? { warm } : {}), bytes, cborNative: isNativeAccelerationEnabled, node: process.version };
}

type Client = ReturnType<typeof meteredClient>;

/**
 * Every `get*`, one after another in the order of PTB's `Application.initialize`: user, chat, bot
 * and callback data (`_initialize_persistence`), then the conversation handler's states.
 */
async function loadWithLibrary(task: ColdStartTask, client: Client, started: number): Promise<LoadTiming> {
  const persistence = new S3Persistence({ filepath: `s3://${task.bucket}/${task.key}`, client });
  await persistence.getUserData();
  const read = now();
  await persistence.getChatData();
  await persistence.getBotData();
  await persistence.getCallbackData();
  await persistence.getConversations(SURVEY);
  const done = now();
  return { totalMs: done - started, readMs: read - started, materializeMs: done - read };
}

/**
 * The sample bot's first update, on the single-file (`runtime`) or the sharded layout: a
 * `PersistenceRuntime` runs an update of the user in their private chat, timed until its handler
 * has the data in hand. The handler changes nothing and redelivery marks are off, so nothing is
 * written and the seeded snapshot stays as it is for the next process.
 */
async function loadForOneUpdate(task: ColdStartTask, client: Client, started: number, nth: number): Promise<LoadTiming> {
  const layout = task.variant === 'sharded' ? 'sharded' : 'single-file';
  const persistence = new S3Persistence({ filepath: `s3://${task.bucket}/${task.key}`, client, layout });
  const runtime = new PersistenceRuntime(persistence, { skipRedelivered: false, logger: false });
  runtime.registerConversation(SURVEY);
  const userId = task.userIds![nth]!;
  let inHand = Number.NaN;
  const outcome = await runtime.run({ updateId: nth + 1, userId, chatId: userId }, () => {
    inHand = now();
  });
  if (outcome.status !== 'handled' || persistence.metrics.puts !== 0) throw new Error('the cold-start update was not handled, or it wrote');
  return { totalMs: inHand - started, readMs: inHand - started, materializeMs: 0 };
}

async function loadAsJson(task: ColdStartTask, client: Client, started: number): Promise<LoadTiming> {
  const object = await client.send(new GetObjectCommand({ Bucket: task.bucket, Key: task.key }));
  const text = await object.Body!.transformToString();
  const read = now();
  JSON.parse(text);
  const done = now();
  return { totalMs: done - started, readMs: read - started, materializeMs: done - read };
}

export interface ColdStartOptions {
  sizes: readonly number[];
  /** Fresh processes per size and variant. */
  repetitions: (users: number) => number;
}

/** Summaries of the cold and the warm load. */
export interface LoadSummary {
  totalMs: Summary;
  readMs: Summary;
  materializeMs: Summary;
  /** The second load in the same process. */
  secondLoadMs: Summary;
}

export interface ColdStartRow {
  users: number;
  /** Bytes of the CBOR snapshot and of the JSON document. */
  snapshotBytes: number;
  jsonBytes: number;
  /** The runtime's first update (single-file), cbor-x with cbor-extract, as installed by npm. */
  runtime: LoadSummary;
  /** The same without cbor-extract, as in the Lambda bundle. */
  runtimeLambda: LoadSummary;
  /** Every `get*` (the contract's full load), cbor-x with cbor-extract. */
  library: LoadSummary;
  /** The same without cbor-extract, as in the Lambda bundle. */
  libraryLambda: LoadSummary;
  json: LoadSummary;
  /** The sharded layout's cold start for one update (cbor-x without cbor-extract). */
  sharded: LoadSummary;
  /**
   * The full load and its baseline again on Node 24, the Node the sample function runs on Lambda
   * (serverless.yml: nodejs24.x); the rows above run on this process's Node.
   */
  node24?: { version: string; library: LoadSummary; libraryLambda: LoadSummary; json: LoadSummary; ratio: number; ratioLambda: number };
  /** Median cold load over the baseline's: the runtime's, for each cbor-x build; every `get*`'s; the sharded layout's. */
  ratioRuntime: number;
  ratioRuntimeLambda: number;
  ratio: number;
  ratioLambda: number;
  ratioSharded: number;
}

export interface ColdStartResult {
  rows: ColdStartRow[];
}

export const COLD_START_DEFAULTS: ColdStartOptions = {
  sizes: [1_000, 10_000, 100_000],
  repetitions: (users) => (users >= 100_000 ? 7 : 9),
};

const LAMBDA_CBOR = { CBOR_NATIVE_ACCELERATION_DISABLED: 'true' };

function summarizeLoads(measurements: ColdStartMeasurement[]): LoadSummary {
  return {
    totalMs: summarize(measurements.map((m) => m.cold.totalMs)),
    readMs: summarize(measurements.map((m) => m.cold.readMs)),
    materializeMs: summarize(measurements.map((m) => m.cold.materializeMs)),
    secondLoadMs: summarize(measurements.map((m) => m.warm?.totalMs ?? Number.NaN)),
  };
}

export async function coldStart(context: BenchContext, childScript: string, options: ColdStartOptions = COLD_START_DEFAULTS): Promise<ColdStartResult> {
  const rows: ColdStartRow[] = [];
  const node24 = await ensureRuntime('node24');
  for (const users of options.sizes) {
    const repetitions = options.repetitions(users);
    const userIds = context.population(users).users.slice(0, 2 * repetitions).map(([id]) => id);
    const [snapshot, document, sharded] = await Promise.all([
      context.snapshot(users),
      context.jsonDocument(users),
      context.shardedEntries(users, userIds, `cold-start-${users}`),
    ]);
    const base = { connection: context.connection, bucket: context.bucket };
    const runtime: ColdStartMeasurement[] = [];
    const runtimeLambda: ColdStartMeasurement[] = [];
    const library: ColdStartMeasurement[] = [];
    const libraryLambda: ColdStartMeasurement[] = [];
    const shardedLoads: ColdStartMeasurement[] = [];
    const json: ColdStartMeasurement[] = [];
    const library24: ColdStartMeasurement[] = [];
    const libraryLambda24: ColdStartMeasurement[] = [];
    const json24: ColdStartMeasurement[] = [];
    // Interleaved, so that a slow moment of the machine touches every variant alike.
    for (let i = 0; i < repetitions; i++) {
      const ids = userIds.slice(2 * i, 2 * i + 2);
      const runtimeTask = { ...base, task: 'cold-start', variant: 'runtime', key: snapshot, userIds: ids } satisfies ColdStartTask;
      runtime.push(await runChild(childScript, runtimeTask));
      runtimeLambda.push(await runChild(childScript, runtimeTask, { env: LAMBDA_CBOR }));
      library.push(await runChild(childScript, { ...base, task: 'cold-start', variant: 'library', key: snapshot } satisfies ColdStartTask));
      libraryLambda.push(
        await runChild(childScript, { ...base, task: 'cold-start', variant: 'library', key: snapshot } satisfies ColdStartTask, { env: LAMBDA_CBOR }),
      );
      json.push(await runChild(childScript, { ...base, task: 'cold-start', variant: 'json', key: document } satisfies ColdStartTask));
      const fullLoad = { ...base, task: 'cold-start', variant: 'library', key: snapshot } satisfies ColdStartTask;
      library24.push(await runChild(childScript, fullLoad, { node: node24 }));
      libraryLambda24.push(await runChild(childScript, fullLoad, { node: node24, env: LAMBDA_CBOR }));
      json24.push(await runChild(childScript, { ...base, task: 'cold-start', variant: 'json', key: document } satisfies ColdStartTask, { node: node24 }));
      shardedLoads.push(
        await runChild(childScript, { ...base, task: 'cold-start', variant: 'sharded', key: sharded, userIds: ids } satisfies ColdStartTask, { env: LAMBDA_CBOR }),
      );
    }
    if (!library[0]!.cborNative || libraryLambda[0]!.cborNative) {
      console.warn(`cold start: cbor-extract ${library[0]!.cborNative ? 'could not be disabled' : 'is not installed'}; the two library rows are the same build`);
    }
    const row = {
      users,
      snapshotBytes: library[0]!.bytes,
      jsonBytes: json[0]!.bytes,
      runtime: summarizeLoads(runtime),
      runtimeLambda: summarizeLoads(runtimeLambda),
      library: summarizeLoads(library),
      libraryLambda: summarizeLoads(libraryLambda),
      json: summarizeLoads(json),
      sharded: summarizeLoads(shardedLoads),
    };
    const on24 = { library: summarizeLoads(library24), libraryLambda: summarizeLoads(libraryLambda24), json: summarizeLoads(json24) };
    rows.push({
      ...row,
      ratioRuntime: ratio(row.runtime.totalMs.median, row.json.totalMs.median),
      ratioRuntimeLambda: ratio(row.runtimeLambda.totalMs.median, row.json.totalMs.median),
      ratio: ratio(row.library.totalMs.median, row.json.totalMs.median),
      ratioLambda: ratio(row.libraryLambda.totalMs.median, row.json.totalMs.median),
      ratioSharded: ratio(row.sharded.totalMs.median, row.json.totalMs.median),
      node24: {
        version: library24[0]!.node,
        ...on24,
        ratio: ratio(on24.library.totalMs.median, on24.json.totalMs.median),
        ratioLambda: ratio(on24.libraryLambda.totalMs.median, on24.json.totalMs.median),
      },
    });
  }
  return { rows };
}
