// The sample bot's Worker with the other S3 client: AWS SDK v3 (its browser build, with
// nodejs_compat) instead of the fetch store. Only for bench/workers.mjs, which compares the two.
import { S3Client } from '@aws-sdk/client-s3';
import { endpointOf, S3ObjectStore } from '../../src/store/s3-store.js';
import { workerFetch, type WorkerEnv } from '../../handlers/worker.js';

function sdkStore(bucket: string, env: WorkerEnv): { store: S3ObjectStore; endpoint: () => Promise<string> } {
  const client = new S3Client({
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT, forcePathStyle: true } : {}),
  });
  return { store: new S3ObjectStore({ client, bucket }), endpoint: () => endpointOf(client) };
}

export default { fetch: workerFetch(sdkStore) };
