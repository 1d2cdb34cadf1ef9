// The conformance suite every `ObjectStore` must pass, in the manner of unstorage's shared driver
// tests: one function declares the cases, and each store runs it from its own test file. It holds
// the stores the unit tests and the simulation lean on (`MemoryObjectStore`, the simulated S3) to
// what S3 does, with `S3ObjectStore` on MinIO as the reference.
//
// Every case writes under a prefix of its own, so that a store may be shared by all cases.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreconditionLostError, type ObjectStore } from '../../src/store/object-store.js';
import { rejectionOf } from './s3-responses.js';

/** A store for one case, and what to do after it. */
export interface StoreUnderTest {
  store: ObjectStore;
  close?: () => void | Promise<void>;
}

export interface ConformanceOptions {
  /**
   * The most keys one listing request returns, when the store pages: the listing case puts more
   * than that many keys. Undefined for a store that lists in one go.
   */
  listPageSize?: number;
  /** Conditional PUTs racing on one key in the race cases; default 8. */
  racers?: number;
  /**
   * Where the store's server is known to differ from S3, each with the reason. The case is still
   * run, and must fail (`it.fails`): when the server comes to behave as S3, the entry goes.
   */
  deviations?: Partial<Record<Deviation, string>>;
}

/** Cases a real server may be known to fail. */
export type Deviation = 'key-that-is-also-a-folder';

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** Every byte value once, then a run of zeros: nothing may be decoded as text or trimmed. */
const BINARY = Uint8Array.from([...Array.from({ length: 256 }, (_, value) => value), 0, 0, 0]);

let cases = 0;

/**
 * Declares the conformance cases for the store `open` gives (called before each case).
 *
 * @example
 * testObjectStore('MemoryObjectStore', () => ({ store: new MemoryObjectStore() }));
 */
