/**
 * {@link ObjectStore} on S3 or an S3-compatible server (MinIO), with AWS SDK v3.
 *
 * Errors are judged by `$metadata.httpStatusCode` first and the error name second, as SDK v3
 * reports a 304 and some 404s without a reliable name.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AccessDeniedError, BucketNotFoundError, KeyInTheWayError, REFUSED_CREDENTIALS, StorageError } from '../errors.js';
import { endpointOf as endpointInfoOf, explainFailure, type EndpointInfo } from './failure-hints.js';
import { PreconditionLostError, type ObjectStore, type ReadResult, type WriteCondition } from './object-store.js';

export const SNAPSHOT_CONTENT_TYPE = 'application/cbor';
/** Snapshots from this size on go up as multipart uploads (the condition then rides on CompleteMultipartUpload). */
export const DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * An S3 client from the environment: `AWS_REGION` (or `AWS_DEFAULT_REGION`, else us-east-1), and
 * `S3_ENDPOINT` for an S3-compatible server such as MinIO, then with path-style addressing.
 */
export function clientFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.S3_ENDPOINT;
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Bytes from which a snapshot is written with a multipart upload; default 16 MiB, at least 5 MiB. */
  multipartThreshold?: number;
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string | undefined {
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
function isMissingKey(error: unknown): boolean {
  const shape = error as SdkErrorShape | null;
  if (nameOf(error) === 'NoSuchKey') return true;
  return statusOf(error) === 404 && shape?.Code === undefined && shape?.name === 'NotFound';
}

/** The parent paths of `key`, nearest first: `a/b/c` has `a/b` and `a`. */
function parentPaths(key: string): string[] {
  const parents: string[] = [];
  for (let slash = key.lastIndexOf('/'); slash > 0; slash = key.lastIndexOf('/', slash - 1)) parents.push(key.slice(0, slash));
  return parents;
}

/**
 * An S3 server's address as `client` reaches it: the configured endpoint, or AWS S3 in the client's
 * region. Names the server in messages, and tells one server from another.
 */
export async function endpointOf(client: S3Client): Promise<string> {
  const configured = await client.config.endpoint?.();
  if (configured !== undefined) {
    const port = configured.port === undefined ? '' : `:${configured.port}`;
    return `${configured.protocol}//${configured.hostname}${port}${configured.path === '/' ? '' : configured.path}`;
  }
  return `AWS S3 (${await client.config.region()})`;
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly multipartThreshold: number;

  constructor(options: S3ObjectStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.multipartThreshold = Math.max(options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD, MIN_PART_SIZE);
  }

  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<ReadResult> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, IfNoneMatch: options.ifNoneMatch }),
      );
      if (response.$metadata.httpStatusCode === 304) return { status: 'not-modified' };
      if (response.ETag === undefined || response.Body === undefined) {
        throw await this.oddAnswer('answered a read without an ETag or a body', key);
      }
      return { status: 'found', body: await response.Body.transformToByteArray(), etag: response.ETag };
    } catch (error) {
      if (error instanceof StorageError) throw error;
      const status = statusOf(error);
      if (status === 304) return { status: 'not-modified' };
      if (isMissingKey(error)) return { status: 'absent' };
      throw await this.failure('read', key, error);
    }
  }

  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    const params = {
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: SNAPSHOT_CONTENT_TYPE,
      ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch }),
    };
    let etag: string | undefined;
    try {
      if (body.length >= this.multipartThreshold) {
        const upload = new Upload({ client: this.client, params, partSize: this.multipartThreshold, leavePartsOnError: false });
        etag = (await upload.done()).ETag;
      } else {
        etag = (await this.client.send(new PutObjectCommand(params))).ETag;
      }
    } catch (error) {
      const status = statusOf(error);
      const name = nameOf(error);
      // 412: the ETag moved or the object appeared; 409 ConditionalRequestConflict: a concurrent
      // conditional write; 404 NoSuchKey on If-Match: it was deleted. No other 409 or 404 is a lost race.
      if (status === 412 || name === 'PreconditionFailed') throw new PreconditionLostError(key, 412);
      if (status === 409 && name !== undefined && LOST_CONDITION_CODES.has(name)) throw new PreconditionLostError(key, 409);
      if (name !== undefined && KEY_IN_THE_WAY_CODES.has(name)) throw await this.keyInTheWay(name, key, error);
      if (name === 'NoSuchKey' && 'ifMatch' in condition) throw new PreconditionLostError(key, 404);
      throw await this.failure('write', key, error);
    }
    if (etag === undefined) {
      throw await this.oddAnswer('acknowledged a write without an ETag', key);
    }
    return { etag };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw await this.failure('write', key, error);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: continuationToken }),
        );
      } catch (error) {
        throw await this.failure('list', prefix, error);
      }
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /** The refusal of `key` because of another key, named after a look at the bucket where that is cheap. */
  private async keyInTheWay(s3Code: string, key: string, cause: unknown): Promise<KeyInTheWayError> {
    let blocker: string | undefined;
    try {
      if (s3Code === 'ExistingObjectIsDirectory') {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${key}/`, MaxKeys: 1 }),
        );
        blocker = page.Contents?.[0]?.Key;
      } else {
        for (const parent of parentPaths(key)) {
          if (await this.exists(parent)) {
            blocker = parent;
            break;
          }
        }
      }
    } catch {
      // The look is a courtesy: the refusal is reported whatever it finds.
    }
    return new KeyInTheWayError(s3Code, blocker, { bucket: this.bucket, key }, { cause, status: statusOf(cause) });
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /**
   * The error for a failed request: the endpoint, the bucket, the key (a listed prefix as the path
   * it lists, without the `/` the listing adds), the cause in words, and a hint when one applies.
   */
  private async failure(operation: 'read' | 'write' | 'list', key: string, error: unknown): Promise<StorageError> {
    const location = { bucket: this.bucket, key: operation === 'list' ? key.replace(/\/$/, '') : key };
    const status = statusOf(error);
    const name = nameOf(error);
    const endpoint = await this.endpoint();
    const explained = endpoint === undefined ? undefined : explainFailure(error, endpoint, this.bucket);
    const context = { cause: error, endpoint: endpoint?.url, hint: explained?.hint };
    if (name === 'NoSuchBucket') return new BucketNotFoundError(location, context);
    // versitygw answers an unknown access key with 404 XAdminUserNotFound: refused credentials, not "absent".
    if (status === 403 || name === 'AccessDenied' || name === 'XAdminUserNotFound' || (name !== undefined && REFUSED_CREDENTIALS.has(name))) {
      return new AccessDeniedError(operation, location, { ...context, s3Code: name, status });
    }
    const at = endpoint === undefined ? '' : ` at ${endpoint.url}`;
    const cause = explained?.cause ?? (error instanceof Error ? error.message : String(error));
    return new StorageError(`${operation} failed${at}: ${cause}`, location, { ...context, status });
  }

  /** An answer no S3 server gives, naming the endpoint that gave it. */
  private async oddAnswer(what: string, key: string): Promise<StorageError> {
    const endpoint = await this.endpoint();
    return new StorageError(`the server${endpoint === undefined ? '' : ` at ${endpoint.url}`} ${what}`, { bucket: this.bucket, key }, {
      endpoint: endpoint?.url,
      hint: 'check that the endpoint is an S3-compatible server (S3_ENDPOINT)',
      unexpectedAnswer: true,
    });
  }

  /** Where requests go, for messages; undefined when the client's configuration cannot say. */
  private endpoint(): Promise<EndpointInfo | undefined> {
    return endpointInfoOf(this.client, this.bucket).catch(() => undefined);
  }
}
