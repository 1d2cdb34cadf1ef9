/**
 * An {@link ObjectStore} wrapper that refuses to write through a server that ignores conditional
 * writes, before the first write is acknowledged. Some S3-compatible servers (s3rver; moto on
 * CompleteMultipartUpload) accept a PUT whose `If-None-Match: *` or `If-Match` does not hold, and
 * then concurrent writers silently erase each other's updates.
 *
 * Before the first `put`, the guard probes the server with the object `<path>.conditional-writes.json`
 * itself: a create-only PUT of an existing object and an `If-Match` PUT with a stale ETag must both
 * be refused (412). The verdict is kept in that object, per endpoint, and in memory: a later cold
 * start pays one GET, sent once the state's first read has its answer. Multipart writes are probed
 * apart, before the first one, on `<path>.conditional-writes.multipart`. Needs only s3:GetObject and
 * s3:PutObject on the prefix: the probe objects are reused, never deleted.
 *
 * @example
 * const store = new ConditionalWriteGuard({
 *   store: new S3ObjectStore({ client, bucket }), endpoint: () => endpointOf(client), path: 'bot/state',
 * });
 */
import { ConditionalWritesIgnoredError, StorageError } from '../errors.js';
import { joinChunks, PreconditionLostError, type ChunkedBody, type ObjectStore, type ReadOptions, type ReadResult, type WriteCondition } from './object-store.js';

export interface ConditionalWriteGuardOptions {
  /** The store whose writes are guarded. */
  store: ObjectStore;
  /** The server's address (see `endpointOf`): named in errors, and the verdict is kept per endpoint. */
  endpoint: string | (() => Promise<string>);
  /** The state's path: the probe objects are `<path>.conditional-writes.json` and `<path>.conditional-writes.multipart`. */
  path: string;
  /** Bodies larger than this go up as multipart uploads (`S3ObjectStore.multipartThreshold`); default: none do. */
  multipartThreshold?: number;
}

/** What a kind of write was verified on: PutObject alone, or CompleteMultipartUpload too. */
type WriteKind = 'put' | 'multipart';

/** The content of the verdict object: when each endpoint passed each probe. */
interface StoredVerdicts {
  $format: typeof VERDICT_FORMAT;
  endpoints: Record<string, Partial<Record<WriteKind, string>>>;
  /** A fresh value in every probe write, so that each gets a new ETag. */
  nonce?: string;
}

const VERDICT_FORMAT = 'telegram-s3-persistence-conditional-writes';
/** Probes that lose to a concurrent writer of the probe object start over, this many times at most. */
const PROBE_ATTEMPTS = 10;

/** A random pause before attempt `attempt` starts over, so that cold starts probing at once spread out. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
}

const VERDICT_SUFFIX = '.conditional-writes.json';
const MULTIPART_PROBE_SUFFIX = '.conditional-writes.multipart';

/** The verdict object's key beside the state at `path`. */
export function verdictKey(path: string): string {
  return `${path}${VERDICT_SUFFIX}`;
}

/** The key on which multipart writes are probed. */
export function multipartProbeKey(path: string): string {
  return `${path}${MULTIPART_PROBE_SUFFIX}`;
}

/** Whether `key` is one of the objects the guard keeps beside a state. */
export function isConditionalWritesKey(key: string): boolean {
  return key.endsWith(VERDICT_SUFFIX) || key.endsWith(MULTIPART_PROBE_SUFFIX);
}

/** A conditional write that must be refused; returns what the server failed when it was not. */
async function mustLose(store: ObjectStore, key: string, body: Uint8Array, condition: WriteCondition): Promise<boolean> {
  try {
    await store.put(key, body, condition);
    return false;
  } catch (error) {
    if (error instanceof PreconditionLostError) return true;
    throw error;
  }
}

/** A probe step that met another writer of the probe object: the probe starts over. */
class ProbeInterrupted extends Error {}

/** A conditional write that must succeed; another prober's write in between interrupts the probe. */
async function mustWin(store: ObjectStore, key: string, body: Uint8Array, condition: WriteCondition): Promise<string> {
  try {
    return (await store.put(key, body, condition)).etag;
  } catch (error) {
    if (error instanceof PreconditionLostError) throw new ProbeInterrupted();
    throw error;
  }
}

