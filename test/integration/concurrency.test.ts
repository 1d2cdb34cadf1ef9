// Many writers on one snapshot at once, as concurrent Lambda instances are: separate instances,
// separate processes, and many updates on one warm instance.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EntryConflict, PersistenceMetrics } from '../../src/index.js';
import { costPerUpdate, openBucket, type TestBucket } from '../support/persistence.js';

const INSTANCES = 8;
const UPDATES_PER_INSTANCE = 25;

type Counter = { count: number };

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('concurrency');
});
afterAll(() => bucket.destroy());

function range(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}

describe(`${INSTANCES} instances writing one single-file snapshot at once`, () => {
  it('lose no user entry', async () => {
    const path = 'instances-users/bot';
    const instances = range(INSTANCES).map(() => bucket.open(path));

    await Promise.all(
      instances.flatMap((instance, writer) =>
        range(UPDATES_PER_INSTANCE).map((n) => instance.updateUserData(writer * 1000 + n, { writer, n })),
      ),
    );

    const users = await bucket.open(path).getUserData();
    expect(users.size).toBe(INSTANCES * UPDATES_PER_INSTANCE);
    for (const writer of range(INSTANCES)) {
      for (const n of range(UPDATES_PER_INSTANCE)) expect(users.get(writer * 1000 + n)).toEqual({ writer, n });
    }
    const cost = costPerUpdate(instances, INSTANCES * UPDATES_PER_INSTANCE);
    console.log(`user_data, ${INSTANCES} instances x ${UPDATES_PER_INSTANCE} updates:`, cost);
    expect(cost.conflicts).toBe(0); // every writer changed its own entries
  });

  it('lose no user entry when each instance writes its updates one after another (one per invocation)', async () => {
    const path = 'instances-users-sequential/bot';
    // With no think time between updates, a writer that lost must GET then PUT while the winners PUT
    // straight on their own fresh ETag; with the default 10 attempts one of the 200 writes gave up
    // (WriteConflictError) in about one full run in ten. This test is about entries, not the give-up,
    // which is tested below.
    const instances = range(INSTANCES).map(() => bucket.open(path, { retry: { maxAttempts: 50 } }));

    await Promise.all(
      instances.map(async (instance, writer) => {
        for (const n of range(UPDATES_PER_INSTANCE)) await instance.updateUserData(writer * 1000 + n, { writer, n });
      }),
    );

    const users = await bucket.open(path).getUserData();
    expect(users.size).toBe(INSTANCES * UPDATES_PER_INSTANCE);
    for (const writer of range(INSTANCES)) {
      for (const n of range(UPDATES_PER_INSTANCE)) expect(users.get(writer * 1000 + n)).toEqual({ writer, n });
    }
    const cost = costPerUpdate(instances, INSTANCES * UPDATES_PER_INSTANCE);
    console.log(`user_data, ${INSTANCES} instances x ${UPDATES_PER_INSTANCE} sequential updates:`, cost);
    expect(cost.conflicts).toBe(0);
  });

  it('lose no bot_data property when each instance writes its own', async () => {
    const path = 'instances-bot-data/bot';
    const instances = range(INSTANCES).map(() => bucket.open(path));

    await Promise.all(
      instances.map(async (instance, writer) => {
        const botData = await instance.getBotData();
        await Promise.all(
          range(UPDATES_PER_INSTANCE).map((n) => {
            botData[`writer${writer}`] = { n };
            return instance.updateBotData(botData);
          }),
        );
      }),
    );

    const expected = Object.fromEntries(range(INSTANCES).map((writer) => [`writer${writer}`, { n: UPDATES_PER_INSTANCE - 1 }]));
    expect(await bucket.open(path).getBotData()).toEqual(expected);
    const cost = costPerUpdate(instances, INSTANCES * UPDATES_PER_INSTANCE);
    console.log(`bot_data, ${INSTANCES} instances x ${UPDATES_PER_INSTANCE} updates:`, cost);
    expect(cost.conflicts).toBe(0);
  });
});

