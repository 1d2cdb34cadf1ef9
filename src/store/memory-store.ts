/**
 * {@link ObjectStore} in memory, with S3's conditional semantics. For tests and for bots that
 * want the persistence contract without storage; nothing survives the process.
 */
import { SnapshotTooLargeError } from '../errors.js';
import { joinChunks, PreconditionLostError, type ChunkedBody, type ObjectStore, type ReadOptions, type ReadResult, type WriteCondition } from './object-store.js';

export class MemoryObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly objects = new Map<string, { body: Uint8Array; etag: string }>();
  private writes = 0;

  constructor(bucket = 'memory') {
    this.bucket = bucket;
  }

  async get(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const object = this.objects.get(key);
    if (object === undefined) return { status: 'absent' };
    if (options.ifNoneMatch === object.etag) return { status: 'not-modified' };
    if (options.maxBytes !== undefined && object.body.length > options.maxBytes) {
      throw new SnapshotTooLargeError(object.body.length, options.maxBytes, { bucket: this.bucket, key });
    }
    return { status: 'found', body: new Uint8Array(object.body), etag: object.etag };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    yield* keys;
  }

  putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    return this.put(key, joinChunks(body), condition);
  }

  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    const current = this.objects.get(key);
    if ('ifMatch' in condition) {
      if (current === undefined) throw new PreconditionLostError(key, 404);
      if (current.etag !== condition.ifMatch) throw new PreconditionLostError(key, 412);
    } else if (current !== undefined) {
      throw new PreconditionLostError(key, 412);
    }
    const etag = `"${++this.writes}"`;
    this.objects.set(key, { body: new Uint8Array(body), etag });
    return { etag };
  }
}
