/**
 * Every error this library throws is a `PersistenceError` with a stable `code`, so callers can
 * branch on `error.code` even when `instanceof` fails across bundles.
 */

/** Stable codes of {@link PersistenceError}. */
export type PersistenceErrorCode =
  | 'INVALID_OPTIONS'
  | 'SNAPSHOT_UNREADABLE'
  | 'UNSERIALIZABLE'
  | 'WRITE_CONFLICT'
  | 'STORAGE_FAILURE'
  | 'BUCKET_NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'UPDATE_IN_PROGRESS'
  | 'KEY_IN_THE_WAY'
  | 'CONDITIONAL_WRITES_IGNORED'
  | 'LAYOUT_COLLISION'
  | 'PRECONDITION_LOST'
  | 'INVALID_USE'
  | 'SNAPSHOT_TOO_LARGE';

interface Location {
  bucket?: string;
  key?: string;
}

function where({ bucket, key }: Location): string {
  if (bucket === undefined) return '';
  return key === undefined ? ` (bucket "${bucket}")` : ` (s3://${bucket}/${key})`;
}

/**
 * The base class of every error of this library: everything it throws is one, with a `code`, except
 * two it passes on as they come: the JavaScript `TypeError` of an assignment to a read-only property
 * (`updateInterval`), and Node's file error (code `ENOENT`) for a pickle file that the PTB import
 * cannot find. Errors of the caller's own code (a handler, a merge function) pass through unchanged.
 *
 * @example
 * try { await persistence.flush(); }
 * catch (error) { if (error instanceof PersistenceError && error.code === 'WRITE_CONFLICT') retryLater(); }
 */
export class PersistenceError extends Error {
  override readonly name: string = 'PersistenceError';
  readonly code: PersistenceErrorCode;
  readonly bucket: string | undefined;
  readonly key: string | undefined;

  constructor(code: PersistenceErrorCode, message: string, location: Location = {}, options?: { cause?: unknown }) {
    super(message + where(location), options);
    this.code = code;
    this.bucket = location.bucket;
    this.key = location.key;
  }
}

/**
 * A call the library cannot serve as made: user data of an update without a user, a conversation
 * not registered, callback data used while disabled. A bug of the caller, not of the storage.
 */
export class InvalidUseError extends PersistenceError {
  override readonly name = 'InvalidUseError';
  constructor(message: string) {
    super('INVALID_USE', message);
  }
}

/** The options given to the constructor are not usable. */
export class InvalidOptionsError extends PersistenceError {
  override readonly name = 'InvalidOptionsError';
  constructor(message: string) {
    super('INVALID_OPTIONS', message);
  }
}

/**
 * A stored object could not be decoded: corrupt, not a snapshot, or written by a newer release.
 * This instance never overwrites that object.
 */
export class SnapshotDecodeError extends PersistenceError {
  override readonly name = 'SnapshotDecodeError';
  constructor(reason: string, location: Location, options?: { cause?: unknown }) {
    super(
      'SNAPSHOT_UNREADABLE',
      `cannot decode the stored snapshot: ${reason}. It is left untouched; restore a good version or delete it`,
      location,
      options,
    );
  }
}

/** A value given to `update*` cannot be stored. Nothing was written and the stored state is unchanged. */
export class SerializationError extends PersistenceError {
  override readonly name = 'SerializationError';
  /** Where in the data the value sits, e.g. `user_data[12345].handler`. */
  readonly path: string;
  constructor(path: string, reason: string, location: Location = {}) {
    super('UNSERIALIZABLE', `cannot store ${path}: ${reason}`, location);
    this.path = path;
  }
}

/** Another writer kept winning and the retries ran out. The pending changes are kept for the next write. */
export class WriteConflictError extends PersistenceError {
  override readonly name = 'WriteConflictError';
  readonly attempts: number;
  /** `changesKept: false` for a write that keeps nothing (a key-value store's single write). */
  constructor(attempts: number, location: Location, options: { cause?: unknown; changesKept?: boolean } = {}) {
    const outcome =
      options.changesKept === false ? 'nothing was written' : 'the changes are kept and go out with the next write';
    super('WRITE_CONFLICT', `gave up after ${attempts} conditional writes lost to concurrent writers; ${outcome}`, location, {
      cause: options.cause,
    });
    this.attempts = attempts;
  }
}

