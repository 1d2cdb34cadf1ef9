/**
 * Instances writing at once, as the contention scenarios run them: writer i handles
 * `updatesPerInstance` updates of its own users in turn, all writers together; afterwards the
 * counters in storage tell how many acknowledged updates were lost.
 */
import type { Peer } from '../peers/peer.js';
import type { RequestLog, RequestRecord } from './s3.js';
import { now } from './stats.js';

export interface WritersRun {
  updates: number;
  /** Updates that threw (their changes may still be stored by `settle`). */
  failedUpdates: number;
  wallMs: number;
  /** The requests of the run itself (not of `settle`). */
  records: RequestRecord[];
  /** Increments that storage does not hold after every writer settled. */
  lostUpdates: number;
}

export async function runWriters(writers: readonly Peer[], own: readonly (readonly number[])[], updatesPerInstance: number, log: RequestLog): Promise<WritersRun> {
  const touched = own.flat();
  const before = await writers[0]!.storedCounts(touched);
  const mark = log.mark();
  let failedUpdates = 0;
  const started = now();
  await Promise.all(
    writers.map(async (writer, i) => {
      for (let n = 0; n < updatesPerInstance; n++) await writer.update(own[i]![n % own[i]!.length]!).catch(() => failedUpdates++);
    }),
  );
  const wallMs = now() - started;
  const records = log.since(mark);
  await Promise.all(writers.map((writer) => writer.settle()));
  const after = await writers[0]!.storedCounts(touched);
  const expected = new Map<number, number>();
  for (const ids of own) {
    for (let n = 0; n < updatesPerInstance; n++) expected.set(ids[n % ids.length]!, (expected.get(ids[n % ids.length]!) ?? 0) + 1);
  }
  let lostUpdates = 0;
  for (const id of touched) lostUpdates += Math.max(0, before.get(id)! + (expected.get(id) ?? 0) - after.get(id)!);
  return { updates: own.length * updatesPerInstance, failedUpdates, wallMs, records, lostUpdates };
}
