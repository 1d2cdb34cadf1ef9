/**
 * What an S3 error means, the same for every S3 client: the AWS SDK store judges the SDK's
 * exceptions with it, the fetch store raw HTTP answers shaped as the SDK shapes them (status in
 * `$metadata.httpStatusCode`, S3 error code in `name`/`Code`).
 */
import { AccessDeniedError, BucketNotFoundError, REFUSED_CREDENTIALS, StorageError } from '../errors.js';
import { explainFailure, type EndpointInfo } from './failure-hints.js';
import { PreconditionLostError, type WriteCondition } from './object-store.js';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status of an S3 error answer; undefined when there was no answer. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** The S3 error code (or the error's name). */
export function nameOf(error: unknown): string | undefined {
  const shape = error as SdkErrorShape | null;
  return shape?.Code ?? shape?.name;
}

/** A 404 to a read is an absent object, unless the bucket itself is missing. */
export function isAbsent(error: unknown): boolean {
  return (statusOf(error) === 404 || nameOf(error) === 'NoSuchKey') && nameOf(error) !== 'NoSuchBucket';
}

/**
 * The lost condition of a write, or undefined when the failure is something else.
 * 412: the ETag moved or the object appeared; 409: a concurrent conditional write; 404 on If-Match: it was deleted.
 */
export function lostCondition(key: string, condition: WriteCondition, error: unknown): PreconditionLostError | undefined {
  const status = statusOf(error);
  const name = nameOf(error);
  if (status === 412 || name === 'PreconditionFailed') return new PreconditionLostError(key, 412);
  if (status === 409 || name === 'ConditionalRequestConflict') return new PreconditionLostError(key, 409);
  if (name === 'NoSuchBucket') return undefined;
  if ((status === 404 || name === 'NoSuchKey') && 'ifMatch' in condition) return new PreconditionLostError(key, 404);
  return undefined;
}

/**
 * The error for a failed request: the endpoint, the bucket, the key (a listed prefix as the path
 * it lists, without the `/` the listing adds), the cause in words, and a hint when one applies.
 */
export function storageFailure(
  operation: 'read' | 'write' | 'list',
  location: { bucket: string; key: string },
  error: unknown,
  endpoint: EndpointInfo | undefined,
): StorageError {
  const { bucket } = location;
  const where = { bucket, key: operation === 'list' ? location.key.replace(/\/$/, '') : location.key };
  const status = statusOf(error);
  const name = nameOf(error);
  const explained = endpoint === undefined ? undefined : explainFailure(error, endpoint, bucket);
  const context = { cause: error, endpoint: endpoint?.url, hint: explained?.hint };
  if (name === 'NoSuchBucket') return new BucketNotFoundError(where, context);
  if (status === 403 || name === 'AccessDenied' || (name !== undefined && REFUSED_CREDENTIALS.has(name))) {
    return new AccessDeniedError(operation, where, { ...context, s3Code: name });
  }
  const at = endpoint === undefined ? '' : ` at ${endpoint.url}`;
  const cause = explained?.cause ?? (error instanceof Error ? error.message : String(error));
  return new StorageError(`${operation} failed${at}: ${cause}`, where, { ...context, status });
}

/** An answer no S3 server gives, naming the endpoint that gave it. */
export function oddAnswer(what: string, location: { bucket: string; key: string }, endpoint: EndpointInfo | undefined): StorageError {
  return new StorageError(`the server${endpoint === undefined ? '' : ` at ${endpoint.url}`} ${what}`, location, {
    endpoint: endpoint?.url,
    hint: 'check that the endpoint is an S3-compatible server (S3_ENDPOINT)',
  });
}
