// The two S3 clients against the real MinIO, side by side: the AWS SDK store and the fetch store
// (aws4fetch's SigV4) must give the same answer to every request, so the persistence on either
// behaves the same. Then S3Persistence on the fetch store alone: two instances merging their writes.
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AccessDeniedError, BucketNotFoundError } from '../../src/errors.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import { FetchObjectStore } from '../../src/store/fetch-store.js';
import { PreconditionLostError, type ObjectStore } from '../../src/store/object-store.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { rejectionOf } from '../support/s3-responses.js';

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

describe.each([
  { name: 'FetchObjectStore', open: fetchStore },
  { name: 'S3ObjectStore', open: sdkStore },
])('$name on MinIO', ({ open }) => {
  let bucket: string;
  let store: ObjectStore;
  beforeAll(async () => {
    bucket = await freshBucket('fetch-store');
    store = open(bucket);
  });

  it('reads a missing key as absent, creates it once, and refuses a second create with a lost condition (412)', async () => {
    expect(await store.get('created')).toEqual({ status: 'absent' });

    const { etag } = await store.put('created', bytes('v1'), { ifNoneMatch: '*' });
    const again = await rejectionOf(store.put('created', bytes('v2'), { ifNoneMatch: '*' }));

    expect(again).toBeInstanceOf(PreconditionLostError);
    expect(again).toMatchObject({ status: 412 });
    expect(await store.get('created')).toEqual({ status: 'found', body: bytes('v1'), etag });
  });

  it('revalidates with If-None-Match: 304 for the current ETag, the new body after a change', async () => {
    const { etag: first } = await store.put('revalidated', bytes('v1'), { ifNoneMatch: '*' });
    expect(await store.get('revalidated', { ifNoneMatch: first })).toEqual({ status: 'not-modified' });

    const { etag: second } = await store.put('revalidated', bytes('v2'), { ifMatch: first });

    expect(second).not.toBe(first);
    expect(await store.get('revalidated', { ifNoneMatch: first })).toEqual({ status: 'found', body: bytes('v2'), etag: second });
  });

  it('loses an If-Match write to a stale ETag (412) and to a deleted object (404)', async () => {
    const { etag: stale } = await store.put('swapped', bytes('v1'), { ifNoneMatch: '*' });
    await store.put('swapped', bytes('v2'), { ifMatch: stale });

    expect(await rejectionOf(store.put('swapped', bytes('v3'), { ifMatch: stale }))).toMatchObject({ status: 412 });

    const { etag: current } = (await store.get('swapped')) as { etag: string };
    await store.delete('swapped');
    const deleted = await rejectionOf(store.put('swapped', bytes('v4'), { ifMatch: current }));
    expect(deleted).toBeInstanceOf(PreconditionLostError);
    expect(deleted).toMatchObject({ status: 404 });
  });

  it('round-trips keys with spaces, unicode and reserved characters, and lists them by prefix in order', async () => {
    const keys = ['odd/a b', 'odd/ü+&=?#%', 'odd/x<y>'];
    for (const key of keys) await store.put(key, bytes(key), { ifNoneMatch: '*' });
    await store.put('other', bytes('-'), { ifNoneMatch: '*' });

    for (const key of keys) expect(await store.get(key)).toMatchObject({ status: 'found', body: bytes(key) });
    expect(await listAll(store, 'odd/')).toEqual([...keys].sort());
  });

  it('deletes a key, and a missing one without error', async () => {
    await store.put('deleted', bytes('v1'), { ifNoneMatch: '*' });

    await store.delete('deleted');
    await store.delete('deleted');

    expect(await store.get('deleted')).toEqual({ status: 'absent' });
  });

  it('names a missing bucket with BucketNotFoundError on read, write and list', async () => {
    const missing = open(`missing-${bucket}`);

    const attempts = [() => missing.get('k'), () => missing.put('k', bytes('v'), { ifNoneMatch: '*' }), () => listAll(missing, '')];
    for (const attempt of attempts) {
      const error = await rejectionOf(attempt());
      expect(error).toBeInstanceOf(BucketNotFoundError);
      expect(error).toMatchObject({ bucket: `missing-${bucket}` });
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
