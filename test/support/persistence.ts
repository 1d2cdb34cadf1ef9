// S3Persistence instances on a bucket of the test MinIO, and the raw view of that bucket the tests
// judge them by.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3Persistence, type PersistenceMetrics, type S3PersistenceOptions } from '../../src/index.js';
import { isConditionalWritesKey } from '../../src/store/conditional-write-guard.js';
import { freshBucket, minioClient } from './minio.js';

type Data = Record<string, unknown>;

/** The options a test chooses; the bucket, the filepath and the client come from {@link TestBucket}. */
export type InstanceOptions = Omit<S3PersistenceOptions<Data, Data, Data>, 'filepath' | 'bucket' | 'client'>;

/** One HTTP request an instance sent, as the server answered it. */
export interface RecordedRequest {
  /** The SDK command, e.g. `PutObjectCommand`, `CompleteMultipartUploadCommand`. */
  command: string;
  /** The object key the command names, if any. */
  key: string | undefined;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  /** The HTTP status of the answer; undefined when there was none. */
  status: number | undefined;
}

interface HttpShape {
  headers?: Record<string, string>;
  statusCode?: number;
}

/** Records every HTTP request `client` sends (each retry included), with its conditions and status. */
export function recordRequests(client: S3Client): RecordedRequest[] {
  const requests: RecordedRequest[] = [];
  const header = (headers: Record<string, string> | undefined, name: string): string | undefined =>
    Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as HttpShape | undefined)?.headers;
      const request: RecordedRequest = {
        command: context.commandName ?? 'unknown',
        key: (args.input as { Key?: string } | undefined)?.Key,
        ifMatch: header(headers, 'if-match'),
        ifNoneMatch: header(headers, 'if-none-match'),
        status: undefined,
      };
      requests.push(request);
      try {
        const result = await next(args);
        request.status = (result.response as HttpShape | undefined)?.statusCode;
        return result;
      } catch (error) {
        request.status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw error;
      }
    },
    { step: 'deserialize', name: 'recordRequestsForTests' },
  );
  return requests;
}

/**
 * A bucket of its own on the test MinIO. Every persistence it opens has its own S3 client, as
 * separate Lambda instances have, and records its requests (see {@link TestBucket.requestsOf}).
 */
export class TestBucket {
  /** A client for looking at the bucket behind the persistences' backs. */
  readonly raw: S3Client = minioClient();
  private readonly clients: S3Client[] = [this.raw];
  private readonly instances = new WeakMap<object, { client: S3Client; requests: RecordedRequest[] }>();

  constructor(readonly name: string) {}

  /** A fresh persistence on `s3://<bucket>/<path>` (a cold start). */
  open<UD = Data, CD = Data, BD = Data>(path: string, options: InstanceOptions = {}): S3Persistence<UD, CD, BD> {
    const client = minioClient();
    this.clients.push(client);
    const requests = recordRequests(client);
    const persistence = new S3Persistence<UD, CD, BD>({
      ...(options as S3PersistenceOptions<UD, CD, BD>),
      filepath: `s3://${this.name}/${path}`,
      client,
    });
    this.instances.set(persistence, { client, requests });
    return persistence;
  }

  /**
   * The HTTP requests `persistence` has sent so far for its state: the check of conditional writes
   * (test/integration/conditional-writes.test.ts) is left out, as in {@link keys}.
   */
  requestsOf(persistence: object): RecordedRequest[] {
    return this.instanceOf(persistence).requests.filter((request) => request.key === undefined || !isConditionalWritesKey(request.key));
  }

  /** The S3 client of `persistence`, e.g. to add a middleware. */
  clientOf(persistence: object): S3Client {
    return this.instanceOf(persistence).client;
  }

  private instanceOf(persistence: object): { client: S3Client; requests: RecordedRequest[] } {
    const instance = this.instances.get(persistence);
    if (instance === undefined) throw new Error('this persistence was not opened by this TestBucket');
    return instance;
  }

  /** Every key in the bucket (or under `prefix`), sorted, but the objects of the check of conditional writes. */
  async keys(prefix?: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.raw.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined && !isConditionalWritesKey(object.Key)) keys.push(object.Key);
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return keys.sort();
  }

  /** The stored bytes, ETag and Content-Type of `key`. */
  async object(key: string): Promise<{ body: Uint8Array; etag: string | undefined; contentType: string | undefined }> {
    const response = await this.raw.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    const body = response.Body === undefined ? new Uint8Array() : await response.Body.transformToByteArray();
    return { body, etag: response.ETag, contentType: response.ContentType };
  }

  /** Writes `body` at `key` unconditionally, as an operator or a foreign tool would. */
  async put(key: string, body: Uint8Array): Promise<void> {
    await this.raw.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body }));
  }

  async remove(key: string): Promise<void> {
    await this.raw.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
  }

  /** Multipart uploads started and neither completed nor aborted. */
  async unfinishedUploads(): Promise<string[]> {
    const page = await this.raw.send(new ListMultipartUploadsCommand({ Bucket: this.name }));
    return (page.Uploads ?? []).map((upload) => upload.Key ?? '');
  }

  /** Closes every client this bucket handed out. */
  destroy(): void {
    for (const client of this.clients) client.destroy();
  }
}

/** A {@link TestBucket} on a new bucket whose name starts with `prefix`. */
export async function openBucket(prefix: string): Promise<TestBucket> {
  return new TestBucket(await freshBucket(prefix));
}

/** A sum of the metrics of several instances, and the cost per update. */
export function costPerUpdate(
  instances: readonly { readonly metrics: PersistenceMetrics }[],
  updates: number,
): { gets: number; puts: number; preconditionsLost: number; conflicts: number; getsPerUpdate: number; putsPerUpdate: number } {
  const total = { gets: 0, puts: 0, preconditionsLost: 0, conflicts: 0 };
  for (const { metrics } of instances) {
    total.gets += metrics.gets;
    total.puts += metrics.puts;
    total.preconditionsLost += metrics.preconditionsLost;
    total.conflicts += metrics.conflicts;
  }
  return { ...total, getsPerUpdate: total.gets / updates, putsPerUpdate: total.puts / updates };
}