describe('two instances changing the same entry', () => {
  /** Both instances read user 7 at `start`; `second` writes, then `first` writes on its stale ETag. */
  async function bothChangeUser7(path: string, options: Parameters<TestBucket['open']>[1], first: number, second: number) {
    const seed = bucket.open<Counter>(path);
    await seed.updateUserData(7, { count: 5 });
    const late = bucket.open<Counter>(path, options);
    const early = bucket.open<Counter>(path);
    await Promise.all([late.getUserData(), early.getUserData()]);

    await early.updateUserData(7, { count: 5 + second });
    await late.updateUserData(7, { count: 5 + first });
    return { late, stored: (await bucket.open<Counter>(path).getUserData()).get(7) };
  }

  it('reports the conflict to onConflict, and the later write wins', async () => {
    const conflicts: unknown[] = [];

    const { late, stored } = await bothChangeUser7('same-entry-hook/bot', { onConflict: (conflict) => conflicts.push(conflict) }, 1, 2);

    expect(conflicts).toEqual([
      { section: 'user_data', entry: 'user_data[7]', base: { count: 5 }, ours: { count: 6 }, theirs: { count: 7 }, resolution: { count: 6 } },
    ]);
    expect(stored).toEqual({ count: 6 });
    expect(late.metrics).toMatchObject({ conflicts: 1, preconditionsLost: 1 });
  });

  const sumCounters = ({ base, ours, theirs }: EntryConflict): Counter => ({
    count: (theirs as Counter).count + (ours as Counter).count - ((base as Counter | undefined)?.count ?? 0),
  });

  it('lets a merge function that sums counters decide: the result is the sum', async () => {
    const conflicts: unknown[] = [];

    const { stored } = await bothChangeUser7(
      'same-entry-merge/bot',
      { merge: sumCounters, onConflict: (conflict) => conflicts.push(conflict) },
      1,
      2,
    );

    expect(stored).toEqual({ count: 5 + 1 + 2 });
    expect(conflicts).toMatchObject([{ entry: 'user_data[7]', resolution: { count: 8 } }]);
  });

  it(`lets a merge function sum the counter that ${INSTANCES} instances increment from the same value`, async () => {
    const path = 'same-entry-merge-many/bot';
    await bucket.open<Counter>(path).updateUserData(7, { count: 0 });
    const instances = range(INSTANCES).map(() => bucket.open<Counter>(path, { merge: sumCounters }));
    const counters = await Promise.all(instances.map(async (instance) => (await instance.getUserData()).get(7)!));

    await Promise.all(instances.map((instance, index) => instance.updateUserData(7, { count: counters[index]!.count + 1 })));

    expect((await bucket.open<Counter>(path).getUserData()).get(7)).toEqual({ count: INSTANCES });
  });
});

describe('when the retries run out', () => {
  /**
   * An instance whose every PutObject loses: just before each one is sent, another instance writes
   * a user of its own (100, 101, ...), until `stop()`.
   */
  async function alwaysBeaten(path: string, maxAttempts: number) {
    const loser = bucket.open(path, { retry: { maxAttempts } });
    await loser.getUserData();
    const other = bucket.open(path);
    let interfering = true;
    let writes = 0;
    bucket.clientOf(loser).middlewareStack.add(
      (next, context) => async (args) => {
        if (interfering && context.commandName === 'PutObjectCommand') {
          await other.updateUserData(100 + writes, { beaten: writes });
          writes++;
        }
        return next(args);
      },
      { step: 'initialize', name: 'anotherWriterWinsFirst' },
    );
    return { loser, stop: () => (interfering = false), writes: () => writes };
  }

  it('throws WriteConflictError naming bucket and key, keeps the change, and the next flush writes it', async () => {
    const path = 'give-up/bot';
    const { loser, stop, writes } = await alwaysBeaten(path, 3);

    const error: unknown = await loser.updateUserData(1, { mine: true }).catch((rejection: unknown) => rejection);

    expect(error).toMatchObject({ name: 'WriteConflictError', code: 'WRITE_CONFLICT', attempts: 3, bucket: bucket.name, key: path });
    expect(loser.metrics.preconditionsLost).toBe(3);
    expect(loser.hasPendingChanges).toBe(true);
    expect((await bucket.open(path).getUserData()).has(1)).toBe(false);

    stop();
    await loser.flush();

    expect(loser.hasPendingChanges).toBe(false);
    const users = await bucket.open(path).getUserData();
    expect(users.get(1)).toEqual({ mine: true });
    expect([...users.keys()].filter((id) => id >= 100).length).toBe(writes());
  });

  it('with retry.maxAttempts: 1, the next flush after a give-up writes the kept change', async () => {
    const path = 'give-up-single-attempt/bot';
    const { loser, stop } = await alwaysBeaten(path, 1);
    await expect(loser.updateUserData(1, { mine: true })).rejects.toMatchObject({ name: 'WriteConflictError' });

    stop();
    await loser.flush();

    expect((await bucket.open(path).getUserData()).get(1)).toEqual({ mine: true });
  });
});

