// An in-memory S3 with S3's semantics, driven by the scheduler: ETags, If-Match, If-None-Match, 412,
// 409 ConditionalRequestConflict, 404 on If-Match of a missing key, strong read-after-write, and
// paginated listing. Each instance reaches it through a `SimulatedObjectStore`, which plays the
// network and the AWS SDK's own retries (three attempts for 5xx, resets and timeouts; none for 409
// and 412), with faults drawn from the seed.
import { StorageError } from '../../src/errors.js';
import { joinChunks, PreconditionLostError, type ChunkedBody, type ObjectStore, type ReadResult, type WriteCondition } from '../../src/store/object-store.js';
import type { Scheduler } from './scheduler.js';

/** How often each fault strikes one attempt of a request. */
export interface FaultRates {
  /** 503 before the request is applied. */
  unavailable: number;
  /** 500 after the request was applied. */
  errorAfterApply: number;
  /** The connection resets, before or after the request was applied. */
  reset: number;
  /** The response is lost after the request was applied (the client times out). */
  lostResponse: number;
  /** 409 ConditionalRequestConflict for a conditional PUT while another PUT of the key is in flight. */
  conflict: number;
}

export const NO_FAULTS: FaultRates = { unavailable: 0, errorAfterApply: 0, reset: 0, lostResponse: 0, conflict: 0 };

/** What happened to requests, counted over a schedule. */
export interface FaultCounts {
  unavailable: number;
  errorAfterApply: number;
  reset: number;
  lostResponse: number;
  conflict: number;
}

interface StoredObject {
  readonly body: Uint8Array;
  readonly etag: string;
}

/** The server's answer to one attempt, before the network has its say. */
type Answer<T> = { ok: true; value: T } | { ok: false; status: number; code: string };

/** The SDK tries a request this many times when it fails with a 5xx, a reset or a timeout. */
const SDK_ATTEMPTS = 3;
const LIST_PAGE_SIZE = 2;

export class SimulatedS3 {
  readonly objects = new Map<string, StoredObject>();
  readonly faults: FaultCounts = { unavailable: 0, errorAfterApply: 0, reset: 0, lostResponse: 0, conflict: 0 };
  /** Called with every object a PUT stores, so that a checker can decode it at once. */
  onStored: ((key: string, body: Uint8Array) => void) | undefined;
  private etags = 0;
  /** PUTs that reached the server and were not answered yet, per key (for 409). */
  private readonly putsInFlight = new Map<string, number>();

  constructor(
    readonly scheduler: Scheduler,
    readonly rates: FaultRates = NO_FAULTS,
    readonly bucket = 'sim',
  ) {}

  /** The store one instance sees. */
  storeFor(instance: number): SimulatedObjectStore {
    return new SimulatedObjectStore(this, instance);
  }

  getNow(key: string, ifNoneMatch: string | undefined): Answer<ReadResult> {
    const object = this.objects.get(key);
    if (object === undefined) return { ok: false, status: 404, code: 'NoSuchKey' };
    if (ifNoneMatch !== undefined && ifNoneMatch === object.etag) return { ok: true, value: { status: 'not-modified' } };
    return { ok: true, value: { status: 'found', body: new Uint8Array(object.body), etag: object.etag } };
  }

  putNow(key: string, body: Uint8Array, condition: WriteCondition): Answer<{ etag: string }> {
    const current = this.objects.get(key);
    if ('ifMatch' in condition) {
      if (current === undefined) return { ok: false, status: 404, code: 'NoSuchKey' };
      if (current.etag !== condition.ifMatch) return { ok: false, status: 412, code: 'PreconditionFailed' };
    } else if (current !== undefined) {
      return { ok: false, status: 412, code: 'PreconditionFailed' };
    }
    const etag = `"e${++this.etags}"`;
    this.objects.set(key, { body: new Uint8Array(body), etag });
    this.onStored?.(key, body);
    return { ok: true, value: { etag } };
  }

