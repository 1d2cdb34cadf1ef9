/**
 * Object stores for unit tests: the in-memory store, with the means to hold writes in flight and
 * to act as another writer between two requests.
 */
import { KeyInTheWayError } from '../../src/errors.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import type { ReadResult, WriteCondition } from '../../src/store/object-store.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotFields } from '../../src/snapshot/codec.js';

interface Gate {
  release(): void;
  reached: Promise<void>;
}

/** A memory store that records requests and can hold the next PUT until released. */
export class ControlledStore extends MemoryObjectStore {
  constructor(bucket = 'bucket') {
    super(bucket);
  }

  readonly requests: string[] = [];
  private directWrites = 0;
  private gates: Array<{ opened: Promise<void>; arrive: () => void }> = [];
  /** Runs before a PUT is applied: lets a test play another writer at the worst moment. */
  beforePut: ((key: string) => void) | undefined;

  /** Holds the next PUT before it reaches the store; `reached` resolves when it arrives. */
  holdNextPut(): Gate {
    let release!: () => void;
    let arrive!: () => void;
    const opened = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    this.gates.push({ opened, arrive });
    return { release, reached };
  }

  override async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<ReadResult> {
    this.requests.push(options.ifNoneMatch === undefined ? `GET ${key}` : `GET ${key} if-none-match`);
    return super.get(key, options);
  }

  override async put(key: string, body: Uint8Array, condition: WriteCondition) {
    this.requests.push(`PUT ${key} ${'ifMatch' in condition ? 'if-match' : 'if-none-match'}`);
    const gate = this.gates.shift();
    if (gate !== undefined) {
      gate.arrive();
      await gate.opened;
    }
    this.beforePut?.(key);
    return super.put(key, body, condition);
  }

  /** The decoded snapshot stored at `key`. */
  fields(key: string): SnapshotFields {
    const object = this.objects.get(key);
    if (object === undefined) throw new Error(`no object ${key}`);
    return decodeSnapshot(object.body);
  }

  /** Writes `key` as another writer would, bypassing any instance under test. */
  writeDirectly(key: string, fields: SnapshotFields): void {
    const etag = `"direct-${++this.directWrites}"`;
    this.objects.set(key, { body: encodeSnapshot(fields), etag });
  }

  count(prefix: string): number {
    return this.requests.filter((request) => request.startsWith(prefix)).length;
  }
}

/** The objects of `store` that `key` lies under (`a/b` for `a/b/c`), and the keys under `key`. */
function nesting(objects: ReadonlyMap<string, unknown>, key: string) {
  const keys = [...objects.keys()];
  return { parent: keys.find((other) => key.startsWith(`${other}/`)), child: keys.find((other) => other.startsWith(`${key}/`)) };
}

/**
 * A store that keeps objects as files, as versitygw does: it refuses a key under an object (409
 * ObjectParentIsFile) and an object over keys (409 ExistingObjectIsDirectory).
 */
export class FileLikeStore extends ControlledStore {
  override async put(key: string, body: Uint8Array, condition: WriteCondition) {
    const { parent, child } = nesting(this.objects, key);
    if (parent !== undefined) throw new KeyInTheWayError('ObjectParentIsFile', parent, { bucket: this.bucket, key });
    if (child !== undefined) throw new KeyInTheWayError('ExistingObjectIsDirectory', child, { bucket: this.bucket, key });
    return super.put(key, body, condition);
  }
}

/** A store that holds both but leaves keys under an object out of every listing: no such server is known, the check must still catch it. */
export class HidingStore extends ControlledStore {
  override async *list(prefix: string): AsyncIterable<string> {
    for await (const key of super.list(prefix)) if (nesting(this.objects, key).parent === undefined) yield key;
  }
}

/**
 * A store that lists as MinIO does: while an object `a/b` exists, a listing of `a/b/` (or of any
 * prefix of it) leaves out the keys `a/b/...`; a listing of `a/b/c/` shows them.
 */
export class MinioLikeStore extends ControlledStore {
  override async *list(prefix: string): AsyncIterable<string> {
    for await (const key of super.list(prefix)) {
      const { parent } = nesting(this.objects, key);
      if (parent === undefined || !`${parent}/`.startsWith(prefix)) yield key;
    }
  }
}
