// Counting across processes: many processes (cold starts of the bundled library, as concurrent Lambda
// instances) on the sharded layout with `onFlush: true` and a summing merge, each adding to the count
// of one user they all share and to users of their own, flushing every few updates. Every increment a
// resolved flush carried must be in the final count (0 lost), and none may be counted twice.
//
// Two ways of holding the users: read once and counted on the local copy only (the merge must then
// work from what this process saw, as the base), and refreshed before each update as PTB's
// Application does (the copy then holds what the merges made).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3Persistence } from '../../src/index.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { startChild, type Child } from './child-process.js';
import { s3Client, s3Environment } from './clients.js';
import { ownCounterUsers, SHARED_COUNTER_USER, sumTallies, type CounterResult } from './workload.js';
import { PROFILE, report } from './profile.js';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('counters');
});
afterAll(() => bucket?.destroy());

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

describe('processes counting one user at once, sharded, onFlush, with a summing merge', () => {
  const { processes: PROCESSES, updatesPerProcess: UPDATES, flushEvery: FLUSH_EVERY } = PROFILE.counters;

  /** Runs the processes to the end and checks the counts; `refresh`: users refreshed before each update. */
  async function countTogether(refresh: boolean): Promise<void> {
    const path = `counters-${refresh ? 'refreshed' : 'read-once'}/bot`;
    const { counter } = inject('reliabilityFixtures');
    const children: Child[] = Array.from({ length: PROCESSES }, (_, writer) =>
      startChild(counter, {
        ...s3Environment(),
        FILEPATH: `s3://${bucket.name}/${path}`,
        WRITER: String(writer),
        UPDATES: String(UPDATES),
        FLUSH_EVERY: String(FLUSH_EVERY),
        REFRESH: String(refresh),
      }),
    );
    try {
      await Promise.all(children.map((child) => child.line((line) => line === 'ready'))); // all read the same (empty) users
      for (const child of children) child.write('go\n');
      const results = await Promise.all(
        children.map(async (child) => JSON.parse((await child.line((line) => line.startsWith('result '))).slice(7)) as CounterResult),
      );
      const exits = await Promise.all(children.map((child) => child.exited));

      const client = s3Client();
      const stored = await new S3Persistence<{ count?: number }>({ filepath: `s3://${bucket.name}/${path}`, client, layout: 'sharded' }).getUserData();
      client.destroy();
      const countOf = (user: number) => stored.get(user)?.count ?? 0;
      const attempted = sum(results.map((result) => result.attempted[SHARED_COUNTER_USER] ?? 0));
      const acknowledged = sum(results.map((result) => result.acknowledged[SHARED_COUNTER_USER] ?? 0));
      const final = countOf(SHARED_COUNTER_USER);
      // A user of one process only: its count is exactly what that process had acknowledged.
      const ownUsersWrong = results.flatMap((result, writer) =>
        ownCounterUsers(writer)
          .filter((user) => countOf(user) !== (result.acknowledged[user] ?? 0))
          .map((user) => ({ user, stored: countOf(user), acknowledged: result.acknowledged[user] ?? 0 })),
      );
      const figures = {
        processes: PROCESSES,
        updatesPerProcess: UPDATES,
        flushEvery: FLUSH_EVERY,
        sharedAttempted: attempted,
        sharedAcknowledged: acknowledged,
        sharedFinal: final,
        lost: Math.max(0, acknowledged - final),
        appliedTwice: Math.max(0, final - attempted),
        ownUsersWrong: ownUsersWrong.length,
        conflicts: sum(results.map((result) => result.metrics.conflicts)),
        conflictsDelivered: sum(results.map((result) => result.conflictsDelivered)),
        preconditionsLost: sum(results.map((result) => result.metrics.preconditionsLost)),
        puts: sum(results.map((result) => result.metrics.puts)),
        flushes: sum(results.map((result) => result.flushes)),
        flushErrors: sumTallies(results.map((result) => result.flushErrors)),
      };
      report(`counters sharded onFlush, users ${refresh ? 'refreshed' : 'read once'}`, figures);

      expect(exits.map((exit) => exit.code), exits.map((exit) => exit.stderr).join('\n')).toEqual(children.map(() => 0));
      expect(attempted).toBe(PROCESSES * UPDATES);
      expect(acknowledged, 'every increment was carried by a flush that resolved').toBe(attempted);
      expect(figures.lost, `${figures.lost} of ${acknowledged} acknowledged increments lost`).toBe(0);
      expect(figures.appliedTwice, `${figures.appliedTwice} increments applied twice`).toBe(0);
      expect(final).toBe(acknowledged);
      expect(ownUsersWrong).toEqual([]);
      expect(figures.conflictsDelivered).toBe(figures.conflicts);
      expect(figures.conflicts).toBeGreaterThan(0); // the processes did collide on the shared user
    } finally {
      for (const child of children) child.kill();
    }
  }

  const title = (users: string) =>
    `${PROCESSES} processes x ${UPDATES} updates, a flush every ${FLUSH_EVERY}, users ${users}: the shared count is every acknowledged increment, once`;

  // A regression test of issue 11. Before its fix, every process read user 1 as absent and its flush
  // overwrote the count another process had created, with no conflict (defect 1); and after a merge,
  // a process's next flush wrote its own local count over what the merge made (its If-Match was its
  // own ETag), in every layout: 1100 of 1200 acknowledged increments lost, the count ended at 100.
  it(title('read once, counted on the local copy'), () => countTogether(false));

  // Passes before the fix too: the refresh reads each user just before it changes, and brings in what the merges made.
  it(title('refreshed before each update, as PTB’s Application does'), () => countTogether(true));
});
