// S3 clients of the reliability tests: through a proxy of the test's, with small timeouts so that a
// held request fails in a second instead of the SDK's default minutes; and the environment that
// gives a child process its client.
import { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';

export interface ClientOptions {
  /** Default: the test MinIO itself. */
  endpoint?: string;
  /** The SDK's attempts per request (its own retries of 5xx, resets and timeouts); default 3, the SDK's. */
  maxAttempts?: number;
}

/**
 * Milliseconds a request may take before the SDK abandons it (and retries it). Small, so that a held
 * request costs a second rather than minutes; not so small that a busy 2-core machine times out
 * requests nobody held.
 */
export const REQUEST_TIMEOUT_MS = 1000;
/** Milliseconds to open a connection. */
export const CONNECTION_TIMEOUT_MS = 1000;

/**
 * An S3 client for the test MinIO (or a proxy in front of it) with small timeouts.
 *
 * @example
 * const client = s3Client({ endpoint: proxy.endpoint });
 */
export function s3Client(options: ClientOptions = {}): S3Client {
  const { endpoint, region, accessKeyId, secretAccessKey } = inject('minio');
  return new S3Client({
    endpoint: options.endpoint ?? endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: options.maxAttempts,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
}

/**
 * The environment from which a child process's `clientFromEnvironment()` reaches the test MinIO
 * (or a proxy in front of it), as a Lambda function's would reach S3.
 */
export function s3Environment(endpoint = inject('minio').endpoint): Record<string, string> {
  const { region, accessKeyId, secretAccessKey } = inject('minio');
  return { S3_ENDPOINT: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey };
}
