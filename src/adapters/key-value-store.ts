/**
 * `S3KeyValueStore`: one object per key under a prefix, every write conditional on the ETag of
 * the version it was based on. The shared machinery of the session adapters (grammY's
 * `StorageAdapter`, Telegraf's session store), built on the public `ObjectStore` interface.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ConditionalObject, DEFAULT_RETRY, type ConditionalObjectOptions, emptyMetrics, type PersistenceMetrics, type RetryPolicy, type Version as EngineVersion } from '../engine/conditional-object.js';
import { environmentWith, type Environment } from '../engine/environment.js';
import { InvalidOptionsError, SerializationError } from '../errors.js';
import { parseFilepath } from '../snapshot/layout.js';
import { copyIn, copyOut, deepEqual } from '../snapshot/values.js';
import type { ObjectStore } from '../store/object-store.js';
import { clientFromEnvironment, S3ObjectStore } from '../store/s3-store.js';
import { VALUE_OBJECT_CODEC, type StoredValue } from './value-object.js';

/** A write that met a value another writer stored after this store last saw the key. */
export interface ValueConflict<T> {
  /** The key, e.g. the session key `"42"` or `"42:42"`. */
  key: string;
  /** The value the write was based on; `undefined` when there was none (or it was never read). */
  base: T | undefined;
  /** The value being written; `undefined` for a delete. */
  ours: T | undefined;
  /** The value another writer stored meanwhile; `undefined` when it deleted the key. */
  theirs: T | undefined;
}

/**
 * Decides a conflict: returns the value to store (`undefined` deletes the key). Without one, the
 * write being made is the later one and wins; either way the conflict is counted and reported.
 *
 * @example
 * // counters add up instead of the later write winning
 * merge: ({ base, ours, theirs }) => ({ count: (theirs?.count ?? 0) + (ours?.count ?? 0) - (base?.count ?? 0) })
 */
export type ValueMerge<T> = (conflict: ValueConflict<T>) => T | undefined;

/** Told of every conflict, with the value that was kept (`undefined`: the key was deleted). */
export type ValueConflictHook<T> = (conflict: ValueConflict<T> & { resolution: T | undefined }) => void;

export interface S3KeyValueStoreOptions<T> {
  /** `s3://bucket/some/prefix`, or `some/prefix` together with `bucket`; key `k` is the object `<prefix>/k`. */
  prefix: string;
  bucket?: string;
  /** Default: built from the environment (`AWS_REGION`; `S3_ENDPOINT` selects that endpoint, path-style). */
  client?: S3Client;
  /** Another object store in place of S3 (for example `MemoryObjectStore` in tests). */
  store?: ObjectStore;
  /** Decides a conflict instead of "the later write wins". */
  merge?: ValueMerge<T>;
  /** Told of every conflict. */
  onConflict?: ValueConflictHook<T>;
  /** Backoff of conflicting writes; the defaults of `S3Persistence`. */
  retry?: Partial<RetryPolicy>;
  /** How many keys' last ETag and value are remembered, for 304 answers and conditions; default 1000. */
  cacheSize?: number;
  /** The clock, randomness and waiting of writes, replaced by deterministic tests; default: the real ones. */
  environment?: Partial<Environment>;
}

/** A stored value (`undefined`: no value, the key is absent or deleted). */
type Stored = StoredValue;

/** One version of one key: its ETag (`null`: no object), what it holds (`value`), and its write records. */
type Version = EngineVersion<Stored>;

/** The version of a key this store has not seen: taken as absent, so that a first write is create-only. */
const UNSEEN: Version = { value: undefined, etag: null, writes: [] };

/**
 * What a write is based on: the version last read or written, and what the written object held
 * then. The two differ after a merge stored more than the object held; the object's next write is
 * merged again from there, so that nothing is counted twice or lost.
 */
interface Basis {
  readonly version: Version;
  readonly held: Stored;
}

function parsePrefix(prefix: string, bucket: string | undefined): { bucket: string; path: string } {
  try {
    return parseFilepath(typeof prefix === 'string' ? prefix.replace(/\/+$/, '') : prefix, bucket);
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw new InvalidOptionsError(error.message.replace(/^filepath/, 'prefix'));
    throw error;
  }
}

/**
 * The object key of `key`: URI-encoded (so that a key is one path segment; `:` stays readable),
 * and dot-only keys escaped, as S3-compatible servers refuse `.` and `..` segments.
 */
export function objectKeyOf(path: string, key: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new SerializationError(`key ${JSON.stringify(key)}`, 'a key must be a non-empty string');
  }
  const segment = /^\.+$/.test(key) ? key.replaceAll('.', '%2E') : encodeURIComponent(key).replaceAll('%3A', ':');
  return `${path}/${segment}`;
}

