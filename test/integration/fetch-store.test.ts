// The fetch store (its SigV4 on fetch) against the real MinIO: the conformance suite every
// store passes, then what it shares with the AWS SDK store side by side (odd keys, a missing bucket),
// refused credentials, and S3Persistence on it: two instances merging their writes.
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AccessDeniedError, BucketNotFoundError, SnapshotTooLargeError } from '../../src/errors.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import { FetchObjectStore } from '../../src/store/fetch-store.js';
import { joinChunks, PreconditionLostError, type ChunkedBody, type ObjectStore } from '../../src/store/object-store.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { testObjectStore } from '../support/object-store-conformance.js';
import { rejectionOf } from '../support/s3-responses.js';

/** ListObjectsV2 returns at most 1000 keys a request. */
const S3_LIST_PAGE_SIZE = 1000;
let conformanceBucket: string | undefined;

const clients: S3Client[] = [];
afterAll(() => clients.forEach((client) => client.destroy()));

function fetchStore(bucket: string, secretAccessKey = inject('minio').secretAccessKey): FetchObjectStore {
  const { endpoint, region, accessKeyId } = inject('minio');
  return new FetchObjectStore({ bucket, endpoint, region, accessKeyId, secretAccessKey });
}

function sdkStore(bucket: string): S3ObjectStore {
  const client = minioClient();
  clients.push(client);
  return new S3ObjectStore({ client, bucket });
}

const bytes = (text: string) => new TextEncoder().encode(text);

async function listAll(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

// The conformance suite every store passes (S3ObjectStore on MinIO is its reference), now through fetch.
testObjectStore(
  'FetchObjectStore on MinIO',
  async () => ({ store: fetchStore((conformanceBucket ??= await freshBucket('fetch-conformance'))) }),
  {
    listPageSize: S3_LIST_PAGE_SIZE,
    deviations: { 'key-that-is-also-a-folder': 'MinIO hides a/b/* from listings while an object a/b exists' },
  },
);

describe.each([
  { name: 'FetchObjectStore', open: fetchStore },
  { name: 'S3ObjectStore', open: sdkStore },
])('$name on MinIO, beside the other S3 client', ({ open }) => {
  it('refuses a snapshot above maxSnapshotBytes from the GET\'s Content-Length, with SnapshotTooLargeError, and writes nothing over it', async () => {
    const bucket = await freshBucket('snapshot-too-large');
    const filepath = `s3://${bucket}/bot`;
    const writer = new S3Persistence({ filepath, store: open(bucket) });
    for (let id = 1; id <= 20; id++) await writer.updateUserData(id, { text: 'x'.repeat(100) });
    const before = await open(bucket).get('bot');
    if (before.status !== 'found') throw new Error('the snapshot was not stored');

    const reader = new S3Persistence({ filepath, store: open(bucket), maxSnapshotBytes: before.body.length - 1 });
    const error = await rejectionOf(reader.getUserData());
    expect(error).toBeInstanceOf(SnapshotTooLargeError);
    expect(error).toMatchObject({ size: before.body.length, limit: before.body.length - 1, bucket, key: 'bot' });
    await expect(reader.updateUserData(1, {})).rejects.toThrow(SnapshotTooLargeError);
    expect(await open(bucket).get('bot', { ifNoneMatch: before.etag })).toEqual({ status: 'not-modified' });
  });

  it('round-trips keys with spaces, unicode and reserved characters, and lists them by prefix in order', async () => {
    const store = open(await freshBucket('fetch-store-keys'));
    const keys = ['odd/a b', 'odd/ü+&=?#%', 'odd/x<y>'];
    for (const key of keys) await store.put(key, bytes(key), { ifNoneMatch: '*' });
    await store.put('other', bytes('-'), { ifNoneMatch: '*' });

    for (const key of keys) expect(await store.get(key)).toMatchObject({ status: 'found', body: bytes(key) });
    expect(await listAll(store, 'odd/')).toEqual([...keys].sort());
  });

  it('names a missing bucket and the endpoint with BucketNotFoundError on read, write and list', async () => {
    const missing = open(`missing-${Date.now().toString(36)}`);

    const attempts = [() => missing.get('k'), () => missing.put('k', bytes('v'), { ifNoneMatch: '*' }), () => listAll(missing, '')];
    for (const attempt of attempts) {
      const error = await rejectionOf(attempt());
      expect(error).toBeInstanceOf(BucketNotFoundError);
      expect(error).toMatchObject({ bucket: missing.bucket, endpoint: inject('minio').endpoint });
    }
  });
});

describe('FetchObjectStore with a wrong secret', () => {
  it('is an AccessDeniedError saying the credentials were refused, naming bucket and key', async () => {
    const bucket = await freshBucket('fetch-store-credentials');

    const error = await rejectionOf(fetchStore(bucket, 'not-the-secret').get('bot/state'));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ status: 403, s3Code: 'SignatureDoesNotMatch', bucket, key: 'bot/state' });
  });
});

describe('S3Persistence on the fetch store', () => {
  it('merges the writes of two instances per entry, and a third reads both', async () => {
    const bucket = await freshBucket('fetch-persistence');
    const filepath = `s3://${bucket}/bot/state`;
    const one = new S3Persistence({ filepath, store: fetchStore(bucket) });
    const two = new S3Persistence({ filepath, store: fetchStore(bucket) });
    await one.getUserData();
    await two.getUserData();

    await one.updateUserData(1, { name: 'Ada' });
    await two.updateUserData(2, { name: 'Bob' }); // its If-Match is stale: it re-reads and merges

    const third = new S3Persistence({ filepath, store: fetchStore(bucket) });
    expect(await third.getUserData()).toEqual(new Map([[1, { name: 'Ada' }], [2, { name: 'Bob' }]]));
    expect(two.metrics.preconditionsLost).toBe(1);
  });
});

describe.each([
  { name: 'FetchObjectStore (one streamed PUT)', open: fetchStore },
  // From 5 MiB a multipart upload, its parts read from the chunks.
  { name: 'S3ObjectStore (multipart)', open: (bucket: string) => new S3ObjectStore({ client: clients[clients.push(minioClient()) - 1]!, bucket, multipartThreshold: 5 * 2 ** 20 }) },
])('$name: a body in chunks', ({ open }) => {
  it('is stored as the chunks joined, under its condition, and the chunks stay whole', async () => {
    const store = open(await freshBucket('chunked-put'));
    const source = new Uint8Array(randomBytes(6 * 2 ** 20));
    const body: ChunkedBody = { length: source.length + 3, chunks: [source.subarray(0, 100), Uint8Array.of(1, 2, 3), source.subarray(100)] };

    const { etag } = await store.putChunks!('bot', body, { ifNoneMatch: '*' });
    const read = await store.get('bot');
    expect(read.status === 'found' && Buffer.from(read.body).equals(joinChunks(body))).toBe(true);
    expect(source.length).toBe(6 * 2 ** 20);

    await expect(store.putChunks!('bot', body, { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionLostError);
    const second: ChunkedBody = { length: 2 * 2 ** 20, chunks: [source.subarray(0, 2 ** 20), source.subarray(2 ** 20, 2 * 2 ** 20)] };
    await store.putChunks!('bot', second, { ifMatch: etag });
    const again = await store.get('bot');
    expect(again.status === 'found' && Buffer.from(again.body).equals(source.subarray(0, 2 * 2 ** 20))).toBe(true);
  });
});
