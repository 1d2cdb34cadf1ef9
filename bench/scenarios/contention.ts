/**
 * Contention: several instances (separate clients, as separate Lambda containers) write different
 * users of one bot at the same time. Every update adds one to a user's counter; afterwards the
 * stored counters show how many updates survived. The library's target: no update lost, beside the
 * naive peer's count in the same run.
 */
import type { BenchContext } from '../lib/context.js';
import { peerStorage } from '../lib/peers.js';
import { tally, type RequestTally } from '../lib/s3.js';
import { runWriters } from '../lib/writers.js';
import type { LayoutName } from '../../src/index.js';
import type { PeerKind, PeerSpec } from '../peers/peer.js';
import { LibraryPeer } from '../peers/s3-persistence.js';

export interface ContentionOptions {
  users: number;
  instances: number;
  /** Each instance's own users; it updates them in turn. */
  usersPerInstance: number;
  updatesPerInstance: number;
  peers: readonly PeerSpec[];
}

export interface ContentionPeer {
  peer: string;
  kind: PeerKind;
  layout?: LayoutName;
  updates: number;
  /** Updates that threw (for the library: retries ran out; the change stays pending and is flushed afterwards). */
  failedUpdates: number;
  wallMs: number;
  updatesPerSecond: number;
  /** Conditional writes that lost (412/409) per update. */
  lostConditionsPerUpdate: number;
  /** Same-entry conflicts the library reported per update (different users: expected 0). */
  entryConflictsPerUpdate: number;
  /** Updates whose increment is missing from storage at the end. */
  lostUpdates: number;
  requests: RequestTally;
}

export interface ContentionResult extends Omit<ContentionOptions, 'peers'> {
  peers: ContentionPeer[];
}

export const CONTENTION_DEFAULTS: ContentionOptions = {
  users: 1_000,
  instances: 8,
  usersPerInstance: 5,
  updatesPerInstance: 25,
  peers: [{ kind: 'immediate' }, { kind: 'immediate', layout: 'sharded' }, { kind: 'naive' }, { kind: 'per-key' }],
};

export async function contention(context: BenchContext, options: ContentionOptions = CONTENTION_DEFAULTS): Promise<ContentionResult> {
  const { users, instances, usersPerInstance, updatesPerInstance } = options;
  const ids = context.population(users).users.map(([id]) => id);
  const own = Array.from({ length: instances }, (_, i) => ids.slice(i * usersPerInstance, (i + 1) * usersPerInstance));
  const touched = own.flat();
  const peers: ContentionPeer[] = [];
  for (const { kind, layout } of options.peers) {
    const storage = await peerStorage(context, kind, { users, scenario: 'contention', touched, layout });
    const writers = own.map(() => storage.instance());
    await Promise.all(writers.map((writer) => writer.load()));
    const { updates, failedUpdates, wallMs, records: requests, lostUpdates } = await runWriters(writers, own, updatesPerInstance, context.log);
    const entryConflicts = writers.reduce((sum, writer) => sum + (writer instanceof LibraryPeer ? writer.persistence.metrics.conflicts : 0), 0);
    const counted = tally(requests, updates);
    peers.push({
      peer: writers[0]!.name,
      kind,
      ...(layout ? { layout } : {}),
      updates,
      failedUpdates,
      wallMs: Math.round(wallMs),
      updatesPerSecond: Math.round((updates / wallMs) * 1000 * 10) / 10,
      lostConditionsPerUpdate: counted.lostConditionsPerUpdate,
      entryConflictsPerUpdate: Math.round((entryConflicts / updates) * 1000) / 1000,
      lostUpdates,
      requests: counted,
    });
  }
  return { users, instances, usersPerInstance, updatesPerInstance, peers };
}
