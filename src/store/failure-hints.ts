/**
 * Why a request to the object store failed, in words, and the one thing to try: the failures an
 * operator meets first (nothing listening, a host name that does not resolve, no answer, a missing
 * bucket, refused credentials, the wrong region). `S3ObjectStore` puts both in its errors.
 *
 * Network errors arrive as Node's socket errors (`code` ECONNREFUSED, ENOTFOUND, ...; an
 * AggregateError of them when a name has several addresses), timeouts as the SDK's `TimeoutError`,
 * and S3's refusals by their error code.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { REFUSED_CREDENTIALS } from '../errors.js';

/** Where the requests went. */
export interface EndpointInfo {
  /** The URL requests went to, e.g. `http://127.0.0.1:9000` or `https://bucket.s3.us-east-1.amazonaws.com`. */
  url: string;
  /** True for an endpoint given to the client (`S3_ENDPOINT`), false for AWS S3's own. */
  custom: boolean;
  /** The client's region. */
  region: string;
}

export interface FailureExplanation {
  /** What happened, in words, with the error's code. */
  cause: string;
  /** One line on what to do, when the failure is one of the known ones. */
  hint?: string;
}

/** S3's answers to a request signed for, or sent to, another region than the bucket's. */
const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);

interface ErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
  errors?: unknown[];
  cause?: unknown;
  Region?: string;
  Endpoint?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** The endpoint `client` sends requests for `bucket` to. */
export async function endpointOf(client: S3Client, bucket: string): Promise<EndpointInfo> {
  const region = await client.config.region();
  const custom = client.config.endpoint === undefined ? undefined : await client.config.endpoint();
  if (custom === undefined) return { url: `https://${bucket}.s3.${region}.amazonaws.com`, custom: false, region };
  const port = custom.port === undefined ? '' : `:${custom.port}`;
  const path = custom.path === '/' ? '' : custom.path;
  return { url: `${custom.protocol}//${custom.hostname}${port}${path}`, custom: true, region };
}

/** `error`, from a request to `endpoint` for `bucket`, explained. */
export function explainFailure(error: unknown, endpoint: EndpointInfo, bucket: string): FailureExplanation {
  const shape = (error ?? {}) as ErrorShape;
  const socket = socketErrorOf(shape);
  const name = shape.Code ?? shape.name;
  const status = shape.$metadata?.httpStatusCode;
  const setEndpoint = 'set S3_ENDPOINT to the server (MinIO: S3_ENDPOINT=http://127.0.0.1:9000)';
  const said = `${socket?.message ?? socket?.code}`;
  switch (socket?.code) {
    case 'ECONNREFUSED':
      return {
        cause: `no response, connection refused (${said}): nothing listens there`,
        hint: endpoint.custom
          ? `is the server running? Start MinIO (npm run minio -- run), or fix S3_ENDPOINT (now ${endpoint.url})`
          : `S3_ENDPOINT is unset, so the client went to AWS S3; for a local server, ${setEndpoint}`,
      };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        cause: `no response, the host name does not resolve (${said})`,
        hint: endpoint.custom
          ? `S3_ENDPOINT (now ${endpoint.url}) names no reachable host: fix it`
          : `S3_ENDPOINT is unset, so the client went to AWS S3 (${endpoint.url}); for MinIO, ${setEndpoint}; for AWS, check the network and the bucket name`,
      };
    case 'ECONNRESET':
    case 'EPIPE':
      return {
        cause: `no response, the server closed the connection (${said})`,
        hint: `check that ${endpoint.url} is an S3 server, and not a proxy that drops requests`,
      };
    case 'ETIMEDOUT':
      return timeout(`no response, the connection timed out (${said})`, endpoint);
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout') return timeout(`no response in time (${name}${shape.message ? `: ${shape.message}` : ''})`, endpoint);
  if (name === 'NoSuchBucket') {
    return {
      cause: `the bucket "${bucket}" does not exist at ${endpoint.url}`,
      hint: endpoint.custom
        ? `create it (MinIO: mc mb local/${bucket}; npm run minio -- run creates "telegram-bot"), or fix the bucket in the filepath`
        : `create it (aws s3 mb s3://${bucket}), or fix the bucket in the filepath; S3_ENDPOINT is unset, so this is AWS S3, not MinIO`,
    };
  }
  if (name !== undefined && REFUSED_CREDENTIALS.has(name)) {
    return {
      cause: `the credentials were refused (${name})`,
      hint: endpoint.custom
        ? 'use the server\'s keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (MinIO: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD, minioadmin by default)'
        : 'check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or AWS_PROFILE) and the clock',
    };
  }
  if ((name !== undefined && WRONG_REGION.has(name)) || status === 301) {
    const region = bucketRegionOf(shape);
    return {
      cause: `the bucket is in another region than the client's ${endpoint.region}${region === undefined ? '' : ` (it is in ${region})`}`,
      hint: `set AWS_REGION=${region ?? "<the bucket's region>"}`,
    };
  }
  const detail = [name, status === undefined ? 'no response' : `HTTP ${status}`, shape.message].filter((part) => part !== undefined && part !== '');
  return { cause: detail.join(', ') };
}

function timeout(cause: string, endpoint: EndpointInfo): FailureExplanation {
  return {
    cause,
    hint: `${endpoint.url} accepts connections but did not answer: check that it is an S3 server and is not stuck, or give the client more time (requestHandler: { socketTimeout })`,
  };
}

/** The socket error inside an SDK error: itself, the first of an AggregateError, or its cause. */
function socketErrorOf(shape: ErrorShape): ErrorShape | undefined {
  const candidates = [shape, shape.errors?.[0], shape.cause] as Array<ErrorShape | undefined>;
  const found = candidates.find((candidate) => typeof candidate?.code === 'string' && /^E[A-Z_]+$/.test(candidate.code));
  // An AggregateError (one error per address tried) says only its code; its first error says where.
  return found === shape && shape.errors?.[0] !== undefined ? { ...(shape.errors[0] as ErrorShape), code: shape.code } : found;
}

/** The bucket's region, as S3 tells it: a header, the error's Region, or its redirect endpoint. */
function bucketRegionOf(shape: ErrorShape): string | undefined {
  const header = shape.$response?.headers?.['x-amz-bucket-region'];
  if (header !== undefined && header !== '') return header;
  if (shape.Region !== undefined && shape.Region !== '') return shape.Region;
  const fromEndpoint = /\.s3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(shape.Endpoint ?? '')?.[1];
  if (fromEndpoint !== undefined) return fromEndpoint;
  return /expecting '([a-z0-9-]+)'/.exec(shape.message ?? '')?.[1];
}
