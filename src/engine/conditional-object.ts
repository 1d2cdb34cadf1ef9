/**
 * The one engine behind every conditional write of this library: one object, read with its ETag
 * and written with `If-Match` / `If-None-Match: *`. It knows nothing of snapshots or sessions: a
 * codec turns the value into bytes, and a rebase policy decides what to write on top of what is
 * stored (SlateDB's `TransactionalObject` is the model). It owns:
 *
 * - the read with its ETag, the conditional GET (304) and the conditional PUT;
 * - capped exponential backoff with full jitter between attempts;
 * - the write ids stored in the object, by which a writer whose answer was lost (a timeout, the
 *   SDK's own retry of a PUT that had landed) recognises its own write instead of taking it for
 *   another writer's;
 * - the metrics of requests and outcomes;
 * - the final re-read when it gives up, so that the next write does not start from a stale ETag;
 * - the rule that an object it cannot decode is never written again.
 */
import { SnapshotDecodeError, StorageError, WriteConflictError } from '../errors.js';
import { PreconditionLostError, type ChunkedBody, type ObjectStore, type WriteCondition } from '../store/object-store.js';
import type { Environment } from './environment.js';

/** Requests and outcomes, counted per persistence instance (or session store). */
export interface PersistenceMetrics {
  /** GETs sent, conditional ones included. */
  gets: number;
  /** Conditional GETs answered 304 Not Modified. */
  notModified: number;
  /** Conditional PUTs sent (a multipart upload counts once). */
  puts: number;
  /** PUTs that lost their condition (412, 409, or 404 on If-Match) and were retried or given up. */
  preconditionsLost: number;
  /** Entries that this instance and another writer both changed. */
  conflicts: number;
  /** Bytes of the bodies read (GETs answered 200). */
  bytesRead: number;
  /** Bytes of the bodies sent (every PUT, lost ones included). */
  bytesWritten: number;
  /** Writes sent again after a lost condition. */
  retries: number;
  /** The largest body read, in bytes: a snapshot this instance has to hold in memory. */
  largestRead: number;
  /** Writes stored only after more than 70% of `retry.maxAttempts` (`RETRY_BUDGET_WARNING`): writers contend. */
  writesNearRetryLimit: number;
}

export function emptyMetrics(): PersistenceMetrics {
  return {
    gets: 0,
    notModified: 0,
    puts: 0,
    preconditionsLost: 0,
    conflicts: 0,
    bytesRead: 0,
    bytesWritten: 0,
    retries: 0,
    largestRead: 0,
    writesNearRetryLimit: 0,
  };
}

/** The share of `retry.maxAttempts` beyond which a stored write counts as near the retry limit. */
export const RETRY_BUDGET_WARNING = 0.7;

/** How conflicting conditional writes are retried: capped exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Conditional writes tried before giving up with a `WriteConflictError`; default 10. */
  maxAttempts: number;
  /** Upper bound of the first backoff, in milliseconds; default 25. */
  baseDelayMs: number;
  /** Cap of any backoff, in milliseconds; default 1000. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 25, maxDelayMs: 1000 };

/** Backoff before attempt `attempt + 1`: uniform in [0, min(cap, base * 2^(attempt-1))). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/** One write recorded in the object: its id and when it was made (milliseconds since the epoch). */
export type WriteRecord = readonly [id: string, writtenAt: number];

/** How a value is stored. The engine hands the write records to store beside it. */
/** What a codec throws for bytes that are not a value of its own; the engine adds bucket and key (`SnapshotDecodeError`). */
export class UndecodableSnapshot extends Error {
  override readonly name = 'UndecodableSnapshot';
}

export interface ObjectCodec<T> {
  /** The value of an object that does not exist. */
  empty(): T;
  /** Throws `UndecodableSnapshot` for bytes that are not a value of this codec. */
  decode(body: Uint8Array): { value: T; writes: readonly WriteRecord[] };
  encode(value: T, writes: readonly WriteRecord[]): Uint8Array;
  /** The same bytes in chunks, for a store that sends them without joining them (`putChunks`): what reuses the bytes read need not copy them. */
  encodeChunks?(value: T, writes: readonly WriteRecord[]): ChunkedBody;
}

/** The object as last read or written: its value, its ETag (`null`: it does not exist) and its write records. */
export interface Version<T> {
  readonly value: T;
  readonly etag: string | null;
  readonly writes: readonly WriteRecord[];
}

