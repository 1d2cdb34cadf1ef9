// What a bot author sees when the bucket, the credentials, the stored object or their own data is
// wrong, as MinIO really answers it.
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AccessDeniedError,
  BucketNotFoundError,
  S3Persistence,
  SerializationError,
  SnapshotDecodeError,
  type PersistenceError,
} from '../../src/index.js';
import { minioClient } from '../support/minio.js';
import { openBucket, type TestBucket } from '../support/persistence.js';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('errors');
});
afterAll(() => bucket.destroy());

/** The rejection of `promise`, failing the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('a stored object that is not a snapshot', () => {
  const key = 'corrupt/bot';
  const garbage = new Uint8Array(randomBytes(512));

  beforeAll(async () => {
    await bucket.put(key, garbage);
  });

  it('is a SnapshotDecodeError naming the bucket and the key', async () => {
    const error = await rejectionOf(bucket.open(key).getUserData());

    expect(error).toBeInstanceOf(SnapshotDecodeError);
    expect(error).toMatchObject({ code: 'SNAPSHOT_UNREADABLE', bucket: bucket.name, key });
    expect((error as Error).message).toContain(`s3://${bucket.name}/${key}`);
  });

  it('makes every update of that instance throw, and is never overwritten', async () => {
    const before = await bucket.object(key);
    const persistence = bucket.open(key);
    await expect(persistence.getBotData()).rejects.toBeInstanceOf(SnapshotDecodeError);

    await expect(persistence.updateUserData(1, { a: 1 })).rejects.toBeInstanceOf(SnapshotDecodeError);
    await expect(persistence.updateBotData({ total: 1 })).rejects.toBeInstanceOf(SnapshotDecodeError);
    await expect(persistence.flush()).resolves.toBeUndefined(); // nothing was accepted, so nothing is pending

    const after = await bucket.object(key);
    expect(after.etag).toBe(before.etag);
    expect(after.body).toEqual(garbage);
    expect(persistence.metrics.puts).toBe(0);
    expect(bucket.requestsOf(persistence).map((request) => request.command)).toEqual(['GetObjectCommand']);
  });

  it('makes an update of a cold instance throw without writing', async () => {
    const persistence = bucket.open(key);

    await expect(persistence.updateUserData(1, { a: 1 })).rejects.toBeInstanceOf(SnapshotDecodeError);
    expect((await bucket.object(key)).body).toEqual(garbage);
    expect(persistence.metrics.puts).toBe(0);
  });
});

describe('a bucket that does not exist', () => {
  const missing = 'no-such-bucket-for-telegram-s3-persistence';
  const clients: S3Client[] = [];
  afterAll(() => clients.forEach((client) => client.destroy()));
  function persistenceOn(name: string): S3Persistence {
    const client = minioClient();
    clients.push(client);
    return new S3Persistence({ filepath: `s3://${name}/bot`, client });
  }

  it('is a BucketNotFoundError naming the bucket, on read', async () => {
    const error = await rejectionOf(persistenceOn(missing).getUserData());

    expect(error).toBeInstanceOf(BucketNotFoundError);
    const { endpoint } = inject('minio');
    expect(error).toMatchObject({ code: 'BUCKET_NOT_FOUND', bucket: missing, key: 'bot', status: 404, endpoint });
    expect((error as Error).message).toBe(
      `the bucket "${missing}" does not exist at ${endpoint}; create it (MinIO: mc mb local/${missing}; npm run minio -- run creates "telegram-bot"), or fix the bucket in the filepath (s3://${missing}/bot)`,
    );
  });

  it('is a BucketNotFoundError naming the bucket, on update', async () => {
    const error = await rejectionOf(persistenceOn(missing).updateUserData(1, { a: 1 }));

    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect((error as Error).message).toContain(missing);
  });
});

describe('wrong credentials', () => {
  const clients: S3Client[] = [];
  afterAll(() => clients.forEach((client) => client.destroy()));
  function persistenceWith(accessKeyId: string, secretAccessKey: string): S3Persistence {
    const { endpoint, region } = inject('minio');
    const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
    clients.push(client);
    return new S3Persistence({ filepath: `s3://${bucket.name}/credentials/bot`, client });
  }

  // MinIO answers 403 SignatureDoesNotMatch to a wrong secret and 403 InvalidAccessKeyId to an unknown key id.
  it.each([
    { wrong: 'secret', accessKeyId: inject('minio').accessKeyId, secretAccessKey: 'not-the-secret', serverCode: 'SignatureDoesNotMatch' },
    { wrong: 'access key id', accessKeyId: 'nobody', secretAccessKey: 'not-the-secret', serverCode: 'InvalidAccessKeyId' },
  ])('a wrong $wrong is an AccessDeniedError with status 403 naming the bucket and key', async ({ accessKeyId, secretAccessKey, serverCode }) => {
    const persistence = persistenceWith(accessKeyId, secretAccessKey);

    for (const attempt of [persistence.getUserData(), persistence.updateUserData(1, { a: 1 })]) {
      const error = await rejectionOf(attempt);
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 403, bucket: bucket.name, key: 'credentials/bot' });
      expect((error as Error).message).toContain(`s3://${bucket.name}/credentials/bot`);
      expect((error as PersistenceError).cause).toMatchObject({ name: serverCode, $metadata: { httpStatusCode: 403 } });
    }
    expect(await bucket.keys('credentials/')).toEqual([]);
  });

  it('says that the credentials were refused, not only which permissions to grant', async () => {
    const persistence = persistenceWith(inject('minio').accessKeyId, 'not-the-secret');

    const error = await rejectionOf(persistence.getUserData());

    expect((error as Error).message).toContain('SignatureDoesNotMatch');
  });
});

describe('a value that cannot be serialized', () => {
  it('is a SerializationError naming the user id, and the stored object is unchanged', async () => {
    const path = 'unserializable/bot';
    const persistence = bucket.open(path);
    await persistence.updateUserData(12345, { count: 1 });
    await persistence.updateUserData(7, { count: 7 });
    const before = await bucket.object(path);
    const putsBefore = persistence.metrics.puts;

    const error = await rejectionOf(persistence.updateUserData(12345, { count: 2, handler: () => 'not data' }));

    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toMatchObject({ code: 'UNSERIALIZABLE' });
    expect((error as SerializationError).path).toContain('user_data[12345]');
    expect((error as Error).message).toContain('12345');
    expect(persistence.metrics.puts).toBe(putsBefore);
    expect(persistence.hasPendingChanges).toBe(false);
    const after = await bucket.object(path);
    expect(after.etag).toBe(before.etag);
    expect(after.body).toEqual(before.body);

    // The refused value left nothing behind: the next good write carries only itself.
    await persistence.updateUserData(7, { count: 8 });
    expect(await bucket.open(path).getUserData()).toEqual(
      new Map([
        [12345, { count: 1 }],
        [7, { count: 8 }],
      ]),
    );
  });

  it('names the chat id and the property inside chat data', async () => {
    const persistence = bucket.open('unserializable-chat/bot');

    const error = await rejectionOf(persistence.updateChatData(-1001234567890, { nested: { when: Symbol('x') } }));

    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe('chat_data[-1001234567890].nested.when');
    expect(await bucket.keys('unserializable-chat/')).toEqual([]);
  });
});
