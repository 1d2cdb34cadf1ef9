import type { LayoutName } from '../../src/index.js';

/**
 * A peer is one way a bot keeps its state: this library, or what a bot author would otherwise use.
 * Every scenario drives peers through this one interface, with the same update on the same data.
 */

export interface Peer {
  /** How the results name it, e.g. `s3-persistence (immediate)`. */
  readonly name: string;
  /** The cold start: what the peer reads before it can handle its first update. */
  load(): Promise<void>;
  /**
   * Handles one update of `userId` as a bot on this peer does: read what it needs, apply
   * `touchUser`, write. The change is durable when the promise resolves.
   */
  update(userId: number): Promise<void>;
  /** Writes whatever a failed update left pending (only the library keeps such changes). */
  settle(): Promise<void>;
  /** The counters storage holds for these users now, read afresh: what survived. */
  storedCounts(userIds: readonly number[]): Promise<Map<number, number>>;
}

/** The peers a scenario can compare: the library's ways of writing, and the others. */
export type PeerKind = 'immediate' | 'onFlush' | 'runtime' | 'naive' | 'per-key';

/** A peer of a scenario: its kind and, for the library, the layout (default single-file). */
export interface PeerSpec {
  kind: PeerKind;
  layout?: LayoutName;
}

export const isLibrary = (kind: PeerKind): boolean => kind !== 'naive' && kind !== 'per-key';