/** What a writer decides, attempt after attempt. `B` is what one write carries, as the policy counts it. */
export interface RebasePolicy<T, B> {
  /** What to write on top of `current`, and what it carries; `undefined` when there is nothing to write. */
  prepare(current: Version<T>): { value: T; carries: B } | undefined;
  /** The write is stored as `version`. */
  stored(carried: B, version: Version<T>): void;
  /** Another writer won: `fresh` is stored now (writes of this engine found in it were reported to `onLanded` first). */
  rebase(fresh: Version<T>): void;
}

export interface ConditionalObjectOptions<T, B> {
  store: ObjectStore;
  key: string;
  codec: ObjectCodec<T>;
  retry: RetryPolicy;
  metrics: PersistenceMetrics;
  environment: Environment;
  /** A write whose answer was lost turned out stored (found by its id in a later read). */
  onLanded?: (carried: B) => void;
  /** Whether a `WriteConflictError` says the changes are kept for the next write (default true). */
  changesKept?: boolean;
  /** An object larger than this many bytes is refused before its body is read (`SnapshotTooLargeError`). */
  maxBytes?: number;
  /** The version to start from, when the caller holds one already (a session value read earlier). */
  initial?: Version<T>;
  /**
   * The ids of this writer's latest writes, shared by the engines of one writer (one per write of a
   * session key), so that its settled ids are dropped from the object; default: this engine's own.
   */
  ownWriteIds?: Set<string>;
}

/**
 * Write ids matter only until their writer knows whether the write landed: other writers' ids are
 * kept 10 minutes, at most 64, so that a busy object holds enough; a writer drops its own ids whose
 * outcome it knows, so that an object one instance writes often (a sharded user) holds few.
 */
const WRITE_IDS_TTL_MS = 10 * 60 * 1000;
const WRITE_IDS_KEPT = 64;
/** How many of its own write ids an engine remembers, to drop them from the object once settled. */
const OWN_WRITE_IDS_REMEMBERED = 256;

export class ConditionalObject<T, B = unknown> {
  readonly key: string;
  private readonly options: ConditionalObjectOptions<T, B>;
  private known: Version<T> | undefined;
  /** Bumped whenever `known` changes, so that a read that raced a write is not taken as newer. */
  private generation = 0;
  private unreadable: SnapshotDecodeError | null = null;
  /** Writes sent but not answered with success, by write id, with what each carried. */
  private readonly unconfirmed = new Map<string, B>();
  /** The ids of this writer's latest writes, oldest first. */
  private readonly ownWriteIds: Set<string>;

  constructor(options: ConditionalObjectOptions<T, B>) {
    this.options = options;
    this.key = options.key;
    this.known = options.initial;
    this.ownWriteIds = options.ownWriteIds ?? new Set();
  }

  /** The version last read or written; `undefined` before the first read. */
  get current(): Version<T> | undefined {
    return this.known;
  }

  /** Throws the decode error for good once the object could not be decoded. */
  throwIfUnreadable(): void {
    if (this.unreadable !== null) throw this.unreadable;
  }

  /** Makes the object unreadable to this engine (an entry found undecodable later than the read). */
  refuse(error: SnapshotDecodeError): void {
    this.unreadable = error;
  }

  /** Reads the object (a GET without condition) and adopts what it finds. */
  async read(): Promise<Version<T>> {
    const version = await this.fetch(undefined);
    if (version === 'not-modified') {
      throw new StorageError('the server answered 304 to an unconditional read', this.location(), { unexpectedAnswer: true });
    }
    this.adopt(version);
    return version;
  }

  /**
   * Revalidates with a conditional GET (If-None-Match the ETag held). Returns the version read
   * when the object changed; `undefined` when it did not, or when a write of this engine landed
   * while the GET was under way (what it holds is then newer than the answer).
   */
  async revalidate(): Promise<Version<T> | undefined> {
    if (this.known === undefined) return this.read();
    const generation = this.generation;
    const version = await this.fetch(this.known.etag ?? undefined);
    if (version === 'not-modified' || generation !== this.generation || version.etag === this.known.etag) return undefined;
    this.adopt(version);
    return version;
  }