/** The key an object of the prefix holds, or undefined for an object that is not one. */
export function keyOfObject(path: string, objectKey: string): string | undefined {
  if (!objectKey.startsWith(`${path}/`)) return undefined;
  const segment = objectKey.slice(path.length + 1);
  if (segment === '' || segment.includes('/')) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function sameStored(a: Stored, b: Stored): boolean {
  if (a === undefined || b === undefined) return a === b;
  return deepEqual(a.value, b.value);
}

/** A copy of a stored value for a hook. */
function exported<T>(stored: Stored): T | undefined {
  return stored === undefined ? undefined : (copyOut(stored.value, undefined) as T);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * Values by key, one object each under a prefix, CBOR-encoded like the snapshots. Reads remember
 * the ETag; every write is conditional on the version it was based on (`If-Match`, or
 * `If-None-Match: *` for a new key), so a write never replaces a value it has not seen without
 * noticing.
 *
 * The version a write is based on is the read that returned the very object being written (so
 * two updates of one process, each holding its own read, are told apart), or else the latest
 * version this store read or wrote for the key, or else none. A value equal to its basis writes
 * nothing. When the condition is lost, the store re-reads the key: if another writer changed it,
 * that is a conflict, counted in `metrics.conflicts` and reported to `onConflict`, and `merge`
 * decides, or else this write wins; then it retries with capped exponential backoff and jitter.
 * When the retries run out it throws a `WriteConflictError` and nothing is written. An object
 * written again after a merge stored more than it held (Telegraf shares one session object among
 * concurrent updates) is merged again from what it held, so that `merge` sees each change once.
 *
 * A delete writes a tombstone with the same condition (MinIO ignores If-Match on DeleteObject);
 * the keys listed by {@link S3KeyValueStore.keys} leave tombstones out.
 *
 * @example
 * const sessions = new S3KeyValueStore<{ count: number }>({ prefix: 's3://my-bot-state/sessions' });
 * const session = (await sessions.get('42')) ?? { count: 0 };
 * session.count++;
 * await sessions.set('42', session); // If-Match: the ETag that get() saw
 */
export class S3KeyValueStore<T = unknown> {
  readonly bucket: string;
  /** The prefix's path in the bucket, without the trailing slash. */
  readonly path: string;
  /** Requests sent and conflicts met by this store. */
  readonly metrics: PersistenceMetrics = emptyMetrics();
  private readonly store: ObjectStore;
  private readonly environment: Environment;
  /** The ids of this store's latest writes, shared by the engines of its writes. */
  private readonly ownWriteIds = new Set<string>();
  private readonly retry: RetryPolicy;
  private readonly cacheSize: number;
  private readonly merge: ValueMerge<T> | undefined;
  private readonly onConflict: ValueConflictHook<T> | undefined;
  /** The latest version read or written of each key, least recently used first. */
  private readonly versions = new Map<string, Version>();
  /** The version each object returned by `get` (or written by `set`) is based on. */
  private readonly basisOf = new WeakMap<object, { key: string; basis: Basis }>();
  /** The writes of each key, one at a time. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(options: S3KeyValueStoreOptions<T>) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options are required, e.g. { prefix: "s3://my-bucket/sessions" }');
    }
    const { bucket, path } = parsePrefix(options.prefix, options.bucket);
    this.bucket = bucket;
    this.path = path;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1) {
      throw new InvalidOptionsError('retry.maxAttempts must be a positive integer');
    }
    this.cacheSize = options.cacheSize ?? 1000;
    if (!Number.isInteger(this.cacheSize) || this.cacheSize < 0) {
      throw new InvalidOptionsError('cacheSize must be a non-negative integer');
    }
    if (options.store !== undefined && options.store.bucket !== bucket) {
      throw new InvalidOptionsError(`the store is for bucket "${options.store.bucket}" but prefix names bucket "${bucket}"`);
    }
    this.store = options.store ?? new S3ObjectStore({ client: options.client ?? clientFromEnvironment(), bucket });
    this.merge = options.merge;
    this.onConflict = options.onConflict;
    this.environment = environmentWith(options.environment);
  }

  /**
   * The value of `key`, or `undefined`. Revalidates with a conditional GET when the key was seen
   * before (a 304 costs no body). Returns a fresh copy each time.
   */
  async get(key: string): Promise<T | undefined> {
    const version = await this.read(key);
    if (version.value === undefined) return undefined;
    const value = copyOut(version.value.value, undefined) as T;
    if (isObject(value)) this.basisOf.set(value, { key, basis: { version, held: version.value } });
    return value;
  }

  /** Whether `key` holds a value. */
  async has(key: string): Promise<boolean> {
    return (await this.read(key)).value !== undefined;
  }

  /**
   * Stores `value` under `key`, conditional on the version it is based on (see the class). Durable
   * when the promise resolves. `undefined` deletes the key. Throws a `SerializationError` for a
   * value that cannot be stored, before any request.
   */
  async set(key: string, value: T | undefined): Promise<void> {
    objectKeyOf(this.path, key); // refuses a key that cannot be one, before anything else
    const ours: Stored = value === undefined ? undefined : { value: copyIn(value, this.label(key), undefined) };
    return this.exclusive(key, () => {
      // Looked up once the writes before it are done: one of them may have been this very object's.
      const token = isObject(value) ? this.basisOf.get(value) : undefined;
      const latest = this.versions.get(key);
      return this.write(key, value, ours, token?.key === key ? token.basis : latest && { version: latest, held: latest.value });
    });
  }

  /** Deletes `key` (a conditional tombstone; see the class). */
  delete(key: string): Promise<void> {
    return this.set(key, undefined);
  }

  /** The keys that hold a value: a listing of the prefix, then one GET per key to leave tombstones out. */
  async *keys(): AsyncIterable<string> {
    for await (const [key] of this.entries()) yield key;
  }

  /** The values of all keys (see {@link S3KeyValueStore.keys}). */
  async *values(): AsyncIterable<T> {
    for await (const [, value] of this.entries()) yield value;
  }

  /** The keys with their values (see {@link S3KeyValueStore.keys}). */
  async *entries(): AsyncIterable<[key: string, value: T]> {
    for await (const objectKey of this.store.list(`${this.path}/`)) {
      const key = keyOfObject(this.path, objectKey);
      if (key === undefined) continue;
      const value = await this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  private async write(key: string, value: T | undefined, ours: Stored, basis: Basis | undefined): Promise<void> {
    const requested = ours;
    if (basis !== undefined) {
      if (sameStored(basis.held, ours)) return; // unchanged since read (or since its last write)
      // The object was merged into a version holding more than it does: merge its changes since then again.
      if (!sameStored(basis.held, basis.version.value) && this.merge !== undefined) {
        ours = this.decide(key, basis.held, ours, basis.version.value);
        if (sameStored(basis.version.value, ours)) return;
      }
    }
    let base = basis?.version ?? UNSEEN;
    let landed = false;
    let result: Version | undefined;
    const engine = this.engine(key, base, { ownWriteIds: this.ownWriteIds, changesKept: false, onLanded: () => (landed = true) });
    await engine.commit({
      prepare: () => (result === undefined ? { value: ours, carries: undefined } : undefined),
      stored: (_, version) => (result = version),
      rebase: (theirs) => {
        this.remember(key, theirs);
        if (landed) result = theirs; // ours landed, its answer was lost
        else if (!sameStored(theirs.value, base.value)) {
          ours = this.resolve(key, base.value, ours, theirs.value);
          if (sameStored(theirs.value, ours)) result = theirs; // stored already: nothing to write
        }
        base = theirs;
      },
    });
    if (result === undefined) return;
    this.remember(key, result);
    // The written object is based on what is stored now, holding what it held when it was written.
    if (isObject(value)) this.basisOf.set(value, { key, basis: { version: result, held: requested } });
  }

  /** A conflict: counted, reported, and decided by `merge`, or else `ours` (the later write) wins. */
  private resolve(key: string, base: Stored, ours: Stored, theirs: Stored): Stored {
    this.metrics.conflicts++;
    const kept = this.merge === undefined ? ours : this.decide(key, base, ours, theirs);
    this.onConflict?.({ key, base: exported<T>(base), ours: exported<T>(ours), theirs: exported<T>(theirs), resolution: exported<T>(kept) });
    return kept;
  }

  /** What `merge` makes of a three-way difference. */
  private decide(key: string, base: Stored, ours: Stored, theirs: Stored): Stored {
    const decided = this.merge?.({ key, base: exported<T>(base), ours: exported<T>(ours), theirs: exported<T>(theirs) });
    return decided === undefined ? undefined : { value: copyIn(decided, this.label(key), undefined) };
  }

  /** The engine for one read or write of `key`, starting from `initial` (a version this store holds). */
  private engine(
    key: string,
    initial: Version | undefined,
    options: Pick<ConditionalObjectOptions<Stored, undefined>, 'ownWriteIds' | 'changesKept' | 'onLanded'> = {},
  ): ConditionalObject<Stored, undefined> {
    const { store, retry, metrics, environment } = this;
    return new ConditionalObject({ store, key: objectKeyOf(this.path, key), codec: VALUE_OBJECT_CODEC, retry, metrics, environment, initial, ...options });
  }

  /** Reads `key`, conditional on the version remembered, and remembers what it finds. */
  private async read(key: string): Promise<Version> {
    const known = this.versions.get(key);
    const engine = this.engine(key, known?.etag == null ? undefined : known);
    const version = known?.etag == null ? await engine.read() : ((await engine.revalidate()) ?? known);
    this.remember(key, version);
    return version;
  }

  /** How a key's value is named in messages, e.g. `sessions["42"]`. */
  private label(key: string): string {
    return `${this.path}[${JSON.stringify(key)}]`;
  }

  private remember(key: string, version: Version): void {
    this.versions.delete(key);
    if (this.cacheSize === 0) return;
    this.versions.set(key, version);
    if (this.versions.size > this.cacheSize) {
      const [oldest] = this.versions.keys();
      if (oldest !== undefined) this.versions.delete(oldest);
    }
  }

  private exclusive(key: string, work: () => Promise<void>): Promise<void> {
    const run = (this.writing.get(key) ?? Promise.resolve()).then(work, work);
    const settled = run.catch(() => undefined);
    this.writing.set(key, settled);
    void settled.then(() => {
      if (this.writing.get(key) === settled) this.writing.delete(key);
    });
    return run;
  }

}
