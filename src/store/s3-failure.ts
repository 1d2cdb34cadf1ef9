/**
 * How an S3 error answer becomes this library's error, the same for every S3 client: the AWS SDK
 * store judges the SDK's exceptions with it, the fetch store the raw HTTP answers.
 */
import { AccessDeniedError, BucketNotFoundError, StorageError } from '../errors.js';
import { PreconditionLostError, type WriteCondition } from './object-store.js';

/** What an S3 error answer carried: HTTP status (none without a response), S3 error code, message. */
export interface S3Failure {
  status: number | undefined;
  code: string | undefined;
  message?: string;
  cause: unknown;
}

/** A 404 to a read is an absent object, unless the bucket itself is missing. */
export function isAbsent(failure: S3Failure): boolean {
  return (failure.status === 404 || failure.code === 'NoSuchKey') && failure.code !== 'NoSuchBucket';
}

/**
 * The lost condition of a write, or undefined when the failure is something else.
 * 412: the ETag moved or the object appeared; 409: a concurrent conditional write; 404 on If-Match: it was deleted.
 */
export function lostCondition(key: string, condition: WriteCondition, failure: S3Failure): PreconditionLostError | undefined {
  const { status, code } = failure;
  if (status === 412 || code === 'PreconditionFailed') return new PreconditionLostError(key, 412);
  if (status === 409 || code === 'ConditionalRequestConflict') return new PreconditionLostError(key, 409);
  if (code === 'NoSuchBucket') return undefined;
  if ((status === 404 || code === 'NoSuchKey') && 'ifMatch' in condition) return new PreconditionLostError(key, 404);
  return undefined;
}

/** The typed error of a failed request: a missing bucket, a refusal (403), or a storage failure naming status and code. */
export function storageFailure(operation: 'read' | 'write' | 'list', location: { bucket: string; key: string }, failure: S3Failure): StorageError {
  const { status, code, message, cause } = failure;
  if (code === 'NoSuchBucket') return new BucketNotFoundError({ bucket: location.bucket }, { cause });
  if (status === 403 || code === 'AccessDenied') return new AccessDeniedError(operation, location, { cause, s3Code: code });
  const detail = [code, status === undefined ? 'no response' : `HTTP ${status}`, message]
    .filter((part) => part !== undefined && part !== '')
    .join(', ');
  return new StorageError(`${operation} failed (${detail})`, location, { cause, status });
}
