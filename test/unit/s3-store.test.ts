/**
 * S3ObjectStore against a mocked S3Client: every S3 answer a read or a conditional write can get,
 * and what the store makes of it.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AccessDeniedError, BucketNotFoundError, KeyInTheWayError, StorageError } from '../../src/errors.js';
import { PreconditionLostError } from '../../src/store/object-store.js';
import { S3ObjectStore, SNAPSHOT_CONTENT_TYPE } from '../../src/store/s3-store.js';
import { noSuchBucket, noSuchKey, rejectionOf, s3Error } from '../support/s3-responses.js';

const BUCKET = 'bot-state';
const KEY = 'prod/state';
const MiB = 1024 * 1024;

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** A GetObject body as the SDK hands it out: a stream with `transformToByteArray`. */
function body(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  return { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'];
}

/** No response at all: the SDK rethrows the socket's error, without `$metadata`. */
const connectionReset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const timeout = () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });

function newStore(multipartThreshold?: number): S3ObjectStore {
  return new S3ObjectStore({ client, bucket: BUCKET, multipartThreshold });
}

beforeEach(() => {
  s3.reset();
});

describe('S3ObjectStore.get', () => {
  it('returns the body and the ETag of a 200', async () => {
    s3.on(GetObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"e1"', Body: body(new Uint8Array([1, 2, 3])) });

    const result = await newStore().get(KEY);

    expect(result).toEqual({ status: 'found', body: new Uint8Array([1, 2, 3]), etag: '"e1"' });
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, IfNoneMatch: undefined });
  });

  it('sends If-None-Match when asked to revalidate an ETag', async () => {
    s3.on(GetObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"e2"', Body: body(new Uint8Array([9])) });

    await newStore().get(KEY, { ifNoneMatch: '"e1"' });

    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: BUCKET, Key: KEY, IfNoneMatch: '"e1"' });
  });

  it.each(['NotModified', 'Unknown', '304'])('answers not-modified to a 304, whatever its error name (%s)', async (name) => {
    s3.on(GetObjectCommand).rejects(s3Error(name, 304, 'UnknownError'));

    expect(await newStore().get(KEY, { ifNoneMatch: '"e1"' })).toEqual({ status: 'not-modified' });
  });

  it('answers absent to 404 NoSuchKey', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());

    expect(await newStore().get(KEY)).toEqual({ status: 'absent' });
  });

  it('answers absent to a 404 without an error code (the SDK names it NotFound)', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NotFound', 404, 'UnknownError'));

    expect(await newStore().get(KEY)).toEqual({ status: 'absent' });
  });

  it('throws AccessDeniedError saying the credentials were refused on 404 XAdminUserNotFound (versitygw)', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('XAdminUserNotFound', 404));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 404, s3Code: 'XAdminUserNotFound', bucket: BUCKET, key: KEY });
    expect((error as Error).message).toContain('credentials were refused');
  });

  it('throws StorageError, not absent, on a 404 with any other error code', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchVersion', 404));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILURE', status: 404, key: KEY });
    expect((error as Error).message).toContain('NoSuchVersion');
  });

  it('throws BucketNotFoundError naming the bucket on 404 NoSuchBucket', async () => {
    const cause = noSuchBucket();
    s3.on(GetObjectCommand).rejects(cause);

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect(error).toMatchObject({ code: 'BUCKET_NOT_FOUND', bucket: BUCKET, status: 404, cause });
    expect((error as Error).message).toContain(BUCKET);
  });

  it('throws AccessDeniedError naming s3:GetObject and s3:ListBucket on 403', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403, 'Access Denied'));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 403, bucket: BUCKET, key: KEY });
    expect((error as Error).message).toContain('s3:GetObject');
    expect((error as Error).message).toContain('s3:ListBucket');
  });

  it.each([
    ['InternalError', 500],
    ['ServiceUnavailable', 503],
  ])('throws StorageError with the status on %s (%i)', async (name, status) => {
    const cause = s3Error(name, status);
    s3.on(GetObjectCommand).rejects(cause);

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILURE', status, bucket: BUCKET, key: KEY, cause });
    expect((error as Error).message).toContain(`HTTP ${status}`);
    expect((error as Error).message).toContain(`s3://${BUCKET}/${KEY}`);
  });

  it.each([
    ['a network error (ECONNRESET)', connectionReset],
    ['a timeout (TimeoutError)', timeout],
  ])('throws StorageError saying there was no response on %s', async (_label, makeError) => {
    const cause = makeError();
    s3.on(GetObjectCommand).rejects(cause);

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status: undefined, cause });
    expect((error as Error).message).toContain('no response');
    expect((error as Error).message).toContain(cause.message);
  });

  it('throws StorageError when a 200 comes without an ETag', async () => {
    s3.on(GetObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, Body: body(new Uint8Array([1])) });

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('without an ETag');
  });
});

