/**
 * Burst: one warm instance receives many updates at once (a long-running bot, or a framework that
 * handles updates concurrently). With group commit, changes made while a PUT is in flight share the
 * next PUT. The library's target: at most 0.2 PUTs per update.
 */
import type { BenchContext } from '../lib/context.js';
import { peerStorage } from '../lib/peers.js';
import { tally, type RequestTally } from '../lib/s3.js';
import { summarize, timed, type Summary } from '../lib/stats.js';
import type { LayoutName } from '../../src/index.js';
import type { PeerKind, PeerSpec } from '../peers/peer.js';

export interface BurstOptions {
  users: number;
  /** Updates at once, each for another user. */
  concurrent: number;
  rounds: number;
  peers: readonly PeerSpec[];
}

export interface BurstPeer {
  peer: string;
  kind: PeerKind;
  layout?: LayoutName;
  /** Objects stored (PutObject, or a completed multipart upload) per update, over all rounds. */
  putsPerUpdate: number;
  requests: RequestTally;
  /** Time until every update of a round was durable. */
  roundMs: Summary;
}

export interface BurstResult extends Omit<BurstOptions, 'peers'> {
  peers: BurstPeer[];
}

export const BURST_DEFAULTS: BurstOptions = {
  users: 10_000,
  concurrent: 50,
  rounds: 5,
  peers: [{ kind: 'immediate' }, { kind: 'onFlush' }, { kind: 'immediate', layout: 'sharded' }, { kind: 'naive' }, { kind: 'per-key' }],
};

/** The requests that store an object: a PutObject, or the completion of a multipart upload. */
const WRITES = new Set(['PutObject', 'CompleteMultipartUpload']);

export async function burst(context: BenchContext, options: BurstOptions = BURST_DEFAULTS): Promise<BurstResult> {
  const { users, concurrent, rounds } = options;
  const ids = context.population(users).users.map(([id]) => id);
  const touched = ids.slice(0, concurrent * rounds + 1);
  const peers: BurstPeer[] = [];
  for (const { kind, layout } of options.peers) {
    const peer = (await peerStorage(context, kind, { users, scenario: 'burst', touched, layout })).instance();
    await peer.load();
    await peer.update(touched[0]!); // warm: connections open, snapshot ETag known
    const mark = context.log.mark();
    const durations: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const batch = touched.slice(1 + round * concurrent, 1 + (round + 1) * concurrent);
      durations.push(await timed(() => Promise.all(batch.map((id) => peer.update(id)))));
    }
    const records = context.log.since(mark);
    const puts = records.filter((record) => WRITES.has(record.command)).length;
    peers.push({
      peer: peer.name,
      kind,
      ...(layout ? { layout } : {}),
      putsPerUpdate: Math.round((puts / (concurrent * rounds)) * 1000) / 1000,
      requests: tally(records, concurrent * rounds),
      roundMs: summarize(durations),
    });
  }
  return { users, concurrent, rounds, peers };
}