describe('several processes writing one snapshot at once', () => {
  const PROCESSES = 4;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  let build: string;
  let library: string;

  // No TypeScript loader is installed for child processes, so they run the library compiled by tsc.
  beforeAll(async () => {
    build = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-build-'));
    // The package's own `imports` (#cbor-x) resolve against this package.json, as in the published one.
    const { imports } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { imports: unknown };
    await writeFile(join(build, 'package.json'), `${JSON.stringify({ type: 'module', imports })}\n`);
    await symlink(join(root, 'node_modules'), join(build, 'node_modules'), 'dir');
    await mkdir(join(build, 'dist'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(build, 'dist'), '--declaration', 'false', '--sourceMap', 'false'];
    const failure = await promisify(execFile)(process.execPath, args, { cwd: root }).then(
      () => undefined,
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    const index = join(build, 'dist', 'index.js');
    // src/ is edited by others at the same time: tsc emits despite type errors, and those are reported, not fatal.
    if (!existsSync(index)) throw new Error(`tsc emitted no ${index}:\n${failure}`);
    if (failure !== undefined) console.warn(`tsc reported errors in src/ (the build is used anyway):\n${failure}`);
    library = pathToFileURL(index).href;
  });

  afterAll(async () => {
    if (build !== undefined) await rm(build, { recursive: true, force: true });
  });

  interface Writer {
    ready: Promise<void>;
    go(): void;
    done: Promise<PersistenceMetrics>;
  }

  function startWriter(filepath: string, writer: number): Writer {
    const { endpoint, accessKeyId, secretAccessKey } = inject('minio');
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url))], {
      cwd: root,
      env: {
        ...process.env,
        LIBRARY: library,
        S3_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        FILEPATH: filepath,
        WRITER: String(writer),
        USERS: String(UPDATES_PER_INSTANCE),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const lines: string[] = [];
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') markReady();
      else lines.push(line);
    });
    const done = new Promise<PersistenceMetrics>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`writer ${writer} exited with ${code}:\n${stderr}`));
        else resolve(JSON.parse(lines.at(-1) ?? 'null') as PersistenceMetrics);
      });
    });
    // A writer that dies before `ready` must fail the test, not hang it.
    return { ready: Promise.race([ready, done.then(() => undefined)]), go: () => child.stdin.end('go\n'), done };
  }

  it(`lose no user entry when ${PROCESSES} processes write their own users`, async () => {
    const path = 'processes/bot';
    const writers = range(PROCESSES).map((writer) => startWriter(`s3://${bucket.name}/${path}`, writer));

    await Promise.all(writers.map((writer) => writer.ready)); // every process has loaded the same (empty) state
    for (const writer of writers) writer.go();
    const metrics = await Promise.all(writers.map((writer) => writer.done));

    const users = await bucket.open(path).getUserData();
    expect(users.size).toBe(PROCESSES * UPDATES_PER_INSTANCE);
    for (const writer of range(PROCESSES)) {
      for (const n of range(UPDATES_PER_INSTANCE)) expect(users.get(writer * 1000 + n)).toMatchObject({ writer, n });
    }
    console.log(
      `user_data, ${PROCESSES} processes x ${UPDATES_PER_INSTANCE} updates:`,
      costPerUpdate(metrics.map((m) => ({ metrics: m })), PROCESSES * UPDATES_PER_INSTANCE),
    );
  });
});

describe('group commit on one warm instance', () => {
  it('carries 50 concurrent updates in far fewer than 50 PUTs', async () => {
    const path = 'group-commit/bot';
    const warm = bucket.open(path);
    await warm.getUserData();

    await Promise.all(range(50).map((n) => warm.updateUserData(n, { n })));

    console.log(`group commit: 50 concurrent updates took ${warm.metrics.puts} PUTs and ${warm.metrics.gets} GETs (the cold read included)`);
    expect(warm.metrics.puts).toBeLessThan(50);
    // The first update goes out alone; the 49 made while it is in flight go out together in the next PUT.
    expect(warm.metrics.puts).toBeLessThanOrEqual(2);
    const users = await bucket.open(path).getUserData();
    expect(users).toEqual(new Map(range(50).map((n) => [n, { n }])));
  });
});