describe('S3ObjectStore.put', () => {
  const bytes = new Uint8Array([0xa0]);

  it('sends If-Match with the ETag it was given, as application/cbor, and returns the new ETag', async () => {
    s3.on(PutObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"e2"' });

    const result = await newStore().put(KEY, bytes, { ifMatch: '"e1"' });

    expect(result).toEqual({ etag: '"e2"' });
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toEqual({ Bucket: BUCKET, Key: KEY, Body: bytes, ContentType: SNAPSHOT_CONTENT_TYPE, IfMatch: '"e1"' });
    expect(SNAPSHOT_CONTENT_TYPE).toBe('application/cbor');
  });

  it("sends If-None-Match: * when the object must not exist yet", async () => {
    s3.on(PutObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"e1"' });

    await newStore().put(KEY, bytes, { ifNoneMatch: '*' });

    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toEqual({ Bucket: BUCKET, Key: KEY, Body: bytes, ContentType: 'application/cbor', IfNoneMatch: '*' });
    expect(input).not.toHaveProperty('IfMatch');
  });

  it.each([
    ['412 PreconditionFailed', () => s3Error('PreconditionFailed', 412), 412],
    ['409 ConditionalRequestConflict', () => s3Error('ConditionalRequestConflict', 409), 409],
    ['404 NoSuchKey (the object was deleted)', noSuchKey, 404],
  ])('throws PreconditionLostError on %s to an If-Match write', async (_label, makeError, status) => {
    s3.on(PutObjectCommand).rejects(makeError());

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ key: KEY, status });
  });

  it('throws PreconditionLostError on 412 to an If-None-Match write (the object appeared)', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifNoneMatch: '*' }));

    expect(error).toMatchObject({ name: 'PreconditionLostError', status: 412 });
  });

  it('does not take 404 NoSuchKey on an If-None-Match write for a lost precondition', async () => {
    s3.on(PutObjectCommand).rejects(noSuchKey());

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifNoneMatch: '*' }));

    expect(error).not.toBeInstanceOf(PreconditionLostError);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status: 404 });
  });

  it.each([
    ['If-Match', { ifMatch: '"e1"' }],
    ['If-None-Match', { ifNoneMatch: '*' }],
  ] as const)('throws BucketNotFoundError on NoSuchBucket to an %s write', async (_label, condition) => {
    s3.on(PutObjectCommand).rejects(noSuchBucket());

    const error = await rejectionOf(newStore().put(KEY, bytes, condition));

    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect((error as Error).message).toContain(BUCKET);
  });

  it.each([
    ['409 OperationAborted', () => s3Error('OperationAborted', 409), 409],
    ['409 without a known code', () => s3Error('Conflict', 409), 409],
    ['404 XAdminUserNotFound', () => s3Error('XAdminUserNotFound', 404), 404],
    ['404 without an error code', () => s3Error('NotFound', 404, 'UnknownError'), 404],
  ])('does not take %s to an If-Match write for a lost precondition', async (_label, makeError, status) => {
    s3.on(PutObjectCommand).rejects(makeError());

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).not.toBeInstanceOf(PreconditionLostError);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status, key: KEY });
  });

  it('throws KeyInTheWayError naming the object at a parent path on 409 ObjectParentIsFile', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ObjectParentIsFile', 409));
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: 'prod' }).resolves({ $metadata: { httpStatusCode: 200 } });

    const error = await rejectionOf(newStore().put('prod/state/users/1', bytes, { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(KeyInTheWayError);
    expect(error).toMatchObject({ code: 'KEY_IN_THE_WAY', status: 409, s3Code: 'ObjectParentIsFile', keyInTheWay: 'prod' });
    expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).toEqual(['prod/state/users', 'prod/state', 'prod']);
    expect((error as Error).message).toContain('"prod" is an object at a parent path');
    expect((error as Error).message).toContain(`s3://${BUCKET}/prod/state/users/1`);
  });

  it('throws KeyInTheWayError naming a key under the path on 409 ExistingObjectIsDirectory', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ExistingObjectIsDirectory', 409));
    s3.on(ListObjectsV2Command).resolves({ $metadata: { httpStatusCode: 200 }, Contents: [{ Key: `${KEY}/users/7` }] });

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(KeyInTheWayError);
    expect(error).toMatchObject({ s3Code: 'ExistingObjectIsDirectory', keyInTheWay: `${KEY}/users/7`, key: KEY });
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({ Prefix: `${KEY}/`, MaxKeys: 1 });
    expect((error as Error).message).toContain(`keys exist under this key's path ("${KEY}/users/7")`);
  });

  it('still throws KeyInTheWayError when the look for the key in the way fails', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ObjectParentIsFile', 409));
    s3.on(HeadObjectCommand).rejects(s3Error('AccessDenied', 403));

    const error = await rejectionOf(newStore().put('a/b', bytes, { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(KeyInTheWayError);
    expect(error).toMatchObject({ keyInTheWay: undefined });
    expect((error as Error).message).toContain('another key is an object at a parent path');
  });

  it('throws AccessDeniedError naming s3:PutObject on 403', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403, 'Access Denied'));

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ status: 403, bucket: BUCKET, key: KEY });
    expect((error as Error).message).toContain('s3:PutObject');
  });

  it.each([
    ['500 InternalError', () => s3Error('InternalError', 500), 500],
    ['503 SlowDown', () => s3Error('SlowDown', 503), 503],
    ['a network error', connectionReset, undefined],
    ['a timeout', timeout, undefined],
  ])('throws StorageError on %s', async (_label, makeError, status) => {
    const cause = makeError();
    s3.on(PutObjectCommand).rejects(cause);

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILURE', status, cause });
    expect((error as Error).message).toContain(status === undefined ? 'no response' : `HTTP ${status}`);
  });

  it('throws StorageError when a 200 comes without an ETag', async () => {
    s3.on(PutObjectCommand).resolves({ $metadata: { httpStatusCode: 200 } });

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('without an ETag');
  });
});

