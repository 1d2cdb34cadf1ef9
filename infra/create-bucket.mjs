// Creates a bucket if it is missing. Plain JavaScript so that `minio.sh run` can call it with node;
// the tests use the same function through infra/minio.ts.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { pathToFileURL } from 'node:url';

/** Creates `bucket` with `client`; a bucket this account already owns counts as created. */
export async function createBucket(client, bucket) {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (error?.name !== 'BucketAlreadyOwnedByYou') throw error;
  }
}

// Command line: node infra/create-bucket.mjs ENDPOINT BUCKET, with MINIO_ROOT_USER/MINIO_ROOT_PASSWORD set.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [endpoint, bucket] = process.argv.slice(2);
  const { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey } = process.env;
  if (!endpoint || !bucket || !accessKeyId || !secretAccessKey) {
    console.error('usage: MINIO_ROOT_USER=... MINIO_ROOT_PASSWORD=... node infra/create-bucket.mjs ENDPOINT BUCKET');
    process.exit(2);
  }
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  await createBucket(client, bucket);
  console.error(`bucket ${bucket} is ready on ${endpoint}`);
}