function encode(verdicts: StoredVerdicts): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(verdicts)}\n`);
}

/** The verdicts stored in the verdict object as read; none when it is absent, not ours, or torn. */
function verdictsOf(read: ReadResult): StoredVerdicts {
  return read.status === 'found' ? decode(read.body) : { $format: VERDICT_FORMAT, endpoints: {} };
}

function decode(body: Uint8Array): StoredVerdicts {
  try {
    const value = JSON.parse(new TextDecoder().decode(body)) as Partial<StoredVerdicts>;
    if (value.$format === VERDICT_FORMAT && typeof value.endpoints === 'object' && value.endpoints !== null) {
      return { $format: VERDICT_FORMAT, endpoints: value.endpoints };
    }
  } catch {
    // Not ours, or torn: probe again and replace it.
  }
  return { $format: VERDICT_FORMAT, endpoints: {} };
}

export class ConditionalWriteGuard implements ObjectStore {
  readonly bucket: string;
  private readonly store: ObjectStore;
  private readonly endpointSource: string | (() => Promise<string>);
  private readonly verdictKey: string;
  private readonly multipartKey: string;
  private readonly multipartThreshold: number;
  private endpoint: Promise<string> | undefined;
  /** The first read of the verdict object, started once the first `get` has its answer, so that it overlaps the rest of the load. */
  private storedVerdicts: Promise<ReadResult> | undefined;
  private readonly verified = new Map<WriteKind, Promise<void>>();

  constructor(options: ConditionalWriteGuardOptions) {
    this.store = options.store;
    this.bucket = options.store.bucket;
    this.endpointSource = options.endpoint;
    this.verdictKey = verdictKey(options.path);
    this.multipartKey = multipartProbeKey(options.path);
    this.multipartThreshold = options.multipartThreshold ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Reads `key`, and then (answered or failed) starts the read of the verdict object, which the first
   * write needs: after the load's read, not beside it, so that the load has a cold process's
   * connection and code to itself (beside it, its answer came about 6 ms later at 10k users).
   */
  get(key: string, options?: ReadOptions): Promise<ReadResult> {
    const read = this.store.get(key, options);
    // A failed read of the verdict is reported by the first put, which awaits the same read (or reads again).
    const readVerdicts = (): Promise<unknown> => this.readStoredVerdicts().catch(() => undefined);
    read.then(readVerdicts, readVerdicts).catch(() => undefined);
    return read;
  }

  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    await this.verifyWrite(body.length);
    return this.store.put(key, body, condition);
  }

  async putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    await this.verifyWrite(body.length);
    return this.store.putChunks === undefined ? this.store.put(key, joinChunks(body), condition) : this.store.putChunks(key, body, condition);
  }

  /** Resolves once a write of `size` bytes is known to be safe on this server (a multipart upload from the threshold on). */
  private async verifyWrite(size: number): Promise<void> {
    await this.verify('put');
    if (size > this.multipartThreshold) await this.verify('multipart');
  }

  list(prefix: string): AsyncIterable<string> {
    return this.store.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  /** Resolves once `kind` of write is known to be safe on this server; a failed check is forgotten, a refusal kept. */
  private verify(kind: WriteKind): Promise<void> {
    let verdict = this.verified.get(kind);
    if (verdict === undefined) {
      verdict = this.check(kind);
      this.verified.set(kind, verdict);
      verdict.catch((error: unknown) => {
        if (!(error instanceof ConditionalWritesIgnoredError)) this.verified.delete(kind);
      });
    }
    return verdict;
  }

  private endpointName(): Promise<string> {
    const source = this.endpointSource;
    this.endpoint ??= typeof source === 'string' ? Promise.resolve(source) : source();
    return this.endpoint;
  }

  /** The read of the verdict object this instance started first; a failed one is forgotten, to be tried again. */
  private readStoredVerdicts(): Promise<ReadResult> {
    if (this.storedVerdicts === undefined) {
      const read = this.store.get(this.verdictKey);
      this.storedVerdicts = read;
      read.catch(() => {
        if (this.storedVerdicts === read) this.storedVerdicts = undefined;
      });
    }
    return this.storedVerdicts;
  }

  private async check(kind: WriteKind): Promise<void> {
    const endpoint = await this.endpointName();
    // The read of the cold start may be stale by now: a probe that relies on it loses a condition and reads again.
    let read = await this.readStoredVerdicts();
    for (let attempt = 1; ; attempt++) {
      if (verdictsOf(read).endpoints[endpoint]?.[kind] !== undefined) return;
      try {
        if (kind === 'put') await this.probePut(endpoint, read);
        else await this.probeMultipart(endpoint, read);
        return;
      } catch (error) {
        if (!(error instanceof ProbeInterrupted)) throw error;
        if (attempt === PROBE_ATTEMPTS) {
          throw new StorageError(
            `the check of conditional writes on ${endpoint} kept meeting other writers of its probe object; try again`,
            { bucket: this.bucket, key: this.verdictKey },
          );
        }
      }
      await backoff(attempt);
      read = await this.store.get(this.verdictKey);
    }
  }

  /**
   * Probes PutObject on the verdict object itself, and leaves the verdict in it: a create-only PUT
   * of the existing object and an If-Match PUT with a stale ETag must both be refused.
   */
  private async probePut(endpoint: string, read: ReadResult): Promise<void> {
    const key = this.verdictKey;
    const others = { ...verdictsOf(read).endpoints };
    delete others[endpoint];
    const probing = (): Uint8Array => encode({ $format: VERDICT_FORMAT, endpoints: others, nonce: globalThis.crypto.randomUUID() });
    const stale = read.status === 'found' ? read.etag : await mustWin(this.store, key, probing(), { ifNoneMatch: '*' });
    if (!(await mustLose(this.store, key, probing(), { ifNoneMatch: '*' }))) {
      throw this.ignored(endpoint, 'a PUT with If-None-Match: * replaced an existing object instead of answering 412', key);
    }
    const written = probing();
    const etag = await mustWin(this.store, key, written, { ifMatch: stale });
    // `stale` stays stale whoever writes meanwhile (every body is new), so this proof holds under concurrency.
    if (!(await mustLose(this.store, key, probing(), { ifMatch: stale }))) {
      throw this.ignored(endpoint, 'a PUT with If-Match and a stale ETag replaced the object instead of answering 412', key);
    }
    await this.record(endpoint, 'put', { status: 'found', body: written, etag });
  }

  /**
   * Probes CompleteMultipartUpload on its own object with bodies just over the multipart threshold:
   * create-only of an existing object, and If-Match with a stale ETag, must both be refused.
   */
  private async probeMultipart(endpoint: string, read: ReadResult): Promise<void> {
    const key = this.multipartKey;
    const small = () => new TextEncoder().encode(`${globalThis.crypto.randomUUID()}\n`);
    const large = new Uint8Array(this.multipartThreshold + 1);
    const existing = await this.store.get(key);
    let etag = existing.status === 'found' ? existing.etag : await mustWin(this.store, key, small(), { ifNoneMatch: '*' });
    let failed: string | undefined;
    if (!(await mustLose(this.store, key, large, { ifNoneMatch: '*' }))) {
      failed = 'CompleteMultipartUpload with If-None-Match: * replaced an existing object instead of answering 412';
    } else {
      const stale = etag;
      etag = await mustWin(this.store, key, small(), { ifMatch: stale });
      if (!(await mustLose(this.store, key, large, { ifMatch: stale }))) {
        failed = 'CompleteMultipartUpload with If-Match and a stale ETag replaced the object instead of answering 412';
      }
    }
    if (failed !== undefined) {
      // Leave no large probe object for the next check to download; the refusal stands either way.
      const current = await this.store.get(key);
      if (current.status === 'found') await this.store.put(key, small(), { ifMatch: current.etag }).catch(() => undefined);
      throw this.ignored(endpoint, failed, key);
    }
    await this.record(endpoint, 'multipart', read);
  }

  /** Adds a passed probe to the verdict object; another writer's record in between is merged by a re-read. */
  private async record(endpoint: string, kind: WriteKind, read: ReadResult): Promise<void> {
    for (let attempt = 1; attempt <= PROBE_ATTEMPTS; attempt++) {
      const stored = verdictsOf(read);
      if (stored.endpoints[endpoint]?.[kind] !== undefined) return; // another prober recorded it
      const endpoints = { ...stored.endpoints, [endpoint]: { ...stored.endpoints[endpoint], [kind]: new Date().toISOString() } };
      const condition: WriteCondition = read.status === 'found' ? { ifMatch: read.etag } : { ifNoneMatch: '*' };
      try {
        await this.store.put(this.verdictKey, encode({ $format: VERDICT_FORMAT, endpoints }), condition);
        return;
      } catch (error) {
        if (!(error instanceof PreconditionLostError)) throw error;
      }
      await backoff(attempt);
      read = await this.store.get(this.verdictKey);
    }
    // Not recorded: this process knows the verdict, and the next cold start probes again.
  }

  private ignored(endpoint: string, failed: string, key: string): ConditionalWritesIgnoredError {
    return new ConditionalWritesIgnoredError(endpoint, failed, { bucket: this.bucket, key });
  }
}