describe('S3ObjectStore.put of a large snapshot (multipart)', () => {
  const large = new Uint8Array(11 * MiB).fill(7);

  beforeEach(() => {
    s3.on(CreateMultipartUploadCommand).resolves({ $metadata: { httpStatusCode: 200 }, UploadId: 'upload-1' });
    s3.on(UploadPartCommand).callsFake((input: { PartNumber?: number }) => ({
      $metadata: { httpStatusCode: 200 },
      ETag: `"part-${input.PartNumber}"`,
    }));
    s3.on(AbortMultipartUploadCommand).resolves({ $metadata: { httpStatusCode: 204 } });
  });

  it('raises a multipart threshold below 5 MiB to 5 MiB, the smallest S3 part', () => {
    expect(newStore(1024).multipartThreshold).toBe(5 * MiB);
  });

  it('uploads in parts and puts the If-Match condition on CompleteMultipartUpload', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"whole-3"' });

    const result = await newStore(5 * MiB).put(KEY, large, { ifMatch: '"e1"' });

    expect(result).toEqual({ etag: '"whole-3"' });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      Bucket: BUCKET,
      Key: KEY,
      ContentType: 'application/cbor',
    });
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete).toMatchObject({ Bucket: BUCKET, Key: KEY, UploadId: 'upload-1', IfMatch: '"e1"' });
    expect(complete?.MultipartUpload?.Parts?.map((part) => part.PartNumber)).toEqual([1, 2, 3]);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  it('puts If-None-Match: * on CompleteMultipartUpload when the object must not exist yet', async () => {
    s3.on(CompleteMultipartUploadCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"whole-3"' });

    await newStore(5 * MiB).put(KEY, large, { ifNoneMatch: '*' });

    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete).toMatchObject({ UploadId: 'upload-1', IfNoneMatch: '*' });
    expect(complete?.IfMatch).toBeUndefined();
  });

  it('sends a snapshot of exactly one part as a single conditional PutObject', async () => {
    s3.on(PutObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"single"' });

    const result = await newStore(5 * MiB).put(KEY, new Uint8Array(5 * MiB), { ifMatch: '"e1"' });

    expect(result).toEqual({ etag: '"single"' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfMatch: '"e1"', ContentType: 'application/cbor' });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('throws PreconditionLostError on 412 to CompleteMultipartUpload, and aborts the upload', async () => {
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));

    const error = await rejectionOf(newStore(5 * MiB).put(KEY, large, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ key: KEY, status: 412 });
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: KEY,
      UploadId: 'upload-1',
    });
  });
});

describe('S3ObjectStore.list', () => {
  const listAll = async (prefix: string) => {
    const keys: string[] = [];
    for await (const key of newStore().list(prefix)) keys.push(key);
    return keys;
  };

  it('follows NextContinuationToken from page to page, with the prefix on every request, until a page is not truncated', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      $metadata: { httpStatusCode: 200 },
      Contents: [{ Key: 'p/a' }, { Key: 'p/b' }],
      IsTruncated: true,
      NextContinuationToken: 'token-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'token-2' }).resolves({
      $metadata: { httpStatusCode: 200 },
      Contents: [{ Key: 'p/c' }],
      IsTruncated: true,
      NextContinuationToken: 'token-3',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'token-3' }).resolves({
      $metadata: { httpStatusCode: 200 },
      Contents: [{ Key: 'p/d' }],
      IsTruncated: false,
    });

    expect(await listAll('p/')).toEqual(['p/a', 'p/b', 'p/c', 'p/d']);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: undefined },
      { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: 'token-2' },
      { Bucket: BUCKET, Prefix: 'p/', ContinuationToken: 'token-3' },
    ]);
  });

  it('yields nothing for an empty prefix (no Contents at all)', async () => {
    s3.on(ListObjectsV2Command).resolves({ $metadata: { httpStatusCode: 200 }, KeyCount: 0, IsTruncated: false });

    expect(await listAll('none/')).toEqual([]);
  });

  it('throws StorageError naming the listed path when a page fails', async () => {
    const cause = s3Error('InternalError', 500);
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      $metadata: { httpStatusCode: 200 },
      Contents: [{ Key: 'p/a' }],
      IsTruncated: true,
      NextContinuationToken: 'token-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'token-2' }).rejects(cause);

    const error = await rejectionOf(listAll('p/'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status: 500, bucket: BUCKET, key: 'p', cause });
  });
});
