/**
 * S3Persistence end to end against a mocked S3Client: what each S3 answer means for loading,
 * conditional writes, conflict retries, refresh and the metrics.
 */
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AccessDeniedError, SnapshotDecodeError, StorageError, WriteConflictError } from '../../src/errors.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotFields } from '../../src/snapshot/codec.js';
import { found, noSuchKey, rejectionOf, s3Error } from '../support/s3-responses.js';

const BUCKET = 'bucket';
const KEY = 'state';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

function newPersistence(): S3Persistence {
  return new S3Persistence({
    client,
    filepath: `s3://${BUCKET}/${KEY}`,
    retry: { baseDelayMs: 0, maxDelayMs: 0, maxAttempts: 3 },
    // These tests count every request to the object; the probe of conditional writes has its own tests.
    conditionalWrites: 'trust',
  });
}

/** A stored snapshot holding these users (and optionally bot data). */
function snapshotOf(users: Array<[number, Record<string, unknown>]>, botData?: Record<string, unknown>): Uint8Array {
  const fields: SnapshotFields = new Map<string, unknown>([['user_data', new Map(users)]]);
  if (botData !== undefined) fields.set('bot_data', botData);
  return encodeSnapshot(fields);
}

function written(etag: string) {
  return { $metadata: { httpStatusCode: 200 }, ETag: etag };
}

const preconditionFailed = () => s3Error('PreconditionFailed', 412);
const notModified = () => s3Error('NotModified', 304);

const gets = () => s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input);
const puts = () => s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);

/** The users stored by a PutObject call. */
function usersIn(input: PutObjectCommandInput | undefined): Map<number, unknown> | undefined {
  return decodeSnapshot(input?.Body as Uint8Array).get('user_data') as Map<number, unknown> | undefined;
}

beforeEach(() => {
  s3.reset();
});

describe('cold start', () => {
  it('reads the object once, on the first get*, and answers every later get* from memory', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([[1, { n: 1 }]], { total: 3 }), '"e1"'));
    const persistence = newPersistence();
    expect(gets()).toHaveLength(0);

    expect(await persistence.getUserData()).toEqual(new Map([[1, { n: 1 }]]));
    expect(gets()).toEqual([{ Bucket: BUCKET, Key: KEY, IfNoneMatch: undefined }]);

    expect(await persistence.getUserData()).toEqual(new Map([[1, { n: 1 }]]));
    expect(await persistence.getBotData()).toEqual({ total: 3 });
    await persistence.getChatData();
    await persistence.getCallbackData();
    await persistence.getConversations('survey');
    expect(gets()).toHaveLength(1);
  });

  it('gives empty defaults when the object does not exist (404 NoSuchKey)', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    const persistence = newPersistence();

    expect(await persistence.getUserData()).toEqual(new Map());
    expect(await persistence.getChatData()).toEqual(new Map());
    expect(await persistence.getBotData()).toEqual({});
    expect(await persistence.getCallbackData()).toBeNull();
    expect(await persistence.getConversations('survey')).toEqual(new Map());
    expect(gets()).toHaveLength(1);
  });

  it('creates an absent object with If-None-Match: *', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    s3.on(PutObjectCommand).resolves(written('"e1"'));
    const persistence = newPersistence();
    await persistence.getUserData();

    await persistence.updateUserData(1, { n: 1 });

    expect(puts()).toHaveLength(1);
    expect(puts()[0]).toMatchObject({ Bucket: BUCKET, Key: KEY, IfNoneMatch: '*', ContentType: 'application/cbor' });
    expect(puts()[0]?.IfMatch).toBeUndefined();
    expect(usersIn(puts()[0])).toEqual(new Map([[1, { n: 1 }]]));
  });

  it('replaces an object it read with If-Match: its ETag', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([[1, { n: 1 }]]), '"e1"'));
    s3.on(PutObjectCommand).resolves(written('"e2"'));
    const persistence = newPersistence();
    await persistence.getUserData();

    await persistence.updateUserData(1, { n: 2 });

    expect(puts()).toHaveLength(1);
    expect(puts()[0]).toMatchObject({ IfMatch: '"e1"' });
    expect(puts()[0]?.IfNoneMatch).toBeUndefined();
  });

  it('takes the ETag of its own write as the condition of the next one', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([]), '"e1"'));
    s3.on(PutObjectCommand).resolvesOnce(written('"e2"')).resolves(written('"e3"'));
    const persistence = newPersistence();

    await persistence.updateUserData(1, { n: 1 });
    await persistence.updateUserData(1, { n: 2 });

    expect(puts().map((input) => input.IfMatch)).toEqual(['"e1"', '"e2"']);
  });
});

