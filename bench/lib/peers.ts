/**
 * Builds a peer of each kind on its own copy of a population, so that scenarios compare peers on
 * the same data without one peer's writes reaching another.
 */
import { LibraryPeer } from '../peers/s3-persistence.js';
import { NaiveJsonPeer } from '../peers/naive.js';
import { PerKeyJsonPeer } from '../peers/per-key.js';
import type { Peer, PeerKind } from '../peers/peer.js';
import type { LayoutName } from '../../src/index.js';
import type { BenchContext } from './context.js';

/** Where a set of instances of one peer kind keep their state: a private copy of `users` users. */
export interface PeerStorage {
  kind: PeerKind;
  /** A fresh instance (own S3 client, as a separate Lambda container has) on that storage. */
  instance(): Peer;
}

/**
 * Stores a copy of the population of `users` users for `kind` and returns a factory of instances on
 * it. The per-key peer and the library's sharded layout get objects for the users in `touched`
 * only (and the library bot data): a whole population of objects would take a request each, and
 * nothing they do per update reads the objects of other users.
 */
export async function peerStorage(
  context: BenchContext,
  kind: PeerKind,
  options: { users: number; scenario: string; touched: readonly number[]; layout?: LayoutName },
): Promise<PeerStorage> {
  const { users, scenario, touched, layout = 'single-file' } = options;
  const name = `${scenario}-${kind}-${layout}`;
  switch (kind) {
    case 'naive': {
      const key = await context.jsonDocument(users, name);
      return { kind, instance: () => new NaiveJsonPeer(context.client(), context.bucket, key) };
    }
    case 'per-key': {
      const prefix = context.path(name);
      const population = new Map(context.population(users).users);
      const writer = new PerKeyJsonPeer(context.client(), context.bucket, prefix);
      await Promise.all(touched.map((id) => writer.write(id, population.get(id) ?? {})));
      return { kind, instance: () => new PerKeyJsonPeer(context.client(), context.bucket, prefix) };
    }
    default: {
      const path = layout === 'sharded' ? await context.shardedEntries(users, touched, name) : await context.snapshot(users, layout, name);
      return { kind, instance: () => new LibraryPeer({ client: context.client(), filepath: `s3://${context.bucket}/${path}`, mode: kind, layout }) };
    }
  }
}
