/**
 * The snapshot codec, in three parts: the envelope and its versions (`envelope.ts`), the value <->
 * CBOR tag mapping (`value-tags.ts`), and lazy entries with the CBOR header scanner
 * (`lazy-entries.ts`). This module is what the rest of the library imports.
 */
export {
  decodeSnapshot,
  decodeSnapshotLazily,
  encodeSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  snapshotVersion,
} from './envelope.js';
export type { SnapshotFields } from './entries.js';
export { decodeEntriesFresh, EncodedEntry, storedValue, type EntryEncodings } from './lazy-entries.js';
export { UndecodableSnapshot } from './value-tags.js';
