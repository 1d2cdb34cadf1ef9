/**
 * Steady state: a warm instance handles one update after another, with no other writer. Counts the
 * S3 requests each update costs and times it, for the library's three ways of writing and for the
 * peers. The library's target: one conditional GET per refresh and one PUT per flush, nothing else.
 */
import type { BenchContext } from '../lib/context.js';
import { peerStorage } from '../lib/peers.js';
import { tally, type RequestTally } from '../lib/s3.js';
import { summarize, timed, type Summary } from '../lib/stats.js';
import type { LayoutName } from '../../src/index.js';
import type { PeerKind, PeerSpec } from '../peers/peer.js';
import { LibraryPeer } from '../peers/s3-persistence.js';

export interface SteadyStateOptions {
  users: number;
  updates: number;
  /** Updates before measuring (connections, JIT). */
  warmup: number;
  peers: readonly PeerSpec[];
}

export interface SteadyStatePeer {
  peer: string;
  kind: PeerKind;
  layout?: LayoutName;
  latencyMs: Summary;
  requests: RequestTally;
  /** For the library: at most one conditional GET per object refreshed, one PUT per object changed. */
  expected?: { conditionalGets: number; puts: number };
}

export interface SteadyStateResult extends Omit<SteadyStateOptions, 'peers'> {
  peers: SteadyStatePeer[];
}

export const STEADY_STATE_DEFAULTS: SteadyStateOptions = {
  users: 10_000,
  updates: 40,
  warmup: 5,
  peers: [
    { kind: 'immediate' },
    { kind: 'onFlush' },
    { kind: 'runtime' },
    { kind: 'runtime', layout: 'sharded' },
    { kind: 'naive' },
    { kind: 'per-key' },
  ],
};

export async function steadyState(context: BenchContext, options: SteadyStateOptions = STEADY_STATE_DEFAULTS): Promise<SteadyStateResult> {
  const { users, updates, warmup } = options;
  // Each update is for another user, as in a bot's traffic.
  const touched = context.population(users).users.slice(0, updates + warmup).map(([id]) => id);
  const peers: SteadyStatePeer[] = [];
  for (const { kind, layout } of options.peers) {
    const peer = (await peerStorage(context, kind, { users, scenario: 'steady', touched, layout })).instance();
    await peer.load();
    for (const id of touched.slice(0, warmup)) await peer.update(id);
    const mark = context.log.mark();
    const latencies: number[] = [];
    for (const id of touched.slice(warmup)) latencies.push(await timed(() => peer.update(id)));
    peers.push({
      peer: peer.name,
      kind,
      ...(layout ? { layout } : {}),
      latencyMs: summarize(latencies),
      requests: tally(context.log.since(mark), updates),
      ...(peer instanceof LibraryPeer ? { expected: peer.expectedRequests() } : {}),
    });
  }
  return { users, updates, warmup, peers };
}