describe('a stored object that does not decode', () => {
  // Not CBOR of a snapshot: a reserved initial byte, then noise.
  const garbage = new Uint8Array([0xfc, 0x13, 0x37, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x42, 0x99, 0x01, 0x7f]);

  it('throws SnapshotDecodeError naming the bucket and the key', async () => {
    s3.on(GetObjectCommand).resolves(found(garbage, '"e1"'));
    const persistence = newPersistence();

    const error = await rejectionOf(persistence.getUserData());

    expect(error).toBeInstanceOf(SnapshotDecodeError);
    expect(error).toMatchObject({ code: 'SNAPSHOT_UNREADABLE', bucket: BUCKET, key: KEY });
    expect((error as Error).message).toContain(`s3://${BUCKET}/${KEY}`);
  });

  it('is never overwritten: a later update throws the same error and sends no PUT', async () => {
    s3.on(GetObjectCommand).resolves(found(garbage, '"e1"'));
    s3.on(PutObjectCommand).resolves(written('"e2"'));
    const persistence = newPersistence();
    const first = await rejectionOf(persistence.getUserData());

    expect(await rejectionOf(persistence.updateUserData(1, { n: 1 }))).toBe(first);
    expect(await rejectionOf(persistence.updateBotData({ total: 1 }))).toBe(first);
    await persistence.flush();

    expect(puts()).toHaveLength(0);
    expect(gets()).toHaveLength(1);
  });
});

describe('access denied', () => {
  it('on the first read, says that s3:ListBucket may be missing', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    const persistence = newPersistence();

    const error = await rejectionOf(persistence.getUserData());

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', bucket: BUCKET, key: KEY });
    expect((error as Error).message).toContain('s3:ListBucket');
  });

  it('leaves the object unloaded, so the next get* reads again', async () => {
    s3.on(GetObjectCommand).rejectsOnce(s3Error('AccessDenied', 403)).resolves(found(snapshotOf([[1, { n: 1 }]]), '"e1"'));
    const persistence = newPersistence();
    await rejectionOf(persistence.getUserData());

    expect(await persistence.getUserData()).toEqual(new Map([[1, { n: 1 }]]));
    expect(gets()).toHaveLength(2);
  });
});

describe('a conditional write that loses', () => {
  it('on 412, re-reads, re-applies its change on the fresh state and writes with the new ETag', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce(found(snapshotOf([[1, { n: 1 }]]), '"e1"'))
      .resolves(found(snapshotOf([[1, { n: 1 }], [2, { theirs: true }]]), '"e2"'));
    s3.on(PutObjectCommand).rejectsOnce(preconditionFailed()).resolves(written('"e3"'));
    const persistence = newPersistence();
    await persistence.getUserData();

    await persistence.updateUserData(3, { ours: true });

    expect(puts().map((input) => input.IfMatch)).toEqual(['"e1"', '"e2"']);
    expect(gets()).toHaveLength(2);
    expect(gets()[1]?.IfNoneMatch).toBeUndefined();
    expect(usersIn(puts()[1])).toEqual(
      new Map<number, unknown>([
        [1, { n: 1 }],
        [2, { theirs: true }],
        [3, { ours: true }],
      ]),
    );
    expect(await persistence.getUserData()).toEqual(usersIn(puts()[1]));
    expect(persistence.hasPendingChanges).toBe(false);
  });

  it('on 409 ConditionalRequestConflict, retries the same way', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce(found(snapshotOf([]), '"e1"'))
      .resolves(found(snapshotOf([[2, { theirs: true }]]), '"e2"'));
    s3.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).resolves(written('"e3"'));
    const persistence = newPersistence();

    await persistence.updateUserData(3, { ours: true });

    expect(puts().map((input) => input.IfMatch)).toEqual(['"e1"', '"e2"']);
    expect([...(usersIn(puts()[1])?.keys() ?? [])]).toEqual([2, 3]);
  });

  it('on 412 every time, throws WriteConflictError after maxAttempts PUTs and keeps the change for the next write', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([[1, { n: 1 }]]), '"e1"'));
    s3.on(PutObjectCommand).rejects(preconditionFailed());
    const persistence = newPersistence();
    await persistence.getUserData();

    const error = await rejectionOf(persistence.updateUserData(2, { n: 2 }));

    expect(error).toBeInstanceOf(WriteConflictError);
    expect(error).toMatchObject({ code: 'WRITE_CONFLICT', attempts: 3, bucket: BUCKET, key: KEY });
    expect(puts()).toHaveLength(3);
    expect(persistence.hasPendingChanges).toBe(true);

    s3.on(PutObjectCommand).resolves(written('"e2"'));
    await persistence.updateUserData(3, { n: 3 });

    expect(puts()).toHaveLength(4);
    expect(usersIn(puts()[3])).toEqual(
      new Map([
        [1, { n: 1 }],
        [2, { n: 2 }],
        [3, { n: 3 }],
      ]),
    );
    expect(persistence.hasPendingChanges).toBe(false);
  });

  it('on 404 to If-Match (the object was deleted), re-reads it as absent and retries with If-None-Match: *', async () => {
    s3.on(GetObjectCommand).resolvesOnce(found(snapshotOf([[1, { n: 1 }]]), '"e1"')).rejects(noSuchKey());
    s3.on(PutObjectCommand).rejectsOnce(noSuchKey()).resolves(written('"e2"'));
    const persistence = newPersistence();
    await persistence.getUserData();

    await persistence.updateUserData(2, { n: 2 });

    expect(puts()).toHaveLength(2);
    expect(puts()[0]).toMatchObject({ IfMatch: '"e1"' });
    expect(puts()[1]).toMatchObject({ IfNoneMatch: '*' });
    expect(puts()[1]?.IfMatch).toBeUndefined();
    expect(usersIn(puts()[1])).toEqual(new Map([[2, { n: 2 }]]));
  });
});