/** Where a failed request went, and what to try (`store/failure-hints.ts` writes both). */
export interface StorageFailureContext {
  cause?: unknown;
  /** The URL of the endpoint the request went to. */
  endpoint?: string;
  /** One line on what to do, appended to the message. */
  hint?: string;
}

/** The object store failed or refused a request. */
export class StorageError extends PersistenceError {
  override readonly name: string = 'StorageError';
  /** HTTP status of the failed request, when there was a response. */
  readonly status: number | undefined;
  /** The endpoint the request went to, when known. */
  readonly endpoint: string | undefined;
  /** The server gave an answer no S3 server gives (a 304 to a read without condition, a write without ETag). */
  readonly unexpectedAnswer: boolean;
  constructor(
    message: string,
    location: Location,
    options: StorageFailureContext & { status?: number; code?: PersistenceErrorCode; unexpectedAnswer?: boolean } = {},
  ) {
    const hint = options.hint === undefined ? '' : `; ${options.hint}`;
    super(options.code ?? 'STORAGE_FAILURE', message + hint, location, { cause: options.cause });
    this.status = options.status;
    this.endpoint = options.endpoint;
    this.unexpectedAnswer = options.unexpectedAnswer ?? false;
  }
}

/** The bucket does not exist. */
export class BucketNotFoundError extends StorageError {
  override readonly name = 'BucketNotFoundError';
  constructor(location: Location, options: StorageFailureContext = {}) {
    const at = options.endpoint === undefined ? '' : ` at ${options.endpoint}`;
    super(`the bucket "${location.bucket ?? ''}" does not exist${at}`, location, {
      hint: 'create it or fix the filepath',
      ...options,
      status: 404,
      code: 'BUCKET_NOT_FOUND',
    });
  }
}

/** Error codes with which S3 refuses the credentials themselves, not a permission. */
export const REFUSED_CREDENTIALS: ReadonlySet<string> = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  // versitygw answers an unknown access key with 404 XAdminUserNotFound.
  'XAdminUserNotFound',
]);

/** The credentials in use were refused, or may not do what was asked (HTTP 403). */
export class AccessDeniedError extends StorageError {
  override readonly name = 'AccessDeniedError';
  /** The S3 error code, e.g. `AccessDenied` or `SignatureDoesNotMatch`. */
  readonly s3Code: string | undefined;
  constructor(operation: 'read' | 'write' | 'list', location: Location, options: StorageFailureContext & { s3Code?: string; status?: number } = {}) {
    const { s3Code } = options;
    const at = options.endpoint === undefined ? '' : ` at ${options.endpoint}`;
    let message: string;
    if (s3Code !== undefined && REFUSED_CREDENTIALS.has(s3Code)) {
      message = `the credentials were refused${at} (${s3Code}): check the access key id, secret key and session token the S3 client uses`;
    } else {
      const hint = {
        read: 'grant s3:GetObject on the prefix, and s3:ListBucket on the bucket (without it S3 answers 403 instead of 404 for a key that does not exist yet)',
        write: 'grant s3:PutObject on the prefix (and s3:GetObject, s3:ListBucket to read it back)',
        list: 'grant s3:ListBucket on the bucket, with the condition s3:prefix like "<prefix>*"',
      }[operation];
      message = `access denied on ${operation}${at}${s3Code === undefined ? '' : ` (${s3Code})`}: ${hint}`;
    }
    super(message, location, { ...options, status: options.status ?? 403, code: 'ACCESS_DENIED' });
    this.s3Code = s3Code;
  }
}

/**
 * Another delivery of this update holds its claim and is running it now (see the runtime's
 * `claimUpdates`): answer the webhook with an error status, so that Telegram delivers the update
 * again later; by then it is handled, or the claim has expired and this delivery runs it.
 */
export class UpdateInProgressError extends PersistenceError {
  override readonly name = 'UpdateInProgressError';
  readonly updateId: number;

  constructor(updateId: number) {
    super('UPDATE_IN_PROGRESS', `update ${updateId} is being handled by another delivery; answer with an error so that Telegram delivers it again`);
    this.updateId = updateId;
  }
}

/**
 * The server keeps objects as files and refused a key because of another one in its way (HTTP 409):
 * an object at a parent path of the key (`ObjectParentIsFile`), or keys under the key's path
 * (`ExistingObjectIsDirectory`). S3 allows both; servers such as versitygw do not. Nothing was written.
 */
