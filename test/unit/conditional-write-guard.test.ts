/**
 * ConditionalWriteGuard over in-memory stores that honour conditions, and over ones that ignore
 * them as s3rver (every condition) and moto (If-Match on CompleteMultipartUpload) do.
 */
import { describe, expect, it } from 'vitest';
import { ConditionalWritesIgnoredError, InvalidOptionsError, StorageError } from '../../src/errors.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import { ConditionalWriteGuard, multipartProbeKey, verdictKey } from '../../src/store/conditional-write-guard.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import type { ObjectStore, ReadResult, WriteCondition } from '../../src/store/object-store.js';
import { rejectionOf } from '../support/s3-responses.js';

const PATH = 'bot/state';
const ENDPOINT = 'http://127.0.0.1:9000';
// Above the size of the verdict object, as the real threshold (at least 5 MiB) is.
const THRESHOLD = 1024;
const bytes = (text: string) => new TextEncoder().encode(text);
const large = () => new Uint8Array(THRESHOLD + 5).fill(1);

/** What a server ignores: a kind of condition, on every write or only on multipart-sized ones. */
interface Ignores {
  ifNoneMatch?: boolean;
  ifMatch?: boolean;
  /** Only on bodies larger than this (multipart uploads). */
  largerThan?: number;
}

/** A memory store that, like a lax server, writes whatever the condition says when it ignores it. */
class LaxStore extends MemoryObjectStore {
  constructor(private readonly ignores: Ignores) {
    super('bot-state');
  }

  override put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    const kind = 'ifMatch' in condition ? 'ifMatch' : 'ifNoneMatch';
    const sized = this.ignores.largerThan === undefined || body.length > this.ignores.largerThan;
    if (this.ignores[kind] === true && sized) {
      const current = this.objects.get(key);
      return super.put(key, body, current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag });
    }
    return super.put(key, body, condition);
  }
}

/** Records every request a store receives, as `get KEY` and `put KEY`. */
class RecordingStore implements ObjectStore {
  readonly requests: string[] = [];
  constructor(readonly inner: ObjectStore) {}
  get bucket() {
    return this.inner.bucket;
  }
  get(key: string, options?: { ifNoneMatch?: string }): Promise<ReadResult> {
    this.requests.push(`get ${key}`);
    return this.inner.get(key, options);
  }
  put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    this.requests.push(`put ${key}`);
    return this.inner.put(key, body, condition);
  }
  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/** Answers each request after a random few macrotasks, so that concurrent probers interleave. */
class DelayedStore extends RecordingStore {
  private async pause(): Promise<void> {
    for (let turns = Math.floor(Math.random() * 4); turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve));
  }
  override async get(key: string, options?: { ifNoneMatch?: string }): Promise<ReadResult> {
    await this.pause();
    return super.get(key, options);
  }
  override async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    await this.pause();
    return super.put(key, body, condition);
  }
}

function guard(store: ObjectStore, endpoint = ENDPOINT): ConditionalWriteGuard {
  return new ConditionalWriteGuard({ store, endpoint, path: PATH, multipartThreshold: THRESHOLD });
}

function storedVerdicts(store: MemoryObjectStore): Record<string, Record<string, string>> {
  const object = store.objects.get(verdictKey(PATH));
  if (object === undefined) throw new Error('no verdict object');
  return (JSON.parse(new TextDecoder().decode(object.body)) as { endpoints: Record<string, Record<string, string>> }).endpoints;
}

