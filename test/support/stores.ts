/**
 * Object stores for unit tests: the in-memory store, with the means to hold writes in flight and
 * to act as another writer between two requests.
 */
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
