// Starts one MinIO for the whole integration run and hands its address to the test files.
import type { TestProject } from 'vitest/node';
import { startMinio, type MinioConnection } from '../infra/minio.js';

declare module 'vitest' {
  export interface ProvidedContext {
    minio: MinioConnection;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = performance.now();
  const minio = await startMinio();
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  console.error(`minio ready in ${seconds}s (${minio.source}) at ${minio.endpoint}`);
  const { endpoint, accessKeyId, secretAccessKey, region } = minio;
  project.provide('minio', { endpoint, accessKeyId, secretAccessKey, region });
  return () => minio.stop();
}
