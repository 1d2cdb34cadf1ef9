// Writers on one snapshot through a proxy that injects, from a seed, the failures S3 deployments
// meet: 500s, 503 SlowDown, connection resets before the server saw a request, responses lost after
// the server applied a PUT, latency, and requests held past the client's timeout (dropped, applied,
// or delivered late). Whatever the faults, no update whose promise resolved is lost, every object
// stays decodable, and what the callers see are typed errors. Then the case the library's write
// ids exist for, scripted: a PUT that landed but whose answer was lost.
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3Persistence, type EntryConflict, type S3PersistenceOptions } from '../../src/index.js';
import { startFaultProxy, type FaultPlan, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { deriveSeed, seededRandom, randomInt } from '../support/seed.js';
import { s3Client } from './clients.js';
import { PROFILE, report, seedFor } from './profile.js';
import { decodability } from './stored-objects.js';
import {
  applyWrite,
  CONVERSATION,
  errorKind,
  lostAcknowledged,
  nextWrite,
  storedStamps,
  tally,
  unexplainedShared,
  type ErrorTally,
  type Write,
} from './workload.js';

type Data = Record<string, unknown>;
type Counter = { count: number };

/** Per request: the chance of each fault. About one request in three meets one. */
const FAULT_RATES: FaultPlan['rates'] = {
  latency: 0.1,
  error500: 0.04,
  slowDown503: 0.04,
  resetBeforeServer: 0.04,
  lostResponse: 0.05,
  timeoutBeforeServer: 0.015,
  lateDelivery: 0.015,
  timeoutAfterServer: 0.015,
};

let bucket: TestBucket;
let proxy: FaultProxy;
const clients: S3Client[] = [];

beforeAll(async () => {
  bucket = await openBucket('faults');
  proxy = await startFaultProxy(inject('minio').endpoint);
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy?.close();
  bucket?.destroy();
});
afterEach(() => {
  proxy.setPlan(null);
  proxy.clearScript();
});

/** A persistence whose S3 client goes through a fault proxy (its own client, as a Lambda instance has). */
function throughProxy<UD = Data>(
  path: string,
  options: Partial<S3PersistenceOptions<UD, Data, Data>> & { maxAttempts?: number; via?: FaultProxy } = {},
) {
  const { maxAttempts, via = proxy, ...rest } = options;
  const client = s3Client({ endpoint: via.endpoint, maxAttempts });
  clients.push(client);
  // The faults are for the snapshot's requests: the check of conditional writes (tested in
  // test/integration/conditional-writes.test.ts) would meet them first.
  return new S3Persistence<UD, Data, Data>({ conditionalWrites: 'trust', ...rest, filepath: `s3://${bucket.name}/${path}`, client });
}

/** A persistence straight on MinIO, for setting up and judging. */
function direct<UD = Data>(path: string, options: Partial<S3PersistenceOptions<UD, Data, Data>> = {}) {
  const client = s3Client();
  clients.push(client);
  return new S3Persistence<UD, Data, Data>({ ...options, filepath: `s3://${bucket.name}/${path}`, client });
}

/** The requests of the proxy that concern `key`. */
function requestsFor(key: string): ProxiedRequest[] {
  return proxy.requests.filter((request) => request.path === `/${bucket.name}/${key}`);
}

interface WriterOutcome {
  writes: Array<Write & { acknowledged: boolean }>;
  errors: ErrorTally;
  /** Of those, the failed cold loads (each retried until it succeeded). */
  loadErrors: number;
  /** Every error, to check what their messages reveal. */
  raw: unknown[];
}

/** One writer: rounds of one to three concurrent updates (group commit), now and then a refresh of its own user. */
async function runWriter(persistence: S3Persistence, writer: number, seed: number, writes: number): Promise<WriterOutcome> {
  const random = seededRandom(seed);
  const deadline = Date.now() + PROFILE.deadlineMs;
  const shape = { ownEntries: 6, sharedShare: 0.15 };
  const outcome: WriterOutcome = { writes: [], errors: {}, loadErrors: 0, raw: [] };
  const failed = (error: unknown) => {
    tally(outcome.errors, error);
    outcome.raw.push(error);
  };
  // The cold load, under faults too, retried until it succeeds: an update whose load fails throws
  // before its change is recorded (see the test below), and this run judges recorded changes.
  for (let loaded = false; !loaded; ) {
    loaded = await Promise.all([
      persistence.getUserData(),
      persistence.getChatData(),
      persistence.getBotData(),
      persistence.getConversations(CONVERSATION),
    ]).then(
      () => true,
      (error: unknown) => {
        failed(error);
        outcome.loadErrors++;
        return false;
      },
    );
  }
  let seq = 0;
  while (seq < writes && Date.now() < deadline) {
    if (random() < 0.1) {
      await persistence.refreshUserData(writer * 1000 + 1, {}).catch(failed);
      continue;
    }
    const round = Array.from({ length: Math.min(randomInt(random, 1, 3), writes - seq) }, () => nextWrite(random, writer, ++seq, shape));
    await Promise.all(
      round.map((write) =>
        applyWrite(persistence, write).then(
          () => outcome.writes.push({ ...write, acknowledged: true }),
          (error: unknown) => {
            failed(error);
            outcome.writes.push({ ...write, acknowledged: false });
          },
        ),
      ),
    );
  }
  return outcome;
}

describe('writers through seeded faults (500, 503 SlowDown, resets, lost responses, latency, timeouts)', () => {
  const { writers: WRITERS, writesPerWriter: WRITES } = PROFILE.faults;

  // The layouts run at once, each through a proxy of its own: the faults mostly wait (backoffs, timeouts).
  it.concurrent.for([
    { layout: 'single-file', singleFile: true },
    { layout: 'multi-file', singleFile: false },
  ])(`$layout: ${WRITERS} writers x ${WRITES} updates lose no acknowledged update, leave every object decodable, and surface only typed errors`, async ({ layout, singleFile }, { expect }) => {
    const seed = seedFor(`faults ${layout}`, import.meta.url);
    const path = `faults-${layout}/bot`;
    const conflicts: EntryConflict[] = [];
    const faulty = await startFaultProxy(inject('minio').endpoint);
    const instances = Array.from({ length: WRITERS }, () =>
      throughProxy(path, { singleFile, via: faulty, onConflict: (conflict) => conflicts.push(conflict) }),
    );

    faulty.setPlan({ seed, rates: FAULT_RATES, latencyMs: [5, 60] });
    const outcomes = await Promise.all(instances.map((instance, writer) => runWriter(instance, writer, deriveSeed(seed, writer), WRITES)));
    faulty.setPlan(null);
    await faulty.settled(); // late deliveries too
    // The faults are over: every change a failed update kept goes out with a flush.
    const flushErrors: ErrorTally = {};
    for (const instance of instances) {
      for (let attempt = 0; instance.hasPendingChanges && attempt < 10; attempt++) {
        await instance.flush().catch((error: unknown) => tally(flushErrors, error));
      }
    }
    await faulty.close();

    const stored = await storedStamps(direct(path, { singleFile }));
    const writes = outcomes.flatMap((outcome) => outcome.writes);
    const acknowledged = writes.filter((write) => write.acknowledged);
    const failed = writes.filter((write) => !write.acknowledged);
    const lost = lostAcknowledged(stored, acknowledged);
    const failedThenLost = lostAcknowledged(stored, failed); // kept pending, so written by a later write or the flush
    const { objects, undecodable } = await decodability(bucket, path);
    const errors = outcomes.flatMap((outcome) => outcome.raw);
    const requests = faulty.requests;
    const figures = {
      writes: writes.length,
      acknowledged: acknowledged.length,
      acknowledgedLost: lost.length,
      objects,
      undecodable: undecodable.length,
      errorsSurfaced: errors.length,
      ofWhichColdLoads: outcomes.reduce((sum, outcome) => sum + outcome.loadErrors, 0),
      errorsByKind: errors.reduce<ErrorTally>((sum, error) => (tally(sum, error), sum), {}),
      failedUpdatesWrittenLater: failed.length - failedThenLost.length,
      flushErrors,
      sameEntryConflicts: conflicts.length,
      requests: requests.length,
      sdkRetries: requests.filter((request) => (request.attempt ?? 1) > 1).length,
      faults: faulty.faultCounts(),
    };
    report(`faults ${layout}`, figures);

    expect(lost, 'acknowledged updates not in the stored snapshot').toEqual([]);
    expect(undecodable, 'objects that do not decode').toEqual([]);
    expect(failedThenLost, 'changes of failed updates that no later write carried').toEqual([]);
    expect(unexplainedShared(stored, writes), 'shared entries holding no writer’s final value').toEqual([]);
    expect(Object.keys(figures.errorsByKind).filter((kind) => kind.startsWith('untyped') || kind.startsWith('non-Error'))).toEqual([]);
    expect(Object.keys(figures.errorsByKind).filter((kind) => kind === 'SnapshotDecodeError')).toEqual([]);
    expect(flushErrors).toEqual({});
    // Security: what the callers see never carries the credentials.
    const { secretAccessKey } = inject('minio');
    for (const error of errors) {
      const text = `${String((error as Error).message)} ${String(((error as Error).cause as Error | undefined)?.message)}`;
      expect(text).not.toContain(secretAccessKey);
    }
  });
});

describe('a PUT that the server applied but whose answer was lost', () => {
  it('is retried by the SDK, meets its own write (412), and the update resolves with no conflict and no third PUT', async () => {
    const key = 'lost-answer-sdk-retry/bot';
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    proxy.inject({ fault: 'lostResponse', method: 'PUT' });

    await persistence.updateUserData(7, { count: 1 });

    const puts = requestsFor(key).filter((request) => request.method === 'PUT');
    expect(puts.map(({ fault, attempt, serverStatus, clientStatus }) => ({ fault, attempt, serverStatus, clientStatus }))).toEqual([
      { fault: 'lostResponse', attempt: 1, serverStatus: 200, clientStatus: undefined },
      { fault: 'pass', attempt: 2, serverStatus: 412, clientStatus: 412 },
    ]);
    expect(conflicts).toEqual([]);
    expect(persistence.metrics).toMatchObject({ puts: 1, preconditionsLost: 1, conflicts: 0 });
    expect(persistence.hasPendingChanges).toBe(false);
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 1 });
  });

  it('answered after the client timed out (the server applied it) is recognised the same way', async () => {
    const key = 'timeout-after-apply/bot';
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    proxy.inject({ fault: 'timeoutAfterServer', method: 'PUT' });

    await persistence.updateUserData(7, { count: 1 });

    const puts = requestsFor(key).filter((request) => request.method === 'PUT');
    expect(puts.map(({ fault, serverStatus }) => ({ fault, serverStatus }))).toEqual([
      { fault: 'timeoutAfterServer', serverStatus: 200 },
      { fault: 'pass', serverStatus: 412 },
    ]);
    expect(conflicts).toEqual([]);
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 1 });
  });

  it('with the SDK retries off, fails with StorageError; the next flush recognises the write as its own and sends no second copy', async () => {
    const key = 'lost-answer-no-sdk-retry/bot';
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { maxAttempts: 1, onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    proxy.inject({ fault: 'lostResponse', method: 'PUT' });

    const error = await persistence.updateUserData(7, { count: 1 }).catch((rejection: unknown) => rejection);
    expect(errorKind(error)).toMatch(/^StorageError\(.*, no response\)$/);
    expect(error).toMatchObject({ bucket: bucket.name, key });
    expect(persistence.hasPendingChanges).toBe(true);

    await persistence.flush();

    const puts = requestsFor(key).filter((request) => request.method === 'PUT');
    expect(puts.map(({ fault, serverStatus }) => ({ fault, serverStatus }))).toEqual([
      { fault: 'lostResponse', serverStatus: 200 },
      { fault: 'pass', serverStatus: 412 }, // the flush's PUT meets the first one, stored under its write id
    ]);
    expect(conflicts).toEqual([]);
    expect(persistence.hasPendingChanges).toBe(false);
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 1 });
  });

  it('(a cold load that fails instead) rejects the update with StorageError and keeps nothing: the caller sends it again', async () => {
    const key = 'cold-load-fails/bot';
    const persistence = throughProxy<Counter>(key, { maxAttempts: 1 });
    proxy.inject({ fault: 'error500', method: 'GET' });

    const error = await persistence.updateUserData(7, { count: 1 }).catch((rejection: unknown) => rejection);

    expect(errorKind(error)).toBe('StorageError(InternalError, HTTP 500)');
    expect((error as Error).message).toMatch(/^read failed/);
    expect(persistence.hasPendingChanges).toBe(false); // the change was never recorded
    await persistence.flush();
    expect(requestsFor(key).map((request) => request.method)).toEqual(['GET']);
    await persistence.updateUserData(7, { count: 1 });
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 1 });
  });

  it('delivered late, after the client gave up, lands at most once: its copy and the SDK retry meet as one write', async () => {
    const key = 'late-delivery/bot';
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    proxy.inject({ fault: 'lateDelivery', method: 'PUT' });

    await persistence.updateUserData(7, { count: 1 });
    await proxy.settled();
    await persistence.updateUserData(7, { count: 2 });

    const puts = requestsFor(key).filter((request) => request.method === 'PUT');
    expect(puts).toHaveLength(3);
    // The held request and the SDK's retry carry the same write: whichever reaches MinIO first lands, the other meets it.
    expect(puts.slice(0, 2).map((request) => request.serverStatus).sort()).toEqual([200, 412]);
    expect(puts[2]!.serverStatus).toBe(200);
    expect(conflicts).toEqual([]);
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 2 });
  });

  /** Sums concurrent increments of a counter, as the sample bot's `mergeConcurrentChanges` does for bot_data.totalCount. */
  const sumCounters = ({ base, ours, theirs }: EntryConflict): Counter => ({
    count: (theirs as Counter).count + (ours as Counter).count - ((base as Counter | undefined)?.count ?? 0),
  });

  it('takes no change made while that PUT was in flight for a conflict with it (a summing merge would count twice)', async () => {
    const key = 'lost-answer-change-in-flight/bot';
    await direct<Counter>(key).updateUserData(7, { count: 5 });
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { merge: sumCounters, onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    let second: Promise<void> | undefined;
    proxy.inject({
      fault: 'lostResponse',
      method: 'PUT',
      during: async () => {
        second = persistence.updateUserData(7, { count: 7 });
        await new Promise((resolve) => setImmediate(resolve)); // its change is recorded once its microtasks ran
      },
    });

    await persistence.updateUserData(7, { count: 6 });
    await second;

    expect(conflicts).toEqual([]);
    expect(persistence.metrics.conflicts).toBe(0);
    expect((await direct<Counter>(key).getUserData()).get(7)).toEqual({ count: 7 });
  });

  it('is recognised as its own even when 16 writes of other instances landed before the re-read', async () => {
    const key = 'lost-answer-pushed-out/bot';
    await direct<Counter>(key).updateUserData(7, { count: 5 });
    const conflicts: unknown[] = [];
    const persistence = throughProxy<Counter>(key, { merge: sumCounters, onConflict: (conflict) => conflicts.push(conflict) });
    await persistence.getUserData();
    const other = direct(key);
    proxy.inject({
      fault: 'lostResponse',
      method: 'PUT',
      during: async () => {
        for (let n = 0; n < 16; n++) await other.updateUserData(100 + n, { n });
      },
    });

    await persistence.updateUserData(7, { count: 6 });

    expect(conflicts).toEqual([]);
    const users = await direct<Counter>(key).getUserData();
    expect(users.get(7)).toEqual({ count: 6 });
    expect(users.size).toBe(17);
  });
});
