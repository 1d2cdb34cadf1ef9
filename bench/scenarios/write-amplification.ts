/**
 * Write amplification: the bytes one update writes as the population grows, in the library's
 * single-file and multi-file layouts and for the peers. One user's data is about 200 bytes; a
 * layout that rewrites a whole snapshot writes the population each time. (The comparison with
 * PicklePersistence times its own writes, interleaved with PTB's: scenarios/pickle-persistence.ts.)
 */
import type { MinioConnection } from '../../infra/minio.js';
import type { LayoutName } from '../../src/index.js';
import type { BenchContext } from '../lib/context.js';
import { peerStorage } from '../lib/peers.js';
import { averageUserBytes } from '../lib/population.js';
import { meteredClient, RequestLog, tally, type RequestTally } from '../lib/s3.js';
import { summarize, timed, type Summary } from '../lib/stats.js';
import { isLibrary, type PeerKind, type PeerSpec } from '../peers/peer.js';
import { LibraryPeer } from '../peers/s3-persistence.js';

export interface WriteAmplificationOptions {
  sizes: readonly number[];
  /** Measured updates per size (after one warm-up update); large snapshots take fewer. */
  updates: (users: number) => number;
  peers: readonly PeerSpec[];
}

export interface WriteAmplificationRow {
  users: number;
  peer: string;
  kind: PeerKind;
  layout?: LayoutName;
  updates: number;
  bytesPerUpdate: number;
  /** Bytes written per byte of the changed user's data. */
  amplification: number;
  latencyMs: Summary;
  requests: RequestTally;
}

export interface WriteAmplificationResult {
  /** The average JSON size of one user's data. */
  entryBytes: number;
  rows: WriteAmplificationRow[];
}

export const WRITE_AMPLIFICATION_DEFAULTS: WriteAmplificationOptions = {
  sizes: [1_000, 10_000, 100_000],
  updates: (users) => (users >= 100_000 ? 5 : 15),
  peers: [
    { kind: 'immediate', layout: 'single-file' },
    { kind: 'immediate', layout: 'multi-file' },
    { kind: 'immediate', layout: 'sharded' },
    { kind: 'naive' },
    { kind: 'per-key' },
  ],
};

export async function writeAmplification(
  context: BenchContext,
  options: WriteAmplificationOptions = WRITE_AMPLIFICATION_DEFAULTS,
): Promise<WriteAmplificationResult> {
  const rows: WriteAmplificationRow[] = [];
  let entryBytes = 0;
  for (const users of options.sizes) {
    const population = context.population(users);
    entryBytes = averageUserBytes(population);
    const updates = options.updates(users);
    // Users spread over the population, the first one for the warm-up.
    const step = Math.floor(users / (updates + 1));
    const touched = Array.from({ length: updates + 1 }, (_, i) => population.users[i * step]![0]);
    for (const { kind, layout } of options.peers) {
      const peer = (await peerStorage(context, kind, { users, scenario: `amplification-${users}`, touched, layout })).instance();
      await peer.load();
      await peer.update(touched[0]!);
      const mark = context.log.mark();
      const latencies: number[] = [];
      for (const id of touched.slice(1)) latencies.push(await timed(() => peer.update(id)));
      const requests = tally(context.log.since(mark), updates);
      rows.push({
        users,
        peer: kind === 'immediate' ? `s3-persistence (${layout ?? 'single-file'})` : peer.name,
        kind,
        ...(isLibrary(kind) ? { layout: layout ?? 'single-file' } : {}),
        updates,
        bytesPerUpdate: requests.bytesUpPerUpdate,
        amplification: Math.round(requests.bytesUpPerUpdate / averageUserBytes(population)),
        latencyMs: summarize(latencies),
        requests,
      });
    }
  }
  return { entryBytes: Math.round(entryBytes), rows };
}

/** What the child process is asked to write (for profiling the write path on its own). */
export interface WriteTask {
  task: 'write';
  connection: MinioConnection;
  bucket: string;
  key: string;
  userIds: number[];
}

/** Runs in the fresh process: loads the snapshot, then updates each user in turn, immediately. */
export async function measureWrites(task: WriteTask): Promise<{ updateMs: number[] }> {
  const client = meteredClient(task.connection, new RequestLog());
  const peer = new LibraryPeer({ client, filepath: `s3://${task.bucket}/${task.key}`, mode: 'immediate' });
  await peer.load();
  const updateMs: number[] = [];
  for (const id of task.userIds) updateMs.push(await timed(() => peer.update(id)));
  client.destroy();
  return { updateMs };
}
