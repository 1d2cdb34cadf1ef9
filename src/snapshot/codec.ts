/**
 * The snapshot codec, in four parts: the envelope and its versions (`envelope.ts`), the value <->
 * CBOR tag mapping (`value-tags.ts`), lazy entries (`lazy-entries.ts`), and the one-pass decoder
 * that reads what this format writes straight into values (`direct-decode.ts`), leaving anything
 * else to cbor-x and the walk. This module is what the rest of the library imports.
 */
export {
  decodeSnapshot,
  decodeSnapshotLazily,
  encodeSnapshot,
  encodeSnapshotChunks,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  snapshotVersion,
} from './envelope.js';
export type { SnapshotFields } from './entries.js';
export { decodeEntriesFresh, EncodedEntry, LazySection, storedValue, type EntryEncodings } from './lazy-entries.js';
export { NOT_READ } from './direct-decode.js';
export { UndecodableSnapshot } from './value-tags.js';
