/**
 * Scale (issue 6): the sharded layout with the whole population in MinIO, at 1k, 10k and 100k users,
 * measured side by side with the single-file layout of the same population, in the same run:
 *
 * - cold start: a fresh Node process (pure-JS cbor-x, as the Lambda bundle) does what the sample
 *   bot's runtime does for its first update (`PersistenceRuntime` with the `survey` conversation and
 *   callback data, `/count` in a private chat): timed from the S3 client's construction until the
 *   handler has the user's data in hand, and until the update is written;
 * - bytes and requests of that first update, and of 5 more updates of other users in the same
 *   process (steady state), from the request log;
 * - conflicts when 8 instances (own clients, in one process) write different users at once.
 *
 * Repetitions go round-robin over sizes and layouts (in a new seeded random order each time, with a
 * short pause between processes), so that the machine's slow moments hit every size and layout
 * alike. 1M users are projected from the three sizes by a least-squares line in the number of users.
 *
 * The sharded populations live in a MinIO of their own whose data directory persists between runs
 * (see lib/scale-store.ts: seeded once, reused while the library's snapshot code and the population
 * are unchanged). The users a run writes are stored afresh just before they are measured, so every
 * run measures the same seeded objects.
 */
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNativeAccelerationEnabled } from 'cbor-x';
import { homedir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { startMinio, type MinioConnection } from '../../infra/minio.js';
import { PersistenceRuntime, S3Persistence, type LayoutName } from '../../src/index.js';
import { shardedKey } from '../../src/snapshot/layout.js';
import { runChild } from '../lib/child-process.js';
import { BenchContext } from '../lib/context.js';
import { generateCallbackData, seedPersistence, SURVEY, touchUser, type UserRecord } from '../lib/population.js';
import { ensureShardedPopulation, forceDeleteBucket, pruneBuckets, putSharded, POPULATION_PATH, seedFingerprint, seedingClient, type SeededPopulation } from '../lib/scale-store.js';
import { meteredClient, RequestLog, tally, type RequestTally } from '../lib/s3.js';
import { linearFit, now, ratioOfMedians, summarize, timed, type LinearFit, type Summary } from '../lib/stats.js';
import { LibraryPeer } from '../peers/s3-persistence.js';
import { runWriters } from '../lib/writers.js';
import { seededRandom } from '../../test/support/seed.js';

export type ScaleLayout = Extract<LayoutName, 'single-file' | 'sharded'>;
const LAYOUTS: readonly ScaleLayout[] = ['single-file', 'sharded'];

export interface ScaleOptions {
  sizes: readonly number[];
  /** Rounds over every size and layout. */
  repetitions: number;
  /**
   * Fresh processes per round, size and layout. The sharded layout's cold start is short (50–70 ms)
   * and most of it is the fresh process's own noise, so it gets more samples for a stable median.
   */
  processes: Record<ScaleLayout, number>;
  /** Updates after the first, in the same process, each of another user. */
  steadyUpdates: number;
  /** The size the curve is projected to. */
  projectTo: number;
  /** A pause between two fresh processes. */
  pauseMs: number;
  contention: {
    instances: number;
    usersPerInstance: number;
    /** Updates per instance; none skips the pair. */
    updatesPerInstance: (users: number, layout: ScaleLayout) => number;
  };
  /** The persistent MinIO data directory (default `~/.cache/telegram-s3-persistence/bench-scale/data`, or `$BENCH_SCALE_DIR/data`). */
  dataDir?: string;
}

export const SCALE_DEFAULTS: ScaleOptions = {
  sizes: [1_000, 10_000, 100_000],
  repetitions: 21,
  processes: { 'single-file': 1, sharded: 3 },
  steadyUpdates: 5,
  projectTo: 1_000_000,
  pauseMs: 250,
  contention: {
    instances: 8,
    usersPerInstance: 5,
    // At 100k users the single-file layout PUTs 17 MB per update and re-reads as much per lost condition.
    updatesPerInstance: (users, layout) => (layout === 'single-file' && users >= 100_000 ? 3 : 25),
  },
};

/** Pure-JS cbor-x, as in the Lambda bundle (which leaves cbor-extract out). */
const LAMBDA_CBOR = { CBOR_NATIVE_ACCELERATION_DISABLED: 'true' };

/** What the child process is asked to do. */
export interface ScaleUpdateTask {
  task: 'scale-update';
  connection: MinioConnection;
  filepath: string;
  layout: ScaleLayout;
  /** The first update's user, then one user per steady update. */
  userIds: number[];
}

export interface ScaleUpdateMeasurement {
  /** From the client's construction until the handler of the first update runs: the data is in hand. */
  coldMs: number;
  /** From the client's construction until the first update is written. */
  firstUpdateMs: number;
  first: RequestTally;
  steady: RequestTally;
  steadyMs: number[];
  cborNative: boolean;
}

/** Runs in the fresh process: the sample bot's runtime, cold, then warm. */
export async function measureScaleUpdates(task: ScaleUpdateTask): Promise<ScaleUpdateMeasurement> {
  const log = new RequestLog();
  const started = now();
  const client = meteredClient(task.connection, log);
  const persistence = new S3Persistence<Partial<UserRecord>>({ filepath: task.filepath, client, layout: task.layout, onFlush: true });
  // As the sample bot (src/grammy.ts `persistence(store)`): default options, callback data on, the survey conversation;
  // its log lines off, so that a run does not print one per update.
  const runtime = new PersistenceRuntime(persistence, { logger: false });
  runtime.registerConversation(SURVEY);
  let updateId = 1 + Math.floor(Math.random() * 1e9);
  let inHand = 0;
  const update = async (userId: number) => {
    const outcome = await runtime.run({ updateId: updateId++, userId, chatId: userId }, (scope) => {
      if (inHand === 0) inHand = now();
      touchUser(scope.userData);
    });
    if (outcome.status !== 'handled') throw new Error(`update of user ${userId} was taken for a duplicate`);
  };
  const [first, ...rest] = task.userIds;
  await update(first!);
  const firstDone = now();
  const firstRecords = log.since(0);
  const mark = log.mark();
  const steadyMs: number[] = [];
  for (const id of rest) steadyMs.push(await timed(() => update(id)));
  const steadyRecords = log.since(mark);
  client.destroy();
  return {
    coldMs: inHand - started,
    firstUpdateMs: firstDone - started,
    first: tally(firstRecords, 1),
    steady: tally(steadyRecords, rest.length),
    steadyMs,
    cborNative: isNativeAccelerationEnabled,
  };
}

export interface ScaleRow {
  users: number;
  layout: ScaleLayout;
  /** Objects the population takes (1 for the single-file snapshot). */
  objects: number;
  /** Body bytes of those objects. */
  storedBytes: number;
  coldMs: Summary;
  /** Every cold start, in the order of the repetitions (for the bootstrap and the paired ratios). */
  coldSamples: number[];
  firstUpdateMs: Summary;
  steadyUpdateMs: Summary;
  /** The first update of each fresh process, averaged over the repetitions. */
  firstUpdate: RequestTally;
  /** The updates after it, averaged. */
  steadyState: RequestTally;
  /** Request body bytes per update, over every measured update (first and steady). */
  bytesWrittenPerUpdate: number;
  updates: number;
}

export interface ScaleContention {
  users: number;
  layout: ScaleLayout;
  instances: number;
  usersPerInstance: number;
  updates: number;
  /** Updates that threw (retries ran out; the change stays pending and is flushed afterwards). */
  failedUpdates: number;
  wallMs: number;
  updatesPerSecond: number;
  /** Conditional writes that lost (412/409), in all. */
  lostConditions: number;
  /** Same-entry conflicts the library reported, in all. */
  entryConflicts: number;
  /** Updates whose increment is missing from storage at the end. */
  lostUpdates: number;
  requests: RequestTally;
}

export interface ScaleProjection {
  layout: ScaleLayout;
  metric: 'coldMs' | 'bytesWrittenPerUpdate';
  /** `value = intercept + slope * users`, least squares over the measured sizes (medians for times, means for bytes): the model. */
  fit: LinearFit;
  points: Array<[number, number]>;
  users: number;
  /** The model at `users`. */
  projected: number;
  /** For comparison: `value = intercept + slope * log10(users)`, a cost that grows per decade (an index lookup), and its value at `users`. */
  logFit: LinearFit;
  projectedLog: number;
}

/** The change from the smallest to the largest size measured. */
export interface ScaleChange {
  layout: ScaleLayout;
  from: number;
  to: number;
  /** bytes written per update at `to` over at `from`. */
  bytesRatio: number;
  /** Median cold start at `to` over at `from`, with a 95% bootstrap interval. */
  coldRatio: { ratio: number; low: number; high: number; level: number };
  /** The median, over the processes, of each cold start at `to` over the one at `from` in the same round (seconds apart). */
  coldPairedRatio: number;
}

export interface ScaleSeeding {
  users: number;
  bucket: string;
  objects: number;
  cached: boolean;
  seedSeconds: number;
  storedBytes: number;
  verifySeconds: number;
}

export interface ScaleResult {
  sizes: number[];
  repetitions: number;
  processes: Record<ScaleLayout, number>;
  steadyUpdates: number;
  cbor: 'pure JS (Lambda bundle)' | 'cbor-extract';
  fingerprint: string;
  seeding: ScaleSeeding[];
  rows: ScaleRow[];
  contention: ScaleContention[];
  projections: ScaleProjection[];
  changes: ScaleChange[];
}

/**
 * `count` users drawn at random (seeded) from the population: a sample of its mix of users with and
 * without a private chat or an open survey (an even stride would pick every 20th user, which all
 * have a survey at some sizes).
 */
function sample(ids: readonly number[], count: number, seed: number): number[] {
  const random = seededRandom(seed);
  const pool = [...ids];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

function meanTally(tallies: readonly RequestTally[]): RequestTally {
  const mean = (pick: (t: RequestTally) => number) => tallies.reduce((sum, t) => sum + pick(t), 0) / tallies.length;
  const kinds = new Set(tallies.flatMap((t) => Object.keys(t.kindsPerUpdate)));
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    requestsPerUpdate: round(mean((t) => t.requestsPerUpdate)),
    kindsPerUpdate: Object.fromEntries([...kinds].sort().map((kind) => [kind, round(mean((t) => t.kindsPerUpdate[kind] ?? 0))])),
    bytesUpPerUpdate: Math.round(mean((t) => t.bytesUpPerUpdate)),
    bytesDownPerUpdate: Math.round(mean((t) => t.bytesDownPerUpdate)),
    lostConditionsPerUpdate: round(mean((t) => t.lostConditionsPerUpdate)),
  };
}

async function copyObject(client: S3Client, bucket: string, from: string, to: string): Promise<void> {
  await client.send(new CopyObjectCommand({ Bucket: bucket, CopySource: `${bucket}/${encodeURIComponent(from)}`, Key: to }));
}

export async function scale(mainContext: BenchContext, childScript: string, options: ScaleOptions = SCALE_DEFAULTS): Promise<ScaleResult> {
  const dataDir = options.dataDir ?? join(process.env.BENCH_SCALE_DIR ?? join(homedir(), '.cache', 'telegram-s3-persistence', 'bench-scale'), 'data');
  console.error(`scale: starting the scale MinIO (data kept in ${dataDir}) ...`);
  const minio = await startMinio({ dataDir });
  const fingerprint = await seedFingerprint();
  const sizes = [...options.sizes];
  let context: BenchContext | undefined;
  const setup = seedingClient(minio);
  try {
    await pruneBuckets(minio, fingerprint);
    context = await BenchContext.open(minio, 'scale-run');
    const run = context;
    const population = (users: number) => mainContext.population(users);

    // The whole populations: sharded (kept between runs) and single-file (this run's bucket).
    const seeded = new Map<number, SeededPopulation>();
    const snapshots = new Map<number, { key: string; bytes: number }>();
    for (const users of sizes) {
      seeded.set(users, await ensureShardedPopulation(minio, population(users), fingerprint));
      const key = `single-file/${users}/bot`;
      const persistence = new S3Persistence({ filepath: `s3://${run.bucket}/${key}`, client: setup, onFlush: true });
      await seedPersistence(persistence, population(users), undefined, { callbackData: generateCallbackData(users) });
      const stored = await setup.send(new HeadObjectCommand({ Bucket: run.bucket, Key: key }));
      snapshots.set(users, { key, bytes: stored.ContentLength ?? 0 });
    }

    // Users: per repetition one for the cold update and `steadyUpdates` more; then the contention's own.
    const perRepetition = 1 + options.steadyUpdates;
    const { instances, usersPerInstance } = options.contention;
    const picked = new Map<number, { repetitions: number[][]; contention: number[][] }>();
    for (const users of sizes) {
      const ids = sample(
        population(users).users.map(([id]) => id),
        options.repetitions * perRepetition + instances * usersPerInstance,
        users,
      );
      picked.set(users, {
        repetitions: Array.from({ length: options.repetitions }, (_, r) => ids.slice(r * perRepetition, (r + 1) * perRepetition)),
        contention: Array.from({ length: instances }, (_, i) => ids.slice(options.repetitions * perRepetition).slice(i * usersPerInstance, (i + 1) * usersPerInstance)),
      });
    }
    /**
     * Puts back the seeded objects of these users (an earlier run, or an earlier round, wrote them),
     * and deletes any private chat of theirs that the population does not have (the runtime before
     * 0.2.0 stored a chat it created from the defaults on the chat's second update), so that every
     * process starts from the seeded objects whatever wrote the bucket before.
     */
    const reset = async (users: number, ids: readonly number[]) => {
      const { bucket } = seeded.get(users)!;
      await putSharded(setup, bucket, POPULATION_PATH, population(users), new Set(ids));
      const chats = new Set(population(users).chats.map(([id]) => id));
      const created = ids.filter((id) => !chats.has(id)).map((id) => ({ Key: shardedKey(POPULATION_PATH, { section: 'chat_data', id }) }));
      if (created.length > 0) await setup.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: created, Quiet: true } }));
    };

    // Cold starts and updates, round-robin over sizes and layouts.
    const pairs = sizes.flatMap((users) => LAYOUTS.map((layout) => ({ users, layout })));
    const processes = pairs.flatMap((pair) => Array.from({ length: options.processes[pair.layout] }, () => pair));
    const measured = new Map<string, ScaleUpdateMeasurement[]>(pairs.map(({ users, layout }) => [`${users}/${layout}`, []]));
    let cborNative = false;
    const shuffle = seededRandom(options.repetitions);
    for (let r = 0; r < options.repetitions; r++) {
      // A new random order each time (seeded, so a run is repeatable): no size or layout always follows the same one.
      const order = [...processes];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(shuffle() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const { users, layout } of order) {
        const userIds = picked.get(users)!.repetitions[r]!;
        let filepath: string;
        let copy: string | undefined;
        if (layout === 'sharded') {
          await reset(users, userIds);
          filepath = seeded.get(users)!.filepath;
        } else {
          copy = `single-file/${users}/copy-${r}/bot`;
          await copyObject(setup, run.bucket, snapshots.get(users)!.key, copy);
          filepath = `s3://${run.bucket}/${copy}`;
        }
        const task: ScaleUpdateTask = { task: 'scale-update', connection: minio, filepath, layout, userIds };
        const result = await runChild<ScaleUpdateMeasurement>(childScript, task, { env: LAMBDA_CBOR });
        cborNative ||= result.cborNative;
        measured.get(`${users}/${layout}`)!.push(result);
        if (copy !== undefined) await setup.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: copy }));
        // Let MinIO finish what the last process left it (a 17 MB PUT, a delete) before the next one is timed.
        await sleep(options.pauseMs);
      }
      console.error(`scale: repetition ${r + 1} of ${options.repetitions} done`);
    }

    const rows: ScaleRow[] = pairs.map(({ users, layout }) => {
      const samples = measured.get(`${users}/${layout}`)!;
      const steadyCount = options.steadyUpdates;
      const firstUp = samples.reduce((sum, m) => sum + m.first.bytesUpPerUpdate, 0);
      const steadyUp = samples.reduce((sum, m) => sum + m.steady.bytesUpPerUpdate * steadyCount, 0);
      const updates = samples.length * (1 + steadyCount);
      return {
        users,
        layout,
        objects: layout === 'sharded' ? seeded.get(users)!.objects : 1,
        storedBytes: layout === 'sharded' ? seeded.get(users)!.storedBytes : snapshots.get(users)!.bytes,
        coldMs: summarize(samples.map((m) => m.coldMs)),
        coldSamples: samples.map((m) => Math.round(m.coldMs * 100) / 100),
        firstUpdateMs: summarize(samples.map((m) => m.firstUpdateMs)),
        steadyUpdateMs: summarize(samples.flatMap((m) => m.steadyMs)),
        firstUpdate: meanTally(samples.map((m) => m.first)),
        steadyState: meanTally(samples.map((m) => m.steady)),
        bytesWrittenPerUpdate: Math.round((firstUp + steadyUp) / updates),
        updates,
      };
    });

    // Conflicts: 8 instances at once, each updating its own users.
    const contention: ScaleContention[] = [];
    for (const users of sizes) {
      for (const layout of [...LAYOUTS].reverse()) {
        const updatesPerInstance = options.contention.updatesPerInstance(users, layout);
        if (updatesPerInstance <= 0) continue;
        const own = picked.get(users)!.contention;
        let filepath: string;
        let copy: string | undefined;
        if (layout === 'sharded') {
          await reset(users, own.flat());
          filepath = seeded.get(users)!.filepath;
        } else {
          copy = `single-file/${users}/contention/bot`;
          await copyObject(setup, run.bucket, snapshots.get(users)!.key, copy);
          filepath = `s3://${run.bucket}/${copy}`;
        }
        console.error(`scale: contention, ${users} users, ${layout}, ${instances} x ${updatesPerInstance} updates ...`);
        contention.push(await contend(run, filepath, layout, users, own, updatesPerInstance));
        if (layout === 'sharded') await reset(users, own.flat());
        if (copy !== undefined) await setup.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: copy }));
      }
    }

    const projections: ScaleProjection[] = LAYOUTS.flatMap((layout) =>
      (['coldMs', 'bytesWrittenPerUpdate'] as const).map((metric) => {
        const points = rows
          .filter((row) => row.layout === layout)
          .map((row): [number, number] => [row.users, metric === 'coldMs' ? row.coldMs.median : row.bytesWrittenPerUpdate]);
        const fit = linearFit(
          points.map(([x]) => x),
          points.map(([, y]) => y),
        );
        const logFit = linearFit(
          points.map(([x]) => Math.log10(x)),
          points.map(([, y]) => y),
        );
        return {
          layout,
          metric,
          fit,
          points,
          users: options.projectTo,
          projected: fit.intercept + fit.slope * options.projectTo,
          logFit,
          projectedLog: logFit.intercept + logFit.slope * Math.log10(options.projectTo),
        };
      }),
    );

    const from = Math.min(...sizes);
    const to = Math.max(...sizes);
    const changes: ScaleChange[] = LAYOUTS.map((layout) => {
      const row = (users: number) => rows.find((r) => r.users === users && r.layout === layout)!;
      const [a, b] = [row(from), row(to)];
      const paired = a.coldSamples.map((ms, i) => b.coldSamples[i]! / ms);
      return {
        layout,
        from,
        to,
        bytesRatio: b.bytesWrittenPerUpdate / a.bytesWrittenPerUpdate,
        coldRatio: ratioOfMedians(a.coldSamples, b.coldSamples),
        coldPairedRatio: summarize(paired).median,
      };
    });

    return {
      sizes,
      repetitions: options.repetitions,
      processes: options.processes,
      steadyUpdates: options.steadyUpdates,
      cbor: cborNative ? 'cbor-extract' : 'pure JS (Lambda bundle)',
      fingerprint,
      seeding: sizes.map((users) => {
        const { bucket, objects, cached, seedSeconds, storedBytes, verifySeconds } = seeded.get(users)!;
        return { users, bucket, objects, cached, seedSeconds, storedBytes, verifySeconds };
      }),
      rows,
      contention,
      projections,
      changes,
    };
  } finally {
    if (context !== undefined) {
      await forceDeleteBucket(setup, context.bucket).catch((error: unknown) => console.warn(`scale: could not remove ${context!.bucket}: ${String(error)}`));
      context.close();
    }
    setup.destroy();
    await minio.stop();
  }
}

/** 8 instances (own clients, the sample bot's runtime) updating their own users at once; lost updates counted from the stored counters. */
async function contend(
  context: BenchContext,
  filepath: string,
  layout: ScaleLayout,
  users: number,
  own: readonly number[][],
  updatesPerInstance: number,
): Promise<ScaleContention> {
  const writers = own.map(() => new LibraryPeer({ client: context.client(), filepath, mode: 'runtime', layout }));
  await Promise.all(writers.map((writer) => writer.load()));
  const { updates, failedUpdates, wallMs, records, lostUpdates } = await runWriters(writers, own, updatesPerInstance, context.log);
  const requests = tally(records, updates);
  return {
    users,
    layout,
    instances: own.length,
    usersPerInstance: own[0]!.length,
    updates,
    failedUpdates,
    wallMs: Math.round(wallMs),
    updatesPerSecond: Math.round((updates / wallMs) * 1000 * 10) / 10,
    lostConditions: records.filter((record) => record.status === 412 || record.status === 409).length,
    entryConflicts: writers.reduce((sum, writer) => sum + writer.persistence.metrics.conflicts, 0),
    lostUpdates,
    requests,
  };
}