  listNow(prefix: string, startAfter: string | undefined): Answer<{ keys: string[]; truncated: boolean }> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix) && (startAfter === undefined || key > startAfter)).sort();
    return { ok: true, value: { keys: keys.slice(0, LIST_PAGE_SIZE), truncated: keys.length > LIST_PAGE_SIZE } };
  }

  deleteNow(key: string): Answer<void> {
    this.objects.delete(key);
    return { ok: true, value: undefined };
  }

  /**
   * One request as the SDK makes it: up to three attempts, each reaching the server (an event) and
   * its answer coming back (another event), with faults in between.
   */
  async request<T>(instance: number, label: string, apply: () => Answer<T>, put?: { key: string; conditional: boolean }): Promise<Answer<T>> {
    const { scheduler, rates } = this;
    const random = scheduler.random;
    let lastFailure = 'no attempt';
    for (let attempt = 1; attempt <= SDK_ATTEMPTS; attempt++) {
      const outcome = await new Promise<{ answer: Answer<T> | null; failure: string } | 'lost'>((deliver) => {
        // The request reaches the server: a request on the wire lands even if its sender crashed.
        scheduler.schedule(
          `${label} #${attempt} arrives`,
          instance,
          () => {
            let answer: Answer<T> | null;
            let failure = '';
            const inFlight = put === undefined ? 0 : (this.putsInFlight.get(put.key) ?? 0);
            if (random() < rates.unavailable) {
              this.faults.unavailable++;
              answer = null;
              failure = 'HTTP 503 SlowDown';
            } else if (random() < rates.reset / 2) {
              this.faults.reset++;
              answer = null;
              failure = 'ECONNRESET before the server read the request';
            } else if (put?.conditional === true && inFlight > 0 && random() < rates.conflict) {
              this.faults.conflict++;
              answer = { ok: false, status: 409, code: 'ConditionalRequestConflict' };
            } else {
              answer = apply();
              if (random() < rates.errorAfterApply) {
                this.faults.errorAfterApply++;
                answer = null;
                failure = 'HTTP 500 InternalError after applying';
              } else if (random() < rates.reset / 2) {
                this.faults.reset++;
                answer = null;
                failure = 'ECONNRESET after the server applied the request';
              } else if (random() < rates.lostResponse) {
                this.faults.lostResponse++;
                deliver('lost');
                return;
              }
            }
            if (put !== undefined) this.putsInFlight.set(put.key, inFlight + 1);
            // The answer travels back: another event, so that answers overtake each other.
            scheduler.schedule(`${label} #${attempt} answered`, instance, () => {
              if (put !== undefined) this.putsInFlight.set(put.key, (this.putsInFlight.get(put.key) ?? 1) - 1);
              deliver({ answer, failure });
            });
          },
          { diesWithOwner: false },
        );
      });
      if (outcome === 'lost') {
        // The client's timeout fires: a timer of its own.
        await scheduler.sleep(instance, 3000);
        lastFailure = 'TimeoutError: the response never came';
        continue;
      }
      if (outcome.answer !== null) return outcome.answer;
      lastFailure = outcome.failure;
    }
    return { ok: false, status: 0, code: lastFailure };
  }
}

/** What S3ObjectStore gives after the SDK's retries, from the simulated server. */
export class SimulatedObjectStore implements ObjectStore {
  readonly bucket: string;

  constructor(
    private readonly s3: SimulatedS3,
    private readonly instance: number,
  ) {
    this.bucket = s3.bucket;
  }

  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<ReadResult> {
    const answer = await this.s3.request(this.instance, `GET ${key}`, () => this.s3.getNow(key, options.ifNoneMatch));
    if (answer.ok) return answer.value;
    if (answer.status === 404) return { status: 'absent' };
    throw this.failure('read', key, answer);
  }

  /** As S3ObjectStore and FetchObjectStore take a snapshot in chunks: the same PUT of the bytes joined. */
  putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    return this.put(key, joinChunks(body), condition);
  }

  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    const copy = new Uint8Array(body);
    const answer = await this.s3.request(this.instance, `PUT ${key}`, () => this.s3.putNow(key, copy, condition), {
      key,
      conditional: true,
    });
    if (answer.ok) return answer.value;
    if (answer.status === 412 || answer.status === 409) throw new PreconditionLostError(key, answer.status);
    if (answer.status === 404 && 'ifMatch' in condition) throw new PreconditionLostError(key, 404);
    throw this.failure('write', key, answer);
  }

  async *list(prefix: string): AsyncIterable<string> {
    let startAfter: string | undefined;
    for (;;) {
      const from = startAfter;
      const answer = await this.s3.request(this.instance, `LIST ${prefix}`, () => this.s3.listNow(prefix, from));
      if (!answer.ok) throw this.failure('list', prefix, answer);
      yield* answer.value.keys;
      if (!answer.value.truncated) return;
      startAfter = answer.value.keys.at(-1);
    }
  }

  async delete(key: string): Promise<void> {
    const answer = await this.s3.request(this.instance, `DELETE ${key}`, () => this.s3.deleteNow(key));
    if (!answer.ok) throw this.failure('write', key, answer);
  }

  private failure(operation: string, key: string, answer: { status: number; code: string }): StorageError {
    const status = answer.status === 0 ? undefined : answer.status;
    return new StorageError(`${operation} failed (${answer.code})`, { bucket: this.bucket, key }, { status });
  }
}
