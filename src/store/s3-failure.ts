/**
 * What an S3 error means, the same for every S3 client: `S3ObjectStore` judges the AWS SDK's
 * exceptions with it, `FetchObjectStore` raw HTTP answers shaped as the SDK shapes them (the status
 * in `$metadata.httpStatusCode`, the S3 error code as `Code` and `name`, `NotFound` for a bodiless 404).
 */
import { AccessDeniedError, BucketNotFoundError, REFUSED_CREDENTIALS, StorageError } from '../errors.js';
import { explainFailure, type EndpointInfo } from './failure-hints.js';
import { PreconditionLostError, type WriteCondition } from './object-store.js';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status of an S3 error answer; undefined when there was no answer. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** The S3 error code, else the error's name. */
export function nameOf(error: unknown): string | undefined {
  const shape = error as SdkErrorShape | null;
  return shape?.Code ?? shape?.name;
}

/** Error codes of a 409 that mean another writer won; any other 409 is a refusal. */
const LOST_CONDITION_CODES = new Set(['ConditionalRequestConflict', 'PreconditionFailed']);
/** 409s of servers that keep objects as files: a key is refused because of another one in its way. */
const KEY_IN_THE_WAY_CODES = new Set(['ObjectParentIsFile', 'ExistingObjectIsDirectory']);

/**
 * A 404 that says the key does not exist: `NoSuchKey`, or no error code at all (the SDK then names
 * it `NotFound`, as it does for every bodiless 404). `NoSuchBucket`, or a 404 with any other code
 * (versitygw's `XAdminUserNotFound` for an unknown access key), is not an absent key.
 */
export function isMissingKey(error: unknown): boolean {
  const shape = error as SdkErrorShape | null;
  if (nameOf(error) === 'NoSuchKey') return true;
  return statusOf(error) === 404 && shape?.Code === undefined && shape?.name === 'NotFound';
}

/** The S3 code of a refusal because another key is in the way (`ObjectParentIsFile`, ...), else undefined. */
export function keyInTheWayCode(error: unknown): string | undefined {
  const name = nameOf(error);
  return name !== undefined && KEY_IN_THE_WAY_CODES.has(name) ? name : undefined;
}

/**
 * The lost condition of a write, or undefined when the failure is something else. 412: the ETag
 * moved or the object appeared; 409 ConditionalRequestConflict: a concurrent conditional write; 404
 * NoSuchKey on If-Match: it was deleted. No other 409 or 404 is a lost race.
 */
export function lostCondition(key: string, condition: WriteCondition, error: unknown): PreconditionLostError | undefined {
  const status = statusOf(error);
  const name = nameOf(error);
  if (status === 412 || name === 'PreconditionFailed') return new PreconditionLostError(key, 412);
  if (status === 409 && name !== undefined && LOST_CONDITION_CODES.has(name)) return new PreconditionLostError(key, 409);
  if (name === 'NoSuchKey' && 'ifMatch' in condition) return new PreconditionLostError(key, 404);
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
  const where = { bucket: location.bucket, key: operation === 'list' ? location.key.replace(/\/$/, '') : location.key };
  const status = statusOf(error);
  const name = nameOf(error);
  const explained = endpoint === undefined ? undefined : explainFailure(error, endpoint, location.bucket);
  const context = { cause: error, endpoint: endpoint?.url, hint: explained?.hint };
  if (name === 'NoSuchBucket') return new BucketNotFoundError(where, context);
  // versitygw answers an unknown access key with 404 XAdminUserNotFound: refused credentials, not "absent".
  if (status === 403 || name === 'AccessDenied' || name === 'XAdminUserNotFound' || (name !== undefined && REFUSED_CREDENTIALS.has(name))) {
    return new AccessDeniedError(operation, where, { ...context, s3Code: name, status });
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
    unexpectedAnswer: true,
  });
}