describe('ConditionalWriteGuard on a server that honours conditions', () => {
  it('probes before the first write, writes, and keeps the verdict for its endpoint beside the state', async () => {
    const memory = new MemoryObjectStore('bot-state');

    const { etag } = await guard(memory).put(PATH, bytes('state'), { ifNoneMatch: '*' });

    expect(memory.objects.get(PATH)).toEqual({ body: bytes('state'), etag });
    expect(Object.keys(storedVerdicts(memory))).toEqual([ENDPOINT]);
    expect(storedVerdicts(memory)[ENDPOINT]).toHaveProperty('put');
  });

  it('costs a later cold start one GET of the verdict, and nothing on later writes', async () => {
    const memory = new MemoryObjectStore('bot-state');
    await guard(memory).put(PATH, bytes('first'), { ifNoneMatch: '*' });
    const recording = new RecordingStore(memory);
    const coldStart = guard(recording);

    let { etag } = await coldStart.put(PATH, bytes('second'), { ifMatch: memory.objects.get(PATH)!.etag });
    ({ etag } = await coldStart.put(PATH, bytes('third'), { ifMatch: etag }));

    expect(recording.requests).toEqual([`get ${verdictKey(PATH)}`, `put ${PATH}`, `put ${PATH}`]);
  });

  it('reads the verdict once the state read has its answer (not beside it), and the first put uses that read', async () => {
    const memory = new MemoryObjectStore('bot-state');
    await guard(memory).put(PATH, bytes('first'), { ifNoneMatch: '*' });
    const recording = new RecordingStore(memory);
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // The state's read waits for `answer`; the verdict's goes straight through.
    const held: ObjectStore = {
      bucket: recording.bucket,
      get: async (key, options) => {
        if (key === PATH) await answered;
        return recording.get(key, options);
      },
      put: (key, body, condition) => recording.put(key, body, condition),
      list: (prefix) => recording.list(prefix),
      delete: (key) => recording.delete(key),
    };
    const coldStart = guard(held);

    const reading = coldStart.get(PATH);
    await new Promise((resolve) => setImmediate(resolve));
    expect(recording.requests).toEqual([]);
    answer();
    const read = await reading;
    await coldStart.put(PATH, bytes('second'), { ifMatch: (read as { etag: string }).etag });

    expect(recording.requests).toEqual([`get ${PATH}`, `get ${verdictKey(PATH)}`, `put ${PATH}`]);
  });

  it('reads the verdict after a failed state read too', async () => {
    const memory = new MemoryObjectStore('bot-state');
    await guard(memory).put(PATH, bytes('first'), { ifNoneMatch: '*' });
    const recording = new RecordingStore(memory);
    const failing: ObjectStore = {
      bucket: recording.bucket,
      get: (key, options) => (key === PATH ? Promise.reject(new StorageError('the state read failed', { bucket: 'bot-state', key })) : recording.get(key, options)),
      put: (key, body, condition) => recording.put(key, body, condition),
      list: (prefix) => recording.list(prefix),
      delete: (key) => recording.delete(key),
    };
    const coldStart = guard(failing);

    await expect(coldStart.get(PATH)).rejects.toThrow('the state read failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(recording.requests).toEqual([`get ${verdictKey(PATH)}`]);
    await coldStart.put(PATH, bytes('second'), { ifMatch: memory.objects.get(PATH)!.etag });

    expect(recording.requests).toEqual([`get ${verdictKey(PATH)}`, `put ${PATH}`]);
  });

  it('probes again when the endpoint changes, and keeps both verdicts', async () => {
    const memory = new MemoryObjectStore('bot-state');
    await guard(memory).put(PATH, bytes('first'), { ifNoneMatch: '*' });
    const recording = new RecordingStore(memory);

    await guard(recording, 'https://s3.example.test').put('other', bytes('x'), { ifNoneMatch: '*' });

    expect(recording.requests.filter((request) => request === `put ${verdictKey(PATH)}`).length).toBeGreaterThan(1);
    expect(Object.keys(storedVerdicts(memory)).sort()).toEqual([ENDPOINT, 'https://s3.example.test']);
  });

  it('probes once for writes that arrive together', async () => {
    const alone = new RecordingStore(new MemoryObjectStore('bot-state'));
    await guard(alone).put('k0', bytes('x'), { ifNoneMatch: '*' });
    const together = new RecordingStore(new MemoryObjectStore('bot-state'));
    const guarded = guard(together);

    await Promise.all([0, 1, 2, 3, 4].map((n) => guarded.put(`k${n}`, bytes('x'), { ifNoneMatch: '*' })));

    const probeRequests = (store: RecordingStore) => store.requests.filter((request) => request.includes(verdictKey(PATH)));
    expect(probeRequests(together)).toEqual(probeRequests(alone));
  });

  it('passes eight cold starts that probe at once (each may restart after another wrote the probe object)', async () => {
    const memory = new MemoryObjectStore('bot-state');
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

    await Promise.all(keys.map((key) => guard(new DelayedStore(memory)).put(key, bytes(key), { ifNoneMatch: '*' })));

    expect(keys.filter((key) => memory.objects.has(key))).toEqual(keys);
    expect(storedVerdicts(memory)[ENDPOINT]).toHaveProperty('put');
  });

  it('probes multipart writes before the first one only, and records them too', async () => {
    const memory = new MemoryObjectStore('bot-state');
    const guarded = guard(memory);
    await guarded.put('small', bytes('x'), { ifNoneMatch: '*' });
    expect(memory.objects.has(multipartProbeKey(PATH))).toBe(false);

    await guarded.put('big', large(), { ifNoneMatch: '*' });

    expect(memory.objects.get('big')?.body).toEqual(large());
    expect(storedVerdicts(memory)[ENDPOINT]).toHaveProperty('multipart');
    // The probe object is left small: the large probe writes were refused.
    expect(memory.objects.get(multipartProbeKey(PATH))!.body.length).toBeLessThanOrEqual(THRESHOLD);
    const recording = new RecordingStore(memory);
    await guard(recording).put('big', large(), { ifMatch: memory.objects.get('big')!.etag });
    expect(recording.requests).toEqual([`get ${verdictKey(PATH)}`, 'put big']);
  });

  it('reports a failed read of the verdict, and reads it again on the next write', async () => {
    const memory = new MemoryObjectStore('bot-state');
    const failing = Object.assign(Object.create(memory) as MemoryObjectStore, {
      failures: 2,
      async get(this: { failures: number }, key: string) {
        if (key === verdictKey(PATH) && this.failures-- > 0) throw new StorageError('read failed (HTTP 500)', { key });
        return memory.get(key);
      },
    });
    const guarded = guard(failing);
    await guarded.get(PATH); // starts the read of the verdict: the first failure

    expect(await rejectionOf(guarded.put('k', bytes('x'), { ifNoneMatch: '*' }))).toBeInstanceOf(StorageError);
    expect(memory.objects.has('k')).toBe(false);
    await guarded.put('k', bytes('x'), { ifNoneMatch: '*' });
    expect(memory.objects.has('k')).toBe(true);
  });
});

describe('ConditionalWriteGuard on a server that ignores conditions', () => {
  it.each([
    ['If-None-Match: * (s3rver)', { ifNoneMatch: true, ifMatch: true }, 'If-None-Match: *'],
    ['If-Match alone', { ifMatch: true }, 'If-Match and a stale ETag'],
  ])('refuses the first write, naming the endpoint and what it failed, when the server ignores %s', async (_label, ignores, failed) => {
    const lax = new LaxStore(ignores);

    const error = await rejectionOf(guard(lax).put(PATH, bytes('state'), { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(ConditionalWritesIgnoredError);
    expect(error).toMatchObject({ code: 'CONDITIONAL_WRITES_IGNORED', endpoint: ENDPOINT, bucket: 'bot-state' });
    expect((error as ConditionalWritesIgnoredError).failed).toContain(failed);
    expect((error as Error).message).toContain(`the S3 server at ${ENDPOINT} ignores conditional writes`);
    expect((error as Error).message).toContain("conditionalWrites: 'trust'");
    expect(lax.objects.has(PATH)).toBe(false);
    expect(storedVerdicts(lax)).not.toHaveProperty(ENDPOINT);
  });

  it('keeps refusing without probing again', async () => {
    const recording = new RecordingStore(new LaxStore({ ifNoneMatch: true, ifMatch: true }));
    const guarded = guard(recording);
    await rejectionOf(guarded.put(PATH, bytes('one'), { ifNoneMatch: '*' }));
    const probed = recording.requests.length;

    const error = await rejectionOf(guarded.put(PATH, bytes('two'), { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(ConditionalWritesIgnoredError);
    expect(recording.requests).toHaveLength(probed);
  });

  it('refuses multipart writes when CompleteMultipartUpload ignores If-Match (moto), and still takes small ones', async () => {
    const lax = new LaxStore({ ifMatch: true, largerThan: THRESHOLD });
    const guarded = guard(lax);
    await guarded.put('small', bytes('x'), { ifNoneMatch: '*' });

    const error = await rejectionOf(guarded.put('big', large(), { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(ConditionalWritesIgnoredError);
    expect((error as ConditionalWritesIgnoredError).failed).toContain('CompleteMultipartUpload with If-Match and a stale ETag');
    expect(lax.objects.has('big')).toBe(false);
    expect(lax.objects.get(multipartProbeKey(PATH))!.body.length).toBeLessThanOrEqual(THRESHOLD);
    expect(storedVerdicts(lax)[ENDPOINT]).not.toHaveProperty('multipart');
    await guarded.put('small', bytes('y'), { ifMatch: lax.objects.get('small')!.etag });
    expect(lax.objects.get('small')?.body).toEqual(bytes('y'));
  });

  it('refuses multipart writes when CompleteMultipartUpload ignores If-None-Match', async () => {
    const error = await rejectionOf(guard(new LaxStore({ ifNoneMatch: true, largerThan: THRESHOLD })).put('big', large(), { ifNoneMatch: '*' }));

    expect((error as ConditionalWritesIgnoredError).failed).toContain('CompleteMultipartUpload with If-None-Match: *');
  });
});

describe("S3Persistence's conditionalWrites option", () => {
  it("refuses a value other than 'verify' and 'trust'", () => {
    const options = { filepath: 's3://bot-state/bot/state', conditionalWrites: 'sometimes' as 'trust' };

    expect(() => new S3Persistence(options)).toThrow(InvalidOptionsError);
    expect(() => new S3Persistence(options)).toThrow("conditionalWrites must be 'verify' or 'trust', not \"sometimes\"");
  });

  it('leaves a store given in the options unguarded: no object beside the state', async () => {
    const memory = new MemoryObjectStore('bot-state');

    await new S3Persistence({ filepath: `s3://bot-state/${PATH}`, store: memory }).updateUserData(1, { count: 1 });

    expect([...memory.objects.keys()]).toEqual([PATH]);
  });
});
