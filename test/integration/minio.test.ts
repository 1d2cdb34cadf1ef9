// The library's writes rely on MinIO honouring conditional PutObject; this proves the MinIO in use does.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshBucket, minioClient } from '../support/minio.js';

const preconditionFailed = { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } };

describe('MinIO conditional writes', () => {
  const s3 = minioClient();
  let bucket: string;

  beforeAll(async () => {
    bucket = await freshBucket('minio-smoke');
  });

  it('refuses a create-only PutObject (If-None-Match: *) on a key that exists, with 412', async () => {
    const put = () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'created-once', Body: 'a', IfNoneMatch: '*' }));
    await put();
    await expect(put()).rejects.toMatchObject(preconditionFailed);
  });

  it('refuses a PutObject whose If-Match names another ETag with 412, and accepts the current one', async () => {
    const key = 'compare-and-swap';
    const { ETag: current } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'v1' }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'v2', IfMatch: '"00000000000000000000000000000000"' })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'v2', IfMatch: current }))).resolves.toBeDefined();
  });
});
