/**
 * The object-store interface the persistence needs: conditional get and conditional put of one
 * key. S3 implements it (`S3ObjectStore`); so does an in-memory store for tests.
 */

import { PersistenceError } from '../errors.js';

/** The result of a (conditional) read. */
export type ReadResult =
  | { readonly status: 'found'; readonly body: Uint8Array; readonly etag: string }
  | { readonly status: 'not-modified' }
  | { readonly status: 'absent' };

/** How to read an object. */
export interface ReadOptions {
  ifNoneMatch?: string;
  maxBytes?: number;
}

/**
 * A body in pieces, sent one after another: a snapshot written from views of the bytes it was read
 * from plus the few it encodes anew, so that a large snapshot is not copied whole to be written.
 */
export interface ChunkedBody {
  /** The body's size in bytes: the sum of the chunks' lengths. */
  readonly length: number;
  readonly chunks: readonly Uint8Array[];
}

/** The body as one array (a copy of its chunks, or its only chunk), for a store that sends it whole. */
export function joinChunks(body: ChunkedBody): Uint8Array {
  if (body.chunks.length === 1) return body.chunks[0]!;
  const joined = new Uint8Array(body.length);
  let at = 0;
  for (const chunk of body.chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

/** The condition of a write: the ETag the object must still have, or that it must not exist. */
export type WriteCondition = { readonly ifMatch: string } | { readonly ifNoneMatch: '*' };

export interface ObjectStore {
  /** The bucket, for messages. */
  readonly bucket: string;
  /**
   * Reads `key`; with `ifNoneMatch`, answers `not-modified` when the ETag is still that one. With
   * `maxBytes`, an object larger than that is refused with `SnapshotTooLargeError` before its body
   * is read (where the store can tell its size first).
   */
  get(key: string, options?: ReadOptions): Promise<ReadResult>;
  /**
   * Writes `key` only when `condition` holds, and returns the new ETag. Throws
   * {@link PreconditionLostError} when another writer changed (or deleted, or created) the object.
   */
  put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }>;
  /**
   * {@link put} of a body in pieces, where the store can send them without joining them first
   * (optional: without it, the persistence writes one joined array through `put`).
   */
  putChunks?(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }>;
  /** The keys that start with `prefix`, in lexicographic order (S3's ListObjectsV2). */
  list(prefix: string): AsyncIterable<string>;
  /** Deletes `key` (no error when it does not exist). */
  delete(key: string): Promise<void>;
}

/** The condition of a write did not hold: another writer won. The caller re-reads and retries. */
export class PreconditionLostError extends PersistenceError {
  override readonly name = 'PreconditionLostError';
  override readonly key: string;
  /** 412, 409 (`ConditionalRequestConflict`) or 404 (an `If-Match` of a key that is gone). */
  readonly status: number;

  constructor(key: string, status: number) {
    super('PRECONDITION_LOST', `the conditional write of ${key} lost (HTTP ${status}): another writer changed the object first`);
    this.key = key;
    this.status = status;
  }
}
