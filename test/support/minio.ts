// Clients and buckets on the MinIO that test/global-setup.ts started.
import { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createBucket } from '../../infra/minio.js';

/** An S3 client for the test MinIO. */
export function minioClient(): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = inject('minio');
  return new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
}

/** Creates an empty bucket whose name starts with `prefix` and is unique to this call; returns its name. */
export async function freshBucket(prefix: string): Promise<string> {
  // Bucket names: 3-63 characters of a-z, 0-9 and '-'.
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 40);
  const unique = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const bucket = `${safePrefix}-${unique}`;
  const client = minioClient();
  try {
    await createBucket(client, bucket);
  } finally {
    client.destroy();
  }
  return bucket;
}