describe('a write that fails with a server error', () => {
  it('throws StorageError on 500, keeps the change pending, and a later flush() writes it', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([]), '"e1"'));
    s3.on(PutObjectCommand).rejectsOnce(s3Error('InternalError', 500)).resolves(written('"e2"'));
    const persistence = newPersistence();

    const error = await rejectionOf(persistence.updateUserData(1, { n: 1 }));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILURE', status: 500 });
    expect(persistence.hasPendingChanges).toBe(true);
    expect(persistence.metrics.preconditionsLost).toBe(0);

    await persistence.flush();

    expect(puts()).toHaveLength(2);
    expect(puts()[1]).toMatchObject({ IfMatch: '"e1"' });
    expect(usersIn(puts()[1])).toEqual(new Map([[1, { n: 1 }]]));
    expect(persistence.hasPendingChanges).toBe(false);
    expect(gets()).toHaveLength(1);
  });
});

describe('refresh', () => {
  it('revalidates with If-None-Match: the known ETag, and on 304 leaves an up-to-date object untouched', async () => {
    s3.on(GetObjectCommand).resolvesOnce(found(snapshotOf([[1, { n: 1, list: [1] }]]), '"e1"')).rejects(notModified());
    const persistence = newPersistence();
    await persistence.getUserData();
    const list = [1];
    const live: Record<string, unknown> = { n: 1, list };

    await persistence.refreshUserData(1, live);

    expect(gets()).toHaveLength(2);
    expect(gets()[1]).toMatchObject({ Bucket: BUCKET, Key: KEY, IfNoneMatch: '"e1"' });
    expect(live).toEqual({ n: 1, list: [1] });
    expect(live.list).toBe(list);
  });

  it('on 304 still brings an object that differs from what the instance holds back to it', async () => {
    s3.on(GetObjectCommand).resolvesOnce(found(snapshotOf([[1, { n: 1 }]]), '"e1"')).rejects(notModified());
    const persistence = newPersistence();
    await persistence.getUserData();
    const live: Record<string, unknown> = { n: 1, unsaved: 'draft' };

    await persistence.refreshUserData(1, live);

    expect(gets()).toHaveLength(2);
    expect(live).toEqual({ n: 1 });
  });

  it('on 200 with a new snapshot, updates the passed object in place and adopts the new ETag', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce(found(snapshotOf([[1, { n: 1, old: true }]]), '"e1"'))
      .resolves(found(snapshotOf([[1, { n: 5 }]]), '"e2"'));
    s3.on(PutObjectCommand).resolves(written('"e3"'));
    const persistence = newPersistence();
    const live = (await persistence.getUserData()).get(1) as Record<string, unknown>;
    const identity = live;

    await persistence.refreshUserData(1, live);

    expect(live).toBe(identity);
    expect(live).toEqual({ n: 5 });
    expect(gets()[1]).toMatchObject({ IfNoneMatch: '"e1"' });

    await persistence.updateUserData(2, { n: 2 });
    expect(puts()[0]).toMatchObject({ IfMatch: '"e2"' });
  });
});

describe('metrics', () => {
  it('count exactly the GETs, 304s, PUTs, lost preconditions and same-entry conflicts sent and met', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce(found(snapshotOf([[1, { n: 1 }]]), '"e1"')) // cold start
      .rejectsOnce(notModified()) // refresh
      .resolves(found(snapshotOf([[1, { n: 9 }]]), '"e2"')); // re-read after the 412: another writer changed user 1 too
    s3.on(PutObjectCommand).rejectsOnce(preconditionFailed()).resolves(written('"e3"'));
    const persistence = newPersistence();

    await persistence.getUserData();
    await persistence.refreshUserData(1, { n: 1 });
    await persistence.updateUserData(1, { n: 2 });

    expect(persistence.metrics).toEqual({ gets: 3, notModified: 1, puts: 2, preconditionsLost: 1, conflicts: 1 });
    expect(persistence.metrics.gets).toBe(gets().length);
    expect(persistence.metrics.puts).toBe(puts().length);
    expect(usersIn(puts()[1])).toEqual(new Map([[1, { n: 2 }]])); // the later write wins
  });

  it('count nothing for an update that changes nothing', async () => {
    s3.on(GetObjectCommand).resolves(found(snapshotOf([[1, { n: 1 }]]), '"e1"'));
    const persistence = newPersistence();

    await persistence.updateUserData(1, { n: 1 });

    expect(persistence.metrics).toEqual({ gets: 1, notModified: 0, puts: 0, preconditionsLost: 0, conflicts: 0 });
    expect(puts()).toHaveLength(0);
  });
});
