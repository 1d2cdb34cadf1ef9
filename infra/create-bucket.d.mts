import type { S3Client } from '@aws-sdk/client-s3';

/** Creates `bucket` with `client`; a bucket this account already owns counts as created. */
export function createBucket(client: S3Client, bucket: string): Promise<void>;