export function testObjectStore(name: string, open: () => StoreUnderTest | Promise<StoreUnderTest>, options: ConformanceOptions = {}): void {
  const racers = options.racers ?? 8;

  describe(`${name} behaves as S3`, () => {
    let opened: StoreUnderTest;
    let store: ObjectStore;
    /** The prefix of this case's keys. */
    let prefix: string;
    const key = (name: string) => `${prefix}${name}`;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      prefix = `conformance-${++cases}-${Math.random().toString(36).slice(2, 8)}/`;
    });
    afterEach(async () => {
      await opened?.close?.();
    });

    async function lost(write: Promise<unknown>): Promise<PreconditionLostError> {
      const error = await rejectionOf(write);
      expect(error).toBeInstanceOf(PreconditionLostError);
      return error as PreconditionLostError;
    }

    it('answers absent to a get of a missing key', async () => {
      expect(await store.get(key('missing'))).toEqual({ status: 'absent' });
    });

    it('creates with If-None-Match: *, and a second create-only put loses with 412, leaving the first', async () => {
      const created = await store.put(key('k'), bytes('first'), { ifNoneMatch: '*' });

      const error = await lost(store.put(key('k'), bytes('second'), { ifNoneMatch: '*' }));

      expect(error).toMatchObject({ key: key('k'), status: 412 });
      expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes('first'), etag: created.etag });
    });

    it('writes with If-Match of the current ETag and returns a new, different ETag', async () => {
      const first = await store.put(key('k'), bytes('v1'), { ifNoneMatch: '*' });

      const second = await store.put(key('k'), bytes('v2'), { ifMatch: first.etag });

      expect(second.etag).not.toBe(first.etag);
      expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes('v2'), etag: second.etag });
    });

    it('refuses If-Match of a stale ETag with 412, leaving the object as it was', async () => {
      const first = await store.put(key('k'), bytes('v1'), { ifNoneMatch: '*' });
      const second = await store.put(key('k'), bytes('v2'), { ifMatch: first.etag });

      const error = await lost(store.put(key('k'), bytes('v3'), { ifMatch: first.etag }));

      expect(error).toMatchObject({ key: key('k'), status: 412 });
      expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes('v2'), etag: second.etag });
    });

    it('refuses If-Match on a missing key with 404 (S3 answers NoSuchKey), creating nothing', async () => {
      const error = await lost(store.put(key('never-written'), bytes('v1'), { ifMatch: '"0123456789abcdef0123456789abcdef"' }));

      expect(error).toMatchObject({ key: key('never-written'), status: 404 });
      expect(await store.get(key('never-written'))).toEqual({ status: 'absent' });
    });

    it('refuses If-Match on a key deleted since it was read with 404', async () => {
      const { etag } = await store.put(key('k'), bytes('v1'), { ifNoneMatch: '*' });
      await store.delete(key('k'));

      const error = await lost(store.put(key('k'), bytes('v2'), { ifMatch: etag }));

      expect(error.status).toBe(404);
      expect(await store.get(key('k'))).toEqual({ status: 'absent' });
    });

    it('answers a conditional get: not-modified for the current ETag, the body and ETag for an old one', async () => {
      const first = await store.put(key('k'), bytes('v1'), { ifNoneMatch: '*' });
      expect(await store.get(key('k'), { ifNoneMatch: first.etag })).toEqual({ status: 'not-modified' });

      const second = await store.put(key('k'), bytes('v2'), { ifMatch: first.etag });

      expect(await store.get(key('k'), { ifNoneMatch: first.etag })).toEqual({ status: 'found', body: bytes('v2'), etag: second.etag });
      expect(await store.get(key('k'), { ifNoneMatch: second.etag })).toEqual({ status: 'not-modified' });
    });

    it('answers a conditional get of a missing key with absent', async () => {
      expect(await store.get(key('missing'), { ifNoneMatch: '"0123456789abcdef0123456789abcdef"' })).toEqual({ status: 'absent' });
    });

    it('reads its writes at once (strong read-after-write), with the ETag the put returned', async () => {
      let etag = (await store.put(key('k'), bytes('v0'), { ifNoneMatch: '*' })).etag;
      for (let version = 1; version <= 5; version++) {
        etag = (await store.put(key('k'), bytes(`v${version}`), { ifMatch: etag })).etag;

        expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes(`v${version}`), etag });
      }
    });

    it.each([
      ['every byte value', BINARY],
      ['an empty body', new Uint8Array()],
    ])('returns %s byte for byte', async (_label, body) => {
      const { etag } = await store.put(key('k'), body, { ifNoneMatch: '*' });

      const read = await store.get(key('k'));

      expect(read).toEqual({ status: 'found', body, etag });
      if (read.status === 'found') expect(read.body).toBeInstanceOf(Uint8Array);
    });

    it('keeps what it stored apart from the caller’s buffers', async () => {
      const body = bytes('v1');
      await store.put(key('k'), body, { ifNoneMatch: '*' });
      body.fill(0);
      const read = await store.get(key('k'));
      if (read.status === 'found') read.body.fill(0);

      expect(await store.get(key('k'))).toMatchObject({ status: 'found', body: bytes('v1') });
    });

    it('deletes: the key reads absent and can be created again; deleting a missing key does not throw', async () => {
      await store.put(key('k'), bytes('v1'), { ifNoneMatch: '*' });

      await store.delete(key('k'));
      await store.delete(key('k'));
      await store.delete(key('never-written'));

      expect(await store.get(key('k'))).toEqual({ status: 'absent' });
      const created = await store.put(key('k'), bytes('v2'), { ifNoneMatch: '*' });
      expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes('v2'), etag: created.etag });
    });

    /** `it`, or `it.fails` with the reason in the name when the store declares the deviation. */
    const itUnless = (deviation: Deviation, title: string, test: () => Promise<void>) => {
      const reason = options.deviations?.[deviation];
      if (reason === undefined) it(title, test);
      else it.fails(`${title} [known deviation: ${reason}]`, test);
    };

    const pageSize = options.listPageSize;
    const listed = pageSize === undefined ? 5 : pageSize + 5;
    it(`lists the keys of the prefix only, sorted${pageSize === undefined ? '' : `, across pages of ${pageSize} (${listed} keys)`}`, async () => {
      // Written in reverse order; the neighbours outside differ from the prefix in its last characters.
      const inside = Array.from({ length: listed }, (_, index) => key(`list/${String(index).padStart(5, '0')}`));
      const outside = [key('lisu/0'), key('lis/0'), key('list0'), key('lista/0')];
      const writes = [...[...inside].reverse().map((k) => [k, `in ${k}`]), ...outside.map((k) => [k, `out ${k}`])];
      // A few at a time: enough for a page of a real server in seconds, not so many as to be refused.
      for (let start = 0; start < writes.length; start += 32) {
        await Promise.all(writes.slice(start, start + 32).map(([k, text]) => store.put(k!, bytes(text!), { ifNoneMatch: '*' })));
      }

      const keys: string[] = [];
      for await (const listedKey of store.list(key('list/'))) keys.push(listedKey);

      expect(keys).toEqual([...inside].sort());
      expect(keys).toHaveLength(listed);
    });

    itUnless('key-that-is-also-a-folder', 'lists the keys under a prefix while an object is named like that prefix without its slash', async () => {
      // S3 keys are flat: `a/b` and `a/b/c` are two unrelated objects.
      await store.put(key('a/b/c'), bytes('child'), { ifNoneMatch: '*' });
      await store.put(key('a/b'), bytes('parent'), { ifNoneMatch: '*' });

      const keys: string[] = [];
      for await (const listedKey of store.list(key('a/b/'))) keys.push(listedKey);

      expect(keys).toEqual([key('a/b/c')]);
      expect(await store.get(key('a/b/c'))).toMatchObject({ status: 'found', body: bytes('child') });
    });

    it('lists nothing under a prefix with no keys', async () => {
      await store.put(key('other'), bytes('x'), { ifNoneMatch: '*' });

      const keys: string[] = [];
      for await (const listedKey of store.list(key('none/'))) keys.push(listedKey);

      expect(keys).toEqual([]);
    });

    it.each([
      ['If-Match of the same ETag', 'ifMatch'],
      ['If-None-Match: * on a missing key', 'ifNoneMatch'],
    ] as const)(`lets exactly one of ${racers} racing conditional puts win (%s); the others lose with 412 or 409`, async (_label, kind) => {
      let condition: { ifMatch: string } | { ifNoneMatch: '*' } = { ifNoneMatch: '*' };
      if (kind === 'ifMatch') condition = { ifMatch: (await store.put(key('k'), bytes('base'), { ifNoneMatch: '*' })).etag };

      const outcomes = await Promise.allSettled(
        Array.from({ length: racers }, (_, racer) => store.put(key('k'), bytes(`racer ${racer}`), condition)),
      );

      const winners = outcomes.flatMap((outcome, racer) => (outcome.status === 'fulfilled' ? [{ racer, etag: outcome.value.etag }] : []));
      const losers = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      for (const loser of losers) {
        expect(loser).toBeInstanceOf(PreconditionLostError);
        expect([409, 412]).toContain((loser as PreconditionLostError).status);
      }
      const [winner] = winners;
      expect(await store.get(key('k'))).toEqual({ status: 'found', body: bytes(`racer ${winner!.racer}`), etag: winner!.etag });
    });
  });
}