  /**
   * Writes what `policy` prepares, conditional on the version held (read first if none is), until a
   * write is stored or there is nothing to write. A lost condition is re-read and handed to the
   * policy to rebase, after a backoff; when the attempts run out, the object is read once more and
   * a `WriteConflictError` thrown.
   */
  async commit(policy: RebasePolicy<T, B>): Promise<void> {
    const { retry, metrics, environment } = this.options;
    const current = this.known ?? (await this.read());
    for (let attempt = 1, base = current; ; attempt++) {
      this.throwIfUnreadable();
      const plan = policy.prepare(base);
      if (plan === undefined) return;
      const writeId = environment.writeId();
      const now = environment.now();
      // This engine's own ids are needed only while it does not know whether their write landed.
      const settled = (id: string) => this.ownWriteIds.has(id) && !this.unconfirmed.has(id);
      const kept = base.writes.filter(([id, writtenAt]) => now - writtenAt < WRITE_IDS_TTL_MS && !settled(id));
      const writes: WriteRecord[] = [...kept.slice(-(WRITE_IDS_KEPT - 1)), [writeId, now]];
      this.rememberOwn(writeId);
      const condition: WriteCondition = base.etag === null ? { ifNoneMatch: '*' } : { ifMatch: base.etag };
      // Until a write is answered, it may have landed (a lost response, the SDK's own retry): its id tells later.
      this.unconfirmed.set(writeId, plan.carries);
      try {
        metrics.puts++;
        const { etag } = await this.put(plan.value, writes, condition);
        if (attempt > 1 && attempt > RETRY_BUDGET_WARNING * retry.maxAttempts) metrics.writesNearRetryLimit++;
        // Stored on top of `base`: no earlier write of ours still in doubt can land after it.
        this.unconfirmed.clear();
        const version = { value: plan.value, etag, writes };
        this.adopt(version);
        policy.stored(plan.carries, version);
        return;
      } catch (error) {
        if (!(error instanceof PreconditionLostError)) throw error;
        metrics.preconditionsLost++;
        if (attempt >= retry.maxAttempts) {
          // Leave with the stored version in hand, so the next write does not start from a known-stale ETag.
          await this.read().then(
            (fresh) => policy.rebase(fresh),
            () => undefined,
          );
          throw new WriteConflictError(attempt, this.location(), { cause: error, changesKept: this.options.changesKept });
        }
      }
      await environment.sleep(backoffDelay(retry, attempt, environment.random));
      metrics.retries++;
      base = await this.read();
      policy.rebase(base);
    }
  }

  /** Encodes and writes `value`: in chunks where both the codec and the store can, so that a large object is not copied whole. */
  private put(value: T, writes: readonly WriteRecord[], condition: WriteCondition): Promise<{ etag: string }> {
    const { store, key, codec, metrics } = this.options;
    if (codec.encodeChunks !== undefined && store.putChunks !== undefined) {
      const body = codec.encodeChunks(value, writes);
      metrics.bytesWritten += body.length;
      return store.putChunks(key, body, condition);
    }
    const body = codec.encode(value, writes);
    metrics.bytesWritten += body.length;
    return store.put(key, body, condition);
  }

  private location() {
    return { bucket: this.options.store.bucket, key: this.key };
  }

  private rememberOwn(writeId: string): void {
    this.ownWriteIds.add(writeId);
    for (const oldest of this.ownWriteIds) {
      if (this.ownWriteIds.size <= OWN_WRITE_IDS_REMEMBERED) break;
      this.ownWriteIds.delete(oldest);
    }
  }

  private adopt(version: Version<T>): void {
    this.known = version;
    this.generation++;
  }

  /** GET (conditional with `ifNoneMatch`), decoded; writes of this engine found in it are reported as landed. */
  private async fetch(ifNoneMatch: string | undefined): Promise<Version<T> | 'not-modified'> {
    this.throwIfUnreadable();
    const { store, key, codec, metrics } = this.options;
    metrics.gets++;
    const { maxBytes } = this.options;
    const result = await store.get(key, { ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }), ...(maxBytes === undefined ? {} : { maxBytes }) });
    if (result.status === 'not-modified') {
      metrics.notModified++;
      return 'not-modified';
    }
    if (result.status === 'absent') return { value: codec.empty(), etag: null, writes: [] };
    metrics.bytesRead += result.body.length;
    metrics.largestRead = Math.max(metrics.largestRead, result.body.length);
    let decoded: { value: T; writes: readonly WriteRecord[] };
    try {
      decoded = codec.decode(result.body);
    } catch (error) {
      if (!(error instanceof UndecodableSnapshot)) throw error;
      this.unreadable = new SnapshotDecodeError(error.message, this.location(), { cause: error });
      throw this.unreadable;
    }
    for (const [writeId] of decoded.writes) {
      if (!this.unconfirmed.has(writeId)) continue;
      const carried = this.unconfirmed.get(writeId) as B;
      this.unconfirmed.delete(writeId);
      this.options.onLanded?.(carried);
    }
    return { ...decoded, etag: result.etag };
  }
}
