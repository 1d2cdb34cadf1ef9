/**
 * S3 clients for the benchmark's peers, each metered the same way: every HTTP request the client
 * sends (SDK retries and multipart parts included) is recorded with its status and the bytes it
 * carried, from a middleware next to the HTTP handler. The code under measurement carries no
 * instrumentation, and every peer is counted by the same rule.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { MinioConnection } from '../../infra/minio.js';

/** One HTTP request as the client sent it and the server answered it. */
export interface RequestRecord {
  /** The SDK command, e.g. `GetObject`, `PutObject`, `UploadPart`. */
  command: string;
  status: number;
  condition?: 'If-Match' | 'If-None-Match';
  /** Request body bytes (Content-Length). */
  bytesUp: number;
  /** Response body bytes (Content-Length). */
  bytesDown: number;
}

/** The requests of one or more clients, in the order they were answered. */
export class RequestLog {
  readonly records: RequestRecord[] = [];

  /** A position to take the requests since. */
  mark(): number {
    return this.records.length;
  }

  since(mark: number): RequestRecord[] {
    return this.records.slice(mark);
  }
}

/** Requests per update, by kind (`GetObject 304`, `PutObject 412`, ...), and bytes per update. */
export interface RequestTally {
  requestsPerUpdate: number;
  /** Per update, by `command status`, e.g. `{ 'GetObject 304': 1, 'PutObject 200': 1 }`. */
  kindsPerUpdate: Record<string, number>;
  bytesUpPerUpdate: number;
  bytesDownPerUpdate: number;
  /** Conditional writes lost per update: 412 or 409 answers. */
  lostConditionsPerUpdate: number;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

export function tally(records: readonly RequestRecord[], updates: number): RequestTally {
  const kinds: Record<string, number> = {};
  let up = 0;
  let down = 0;
  let lost = 0;
  for (const record of records) {
    const kind = `${record.command} ${record.status}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    up += record.bytesUp;
    down += record.bytesDown;
    if (record.status === 412 || record.status === 409) lost++;
  }
  return {
    requestsPerUpdate: round(records.length / updates),
    kindsPerUpdate: Object.fromEntries(Object.entries(kinds).sort().map(([kind, n]) => [kind, round(n / updates)])),
    bytesUpPerUpdate: Math.round(up / updates),
    bytesDownPerUpdate: Math.round(down / updates),
    lostConditionsPerUpdate: round(lost / updates),
  };
}

interface RawRequest {
  method?: string;
  headers?: Record<string, string | undefined>;
}
interface RawResponse {
  statusCode?: number;
  headers?: Record<string, string | undefined>;
}

const lengthOf = (headers: Record<string, string | undefined> | undefined) => Number(headers?.['content-length'] ?? 0) || 0;

/**
 * A client for the MinIO at `connection`, recording each request into `log`.
 *
 * @example
 * const log = new RequestLog();
 * const client = meteredClient(minio, log);
 * const mark = log.mark();
 * await persistence.updateUserData(42, data);
 * tally(log.since(mark), 1); // { requestsPerUpdate: 2, kindsPerUpdate: { 'GetObject 304': 1, 'PutObject 200': 1 }, ... }
 */
export function meteredClient(connection: MinioConnection, log: RequestLog): S3Client {
  const client = new S3Client({
    endpoint: connection.endpoint,
    region: connection.region,
    forcePathStyle: true,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as RawRequest;
      const headers = request.headers ?? {};
      const condition = headers['if-match'] !== undefined ? 'If-Match' : headers['if-none-match'] !== undefined ? 'If-None-Match' : undefined;
      const record = (status: number, response: RawResponse | undefined) =>
        log.records.push({
          command: String(context.commandName ?? '?').replace(/Command$/, ''),
          status,
          ...(condition ? { condition } : {}),
          bytesUp: lengthOf(headers),
          bytesDown: lengthOf(response?.headers),
        });
      try {
        const result = await next(args);
        const response = result.response as RawResponse;
        record(response.statusCode ?? 0, response);
        return result;
      } catch (error) {
        record((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0, undefined);
        throw error;
      }
    },
    // Innermost: the raw HTTP answer of each attempt, before the SDK turns a 412 into an error.
    { step: 'deserialize', priority: 'low', name: 'benchRequestMeter' },
  );
  return client;
}

/** An unmetered client, for setting up data. */
export function plainClient(connection: MinioConnection): S3Client {
  return meteredClient(connection, new RequestLog());
}

/** Stores `body` at `key` unconditionally. */
export async function putObject(client: S3Client, bucket: string, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}
