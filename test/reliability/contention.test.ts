// Contention: many processes (cold starts of the bundled library, as concurrent Lambda instances)
// update one snapshot at once, each update after the other in each process, mixing entries of their
// own with entries every process changes. A recording proxy in front of MinIO counts the requests
// from the outside, SDK retries included.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3Persistence } from '../../src/index.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { deriveSeed } from '../support/seed.js';
import { startChild, type Child } from './child-process.js';
import { s3Client, s3Environment } from './clients.js';
import type { ContenderResult } from './fixtures/contender.js';
import { PROFILE, report, seedFor } from './profile.js';
import { decodability } from './stored-objects.js';
import { lostAcknowledged, storedStamps, sumTallies, unexplainedShared } from './workload.js';

let bucket: TestBucket;
let proxy: RecordingProxy;
beforeAll(async () => {
  bucket = await openBucket('contention');
  proxy = await startRecordingProxy(inject('minio').endpoint);
});
afterAll(async () => {
  await proxy?.close();
  bucket?.destroy();
});

describe('processes updating one snapshot at once', () => {
  const { processes: PROCESSES, updatesPerProcess: UPDATES } = PROFILE.contention;
  /** One update in four goes to an entry every process changes: user 0 or bot_data.shared. */
  const SHARED_SHARE = 0.25;

  it(`${PROCESSES} processes x ${UPDATES} updates: no entry of its own is lost, every same-entry conflict reaches the hook, every give-up is written by a later flush`, async () => {
    const seed = seedFor('contention', import.meta.url);
    const path = 'contention/bot';
    const { contender } = inject('reliabilityFixtures');
    // The library's default retry policy (10 attempts, 25 ms base, 1 s cap), on purpose: its give-ups
    // under this load are figures to report, and each is checked to be written by a later flush.
    const children: Child[] = Array.from({ length: PROCESSES }, (_, writer) =>
      startChild(contender, {
        ...s3Environment(proxy.endpoint),
        FILEPATH: `s3://${bucket.name}/${path}`,
        WRITER: String(writer),
        UPDATES: String(UPDATES),
        SEED: String(deriveSeed(seed, writer)),
        OWN_ENTRIES: '8',
        SHARED_SHARE: String(SHARED_SHARE),
      }),
    );
    try {
      await Promise.all(children.map((child) => child.line((line) => line === 'ready'))); // all loaded the same (empty) state
      const loadRequests = proxy.take().length;
      const started = performance.now();
      for (const child of children) child.write('go\n');
      const results = await Promise.all(
        children.map(async (child) => JSON.parse((await child.line((line) => line.startsWith('result '))).slice(7)) as ContenderResult),
      );
      const elapsedMs = performance.now() - started;
      const exits = await Promise.all(children.map((child) => child.exited));
      const requests = proxy.take();

      const stored = await storedStamps(new S3Persistence({ filepath: `s3://${bucket.name}/${path}`, client: s3Client() }));
      const writes = results.flatMap((result) => result.writes);
      const acknowledged = writes.filter((write) => write.acknowledged);
      const given = writes.filter((write) => !write.acknowledged);
      const ownWrites = writes.filter((write) => !write.shared);
      const ownEntries = new Set(ownWrites.map((write) => write.entry));
      const lostOwn = lostAcknowledged(stored, ownWrites); // acknowledged or given up: after the final flush, every one is stored
      const lostEntries = new Set(lostOwn.map((write) => write.entry));
      const { undecodable } = await decodability(bucket, path);
      const metrics = results.map((result) => result.metrics);
      const sum = (pick: (m: ContenderResult['metrics']) => number) => metrics.reduce((total, m) => total + pick(m), 0);
      const updates = writes.length;
      const figures = {
        updates,
        acknowledged: acknowledged.length,
        ownEntries: ownEntries.size,
        ownEntriesLost: lostEntries.size,
        sharedEntriesUnexplained: unexplainedShared(stored, writes).length,
        undecodable: undecodable.length,
        sameEntryConflicts: sum((m) => m.conflicts),
        conflictsDelivered: results.reduce((total, result) => total + result.conflictsDelivered, 0),
        preconditionsLost: sum((m) => m.preconditionsLost),
        errorsSurfaced: sumTallies(results.map((result) => result.errors)),
        givenUpUpdatesWrittenLater: given.filter((write) => write.shared || !lostEntries.has(write.entry)).length,
        finalFlushes: results.reduce((total, result) => total + result.flushes, 0),
        finalFlushErrors: sumTallies(results.map((result) => result.flushErrors)),
        updatesPerSecond: Math.round((updates / elapsedMs) * 1000),
        elapsedMs: Math.round(elapsedMs),
        putsPerUpdate: +(sum((m) => m.puts) / updates).toFixed(2),
        getsPerUpdate: +(sum((m) => m.gets) / updates).toFixed(2),
        wire: {
          coldLoadRequests: loadRequests,
          puts: requests.filter((request) => request.method === 'PUT').length,
          gets: requests.filter((request) => request.method === 'GET').length,
          putsPerUpdate: +(requests.filter((request) => request.method === 'PUT').length / updates).toFixed(2),
          getsPerUpdate: +(requests.filter((request) => request.method === 'GET').length / updates).toFixed(2),
          statuses: requests.reduce<Record<string, number>>((count, { status }) => ((count[status] = (count[status] ?? 0) + 1), count), {}),
        },
      };
      report('contention', figures);

      expect(exits.map((exit) => exit.code), exits.map((exit) => exit.stderr).join('\n')).toEqual(children.map(() => 0));
      expect(updates).toBe(PROCESSES * UPDATES);
      expect(lostOwn, 'own entries whose last update is not stored').toEqual([]);
      expect(figures.sharedEntriesUnexplained).toBe(0);
      expect(figures.undecodable).toBe(0);
      expect(figures.conflictsDelivered).toBe(figures.sameEntryConflicts);
      expect(figures.sameEntryConflicts).toBeGreaterThan(0); // the shared entries did collide
      expect(Object.keys(figures.errorsSurfaced).filter((kind) => kind !== 'WriteConflictError')).toEqual([]);
    } finally {
      for (const child of children) child.kill();
    }
  });
});
