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
import type { Upload as MultipartUpload } from '@aws-sdk/lib-storage';
import { KeyInTheWayError, SnapshotTooLargeError, StorageError } from '../errors.js';
import { endpointOf as endpointInfoOf, type EndpointInfo } from './failure-hints.js';
import { joinChunks, type ChunkedBody, type ObjectStore, type ReadOptions, type ReadResult, type WriteCondition } from './object-store.js';
import { readBody } from './read-body.js';
import { isMissingKey, keyInTheWayCode, lostCondition, oddAnswer, statusOf, storageFailure } from './s3-failure.js';

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

/**
 * lib-storage's `Upload`, imported on the first snapshot of 16 MiB or more: most bots never write
 * one, and a cold start need not evaluate it (in a bundle it is then a module initialised on first use).
 */
async function multipartUpload(): Promise<typeof MultipartUpload> {
  return (await import('@aws-sdk/lib-storage')).Upload;
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

/**
 * The chunks as a stream of views no longer than `partSize`: lib-storage joins what it gathers for a
 * part, so a chunk larger than a part would be copied whole.
 */
function partsStream(body: ChunkedBody, partSize: number): ReadableStream<Uint8Array> {
  let next = 0;
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = body.chunks[next];
      if (chunk === undefined) return controller.close();
      const end = Math.min(chunk.length, offset + partSize);
      controller.enqueue(chunk.subarray(offset, end));
      if (end === chunk.length) [next, offset] = [next + 1, 0];
      else offset = end;
    },
  });
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

  async get(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, IfNoneMatch: options.ifNoneMatch }),
      );
      if (response.$metadata.httpStatusCode === 304) return { status: 'not-modified' };
      if (response.ETag === undefined || response.Body === undefined) {
        throw await this.oddAnswer('answered a read without an ETag or a body', key);
      }
      const size = response.ContentLength;
      if (options.maxBytes !== undefined && size !== undefined && size > options.maxBytes) {
        await response.Body.transformToWebStream().cancel();
        throw new SnapshotTooLargeError(size, options.maxBytes, { bucket: this.bucket, key });
      }
      // Node's answer is a stream of chunks: read into one array sized by Content-Length, not gathered and joined.
      if (size === undefined || !(Symbol.asyncIterator in response.Body) || response.ContentEncoding !== undefined) {
        return { status: 'found', body: await response.Body.transformToByteArray(), etag: response.ETag };
      }
      const body = await readBody(response.Body as AsyncIterable<Uint8Array>, size);
      if (body === undefined) throw await this.oddAnswer(`sent a body whose length is not its Content-Length (${size})`, key);
      return { status: 'found', body, etag: response.ETag };
    } catch (error) {
      if (error instanceof StorageError || error instanceof SnapshotTooLargeError) throw error;
      if (statusOf(error) === 304) return { status: 'not-modified' };
      if (isMissingKey(error)) return { status: 'absent' };
      throw await this.failure('read', key, error);
    }
  }

  put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    return this.upload(key, body, body.length, condition);
  }

  /** A conditional PUT of `size` bytes: a multipart upload from `multipartThreshold` on. */
  private async upload(key: string, body: Uint8Array | ReadableStream<Uint8Array>, size: number, condition: WriteCondition): Promise<{ etag: string }> {
    const params = {
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentType: SNAPSHOT_CONTENT_TYPE,
      ...('ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch }),
    };
    let etag: string | undefined;
    try {
      if (size >= this.multipartThreshold) {
        const Upload = await multipartUpload();
        const upload = new Upload({ client: this.client, params, partSize: this.multipartThreshold, leavePartsOnError: false });
        etag = (await upload.done()).ETag;
      } else {
        etag = (await this.client.send(new PutObjectCommand(params))).ETag;
      }
    } catch (error) {
      const lost = lostCondition(key, condition, error);
      if (lost !== undefined) throw lost;
      const inTheWay = keyInTheWayCode(error);
      if (inTheWay !== undefined) throw await this.keyInTheWay(inTheWay, key, error);
      throw await this.failure('write', key, error);
    }
    if (etag === undefined) {
      throw await this.oddAnswer('acknowledged a write without an ETag', key);
    }
    return { etag };
  }

  /**
   * {@link put} of a body in chunks: a multipart upload (from `multipartThreshold` on) reads its
   * parts from the chunks, streamed, so that the whole body is never joined; a smaller body is joined
   * and sent as one PutObject.
   */
  putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    if (body.length < this.multipartThreshold) return this.put(key, joinChunks(body), condition);
    return this.upload(key, partsStream(body, this.multipartThreshold), body.length, condition);
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

  private async failure(operation: 'read' | 'write' | 'list', key: string, error: unknown): Promise<StorageError> {
    return storageFailure(operation, { bucket: this.bucket, key }, error, await this.endpoint());
  }

  private async oddAnswer(what: string, key: string): Promise<StorageError> {
    return oddAnswer(what, { bucket: this.bucket, key }, await this.endpoint());
  }

  /** Where requests go, for messages; undefined when the client's configuration cannot say. */
  private endpoint(): Promise<EndpointInfo | undefined> {
    return endpointInfoOf(this.client, this.bucket).catch(() => undefined);
  }
}