export class KeyInTheWayError extends StorageError {
  override readonly name = 'KeyInTheWayError';
  /** The key that is in the way, when the server's answer and a look at the bucket could tell. */
  readonly keyInTheWay: string | undefined;
  /** The S3 error code, e.g. `ObjectParentIsFile`. */
  readonly s3Code: string;
  constructor(
    s3Code: string,
    keyInTheWay: string | undefined,
    location: Location,
    options: { cause?: unknown; status?: number } = {},
  ) {
    const blocker = keyInTheWay === undefined ? 'another key' : `"${keyInTheWay}"`;
    const reason =
      s3Code === 'ExistingObjectIsDirectory'
        ? `keys exist under this key's path (${blocker}), and this server cannot keep an object at the same path`
        : s3Code === 'ObjectParentIsFile'
          ? `${blocker} is an object at a parent path of this key, and this server cannot keep keys under an object`
          : `${blocker} is in its way`;
    super(
      `the server refused the write (${s3Code}): ${reason}. ` +
        'Two layouts stored at one path (e.g. a single-file snapshot and a sharded one) collide on such servers: ' +
        `move or delete ${blocker}, or use another filepath`,
      location,
      { ...options, status: options.status ?? 409, code: 'KEY_IN_THE_WAY' },
    );
    this.keyInTheWay = keyInTheWay;
    this.s3Code = s3Code;
  }
}

/**
 * The server accepted a write whose condition did not hold (`If-None-Match: *` on an existing
 * object, or `If-Match` with a stale ETag): it ignores conditional writes, and concurrent writers
 * would silently lose each other's updates. Found by a probe before any write was acknowledged.
 */
export class ConditionalWritesIgnoredError extends StorageError {
  override readonly name = 'ConditionalWritesIgnoredError';
  /** The server's address, as the S3 client reaches it. */
  override readonly endpoint: string;
  /** What the server failed, e.g. `a PUT with If-Match and a stale ETag succeeded`. */
  readonly failed: string;
  constructor(endpoint: string, failed: string, location: Location) {
    super(
      `the S3 server at ${endpoint} ignores conditional writes: ${failed}. Nothing was written. ` +
        'Use a server that honours If-None-Match and If-Match on PutObject and CompleteMultipartUpload (AWS S3, MinIO, ' +
        "see the README's compatibility table), or accept lost updates with conditionalWrites: 'trust' " +
        'only if a single writer ever runs at once',
      location,
      { code: 'CONDITIONAL_WRITES_IGNORED' },
    );
    this.endpoint = endpoint;
    this.failed = failed;
  }
}

/**
 * Two layouts meet at one path: an object of one (a single-file snapshot at `<path>`) where the
 * other keeps keys under it (the sharded layout's `<path>/user_data/...`). Thrown before anything is
 * written: by `migrateLayout` when the server cannot hold both (it refuses a key under an object, or
 * leaves it out of listings), and by a sharded `S3Persistence` whose listing is empty while a
 * single-file snapshot at its path holds entries of that kind.
 */
export class LayoutCollisionError extends PersistenceError {
  override readonly name = 'LayoutCollisionError';
  /** The object of one layout, e.g. `prod/bot` (a single-file snapshot). */
  readonly objectKey: string;
  /** A key (or the prefix of the keys) the other layout keeps under it, e.g. `prod/bot/user_data/`. */
  readonly otherKey: string;
  constructor(message: string, keys: { objectKey: string; otherKey: string }, location: Location) {
    super('LAYOUT_COLLISION', message, location);
    this.objectKey = keys.objectKey;
    this.otherKey = keys.otherKey;
  }
}

/**
 * A snapshot larger than the memory the instance may load it in (`maxSnapshotBytes`): refused before
 * its body is read, instead of the process dying of out-of-memory. Nothing was read or written.
 */
export class SnapshotTooLargeError extends PersistenceError {
  override readonly name = 'SnapshotTooLargeError';
  /** The object's size in bytes, from the GET's headers. */
  readonly size: number;
  /** The limit it exceeds. */
  readonly limit: number;

  constructor(size: number, limit: number, location: Location) {
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    super(
      'SNAPSHOT_TOO_LARGE',
      `the snapshot is ${mib(size)}, more than the ${mib(limit)} this instance may load (maxSnapshotBytes): move to the ` +
        "sharded layout (npx telegram-s3-persistence migrate URL --to sharded), or give the function more memory",
      location,
    );
    this.size = size;
    this.limit = limit;
  }
}
