/**
 * {@link ObjectStore} on the platform's `fetch`, requests signed with SigV4 (./sigv4.ts): S3 or
 * an S3-compatible server (MinIO, R2) from runtimes where the AWS SDK is too big or needs Node,
 * such as Cloudflare Workers. Same answers and errors as `S3ObjectStore`, judged on the raw HTTP
 * status and the S3 error code of the XML body.
 *
 * Snapshots always go up as one conditional PUT (S3 takes up to 5 GiB in one); there is no
 * multipart upload here. A large body is read into one array sized by its Content-Length, and a large
 * snapshot is sent streamed from its chunks (on Node), so that neither is held twice.
 */
import { KeyInTheWayError, SnapshotTooLargeError, StorageError } from '../errors.js';
import type { EndpointInfo } from './failure-hints.js';
import { joinChunks, type ChunkedBody, type ObjectStore, type ReadOptions, type ReadResult, type WriteCondition } from './object-store.js';
import { contentLength, readBody } from './read-body.js';
import { isMissingKey, keyInTheWayCode, lostCondition, oddAnswer, storageFailure } from './s3-failure.js';
import { S3Signer } from './sigv4.js';

const SNAPSHOT_CONTENT_TYPE = 'application/cbor';
/** Bodies from this size on are streamed from their chunks; smaller ones are joined and sent as one array. */
const STREAM_FROM = 1024 * 1024;

export interface FetchObjectStoreOptions {
  bucket: string;
  /** Default `AWS_REGION`'s S3: `https://s3.<region>.amazonaws.com`. Set it for MinIO or R2 (then path-style). */
  endpoint?: string;
  /** Default us-east-1 (R2 takes `auto`). */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Retries of a 5xx or 429 answer, with exponential backoff; default 2 (three attempts, as the AWS SDK). */
  retries?: number;
  /**
   * What sends each signed request; default the platform's `fetch`. Any function called as `fetch`
   * is, `(url, { method, headers, body, duplex })` with the headers as a plain object, that answers
   * as it does (rejecting when no answer came): the store reads the answer's `status`, `ok`,
   * `headers.get()` and `has()`, `body`, `text()` and `arrayBuffer()`. Such as a transport on Node's
   * `http` module that spares a small function undici's start (the sample bot's Lambda handler).
   */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The variables {@link fetchStoreFromEnvironment} reads; a Worker's `env` or Node's `process.env`. */
export interface FetchStoreEnvironment {
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_REGION?: string;
  S3_ENDPOINT?: string;
}

/**
 * A fetch store from the same variables as the AWS SDK's client: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, and `S3_ENDPOINT` for MinIO or R2.
 */
export function fetchStoreFromEnvironment(
  bucket: string,
  env: FetchStoreEnvironment,
  options: Pick<FetchObjectStoreOptions, 'fetch'> = {},
): FetchObjectStore {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new StorageError(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are needed to sign requests: set them (as Worker secrets on Cloudflare)',
      { bucket },
    );
  }
  return new FetchObjectStore({
    bucket,
    accessKeyId,
    secretAccessKey,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
    region: env.AWS_REGION || undefined,
    endpoint: env.S3_ENDPOINT || undefined,
    ...options,
  });
}

/** The text of the first `<tag>` in an XML document, entities decoded. */
function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match === null ? undefined : decodeXml(match[1]!);
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    if (entity[0] === '#') return String.fromCodePoint(Number(entity[1] === 'x' || entity[1] === 'X' ? `0${entity.slice(1)}` : entity.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()]!;
  });
}

/** `/`-separated key to URL path, each segment percent-encoded. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * S3 through `fetch`: conditional GET and PUT, DELETE and ListObjectsV2, signed with SigV4. Path-style
 * URLs on `endpoint`, virtual-hosted ones on AWS. Retries a 5xx or 429 answer; never a 409 or 412.
 *
 * @example
 * const store = new FetchObjectStore({ bucket: 'my-bot-state', region: 'eu-central-1', accessKeyId, secretAccessKey });
 * const persistence = new S3Persistence({ filepath: 's3://my-bot-state/prod/bot', store });
 */
export class FetchObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly signer: S3Signer;
  private readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  private readonly retries: number;
  /** The bucket's URL, ending in `/`. */
  private readonly bucketUrl: string;
  /** Where requests go, for messages. */
  private readonly endpoint: EndpointInfo;
  /** The server's address, e.g. `http://127.0.0.1:9000` (for `ConditionalWriteGuard`'s `endpoint`). */
  get endpointUrl(): string {
    return this.endpoint.url;
  }

  constructor(options: FetchObjectStoreOptions) {
    this.bucket = options.bucket;
    const region = options.region ?? 'us-east-1';
    const credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, sessionToken: options.sessionToken };
    this.retries = options.retries ?? 2;
    this.signer = new S3Signer(credentials, region);
    // The global looked up at each request, not when the store is made.
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    const custom = options.endpoint?.replace(/\/+$/, '');
    this.endpoint =
      custom === undefined
        ? { url: `https://${options.bucket}.s3.${region}.amazonaws.com`, custom: false, region }
        : { url: custom, custom: true, region };
    this.bucketUrl = custom === undefined ? `${this.endpoint.url}/` : `${custom}/${encodeURIComponent(options.bucket)}/`;
  }

  async get(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const headers: Record<string, string> = options.ifNoneMatch === undefined ? {} : { 'if-none-match': options.ifNoneMatch };
    const response = await this.send('read', key, this.bucketUrl + encodeKey(key), { method: 'GET', headers });
    if (response.status === 304) return { status: 'not-modified' };
    if (!response.ok) {
      const error = await errorOf(response);
      if (isMissingKey(error)) return { status: 'absent' };
      throw storageFailure('read', { bucket: this.bucket, key }, error, this.endpoint);
    }
    const etag = response.headers.get('etag');
    if (etag === null) {
      await response.body?.cancel();
      throw oddAnswer('answered a read without an ETag or a body', { bucket: this.bucket, key }, this.endpoint);
    }
    const size = contentLength(response.headers.get('content-length'));
    if (options.maxBytes !== undefined && size !== undefined && size > options.maxBytes) {
      await response.body?.cancel();
      throw new SnapshotTooLargeError(size, options.maxBytes, { bucket: this.bucket, key });
    }
    // A decoded (compressed) body has another length than the header's: read it as it comes.
    if (size === undefined || response.body === null || response.headers.has('content-encoding')) {
      return { status: 'found', body: new Uint8Array(await response.arrayBuffer()), etag };
    }
    const body = await readBody(response.body, size);
    if (body === undefined) throw oddAnswer(`sent a body whose length is not its Content-Length (${size})`, { bucket: this.bucket, key }, this.endpoint);
    return { status: 'found', body, etag };
  }

  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    const response = await this.send('write', key, this.bucketUrl + encodeKey(key), { method: 'PUT', headers: writeHeaders(condition), body });
    return this.written(key, condition, response);
  }

  /**
   * {@link put} of a body in chunks: from 1 MiB on, on Node, streamed from the chunks with its
   * Content-Length, so that neither the body nor fetch's copy of it is made (requests are signed
   * with `UNSIGNED-PAYLOAD`, so nothing hashes the body first); smaller bodies, and runtimes
   * other than Node, join the chunks and `put` them.
   */
  async putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    if (body.length < STREAM_FROM || !onNode()) return this.put(key, joinChunks(body), condition);
    const headers = { ...writeHeaders(condition), 'content-length': String(body.length) };
    const url = this.bucketUrl + encodeKey(key);
    // A stream is sent once: each attempt gets a new one.
    const init = (): SignedInit => ({ method: 'PUT', headers, body: streamOf(body), duplex: 'half' });
    return this.written(key, condition, await this.send('write', key, url, init));
  }

  /** The outcome of a conditional PUT: its ETag, or the error its answer means. */
  private async written(key: string, condition: WriteCondition, response: Response): Promise<{ etag: string }> {
    if (!response.ok) {
      const error = await errorOf(response);
      const inTheWay = keyInTheWayCode(error);
      // Unlike S3ObjectStore, no look at the bucket for the key in the way: one request per write here.
      if (inTheWay !== undefined) throw new KeyInTheWayError(inTheWay, undefined, { bucket: this.bucket, key }, { cause: error, status: response.status });
      throw lostCondition(key, condition, error) ?? storageFailure('write', { bucket: this.bucket, key }, error, this.endpoint);
    }
    await response.body?.cancel();
    const etag = response.headers.get('etag');
    if (etag === null) throw oddAnswer('acknowledged a write without an ETag', { bucket: this.bucket, key }, this.endpoint);
    return { etag };
  }

  async delete(key: string): Promise<void> {
    const response = await this.send('write', key, this.bucketUrl + encodeKey(key), { method: 'DELETE' });
    if (!response.ok) throw storageFailure('write', { bucket: this.bucket, key }, await errorOf(response), this.endpoint);
    await response.body?.cancel();
  }

  async *list(prefix: string): AsyncIterable<string> {
    let continuationToken: string | undefined;
    do {
      const query = new URLSearchParams({ 'list-type': '2', prefix });
      if (continuationToken !== undefined) query.set('continuation-token', continuationToken);
      const response = await this.send('list', prefix, `${this.bucketUrl}?${query}`, { method: 'GET' });
      if (!response.ok) throw storageFailure('list', { bucket: this.bucket, key: prefix }, await errorOf(response), this.endpoint);
      const page = await response.text();
      for (const [, contents] of page.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlText(contents!, 'Key');
        if (key !== undefined) yield key;
      }
      continuationToken = xmlText(page, 'IsTruncated') === 'true' ? xmlText(page, 'NextContinuationToken') : undefined;
    } while (continuationToken !== undefined);
  }

  /**
   * Signs and sends one request, again after a 5xx or 429 answer (with exponential backoff, as the
   * AWS SDK does); a request that got no answer is a StorageError naming the cause. `init` is a
   * function where the body is a stream, which each attempt needs anew.
   */
  private async send(operation: 'read' | 'write' | 'list', key: string, url: string, init: SignedInit | (() => SignedInit)): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const request = typeof init === 'function' ? init() : init;
        const headers = await this.signer.sign(request.method, url, request.headers ?? {});
        response = await this.fetch(url, { ...request, headers } as RequestInit);
      } catch (error) {
        // fetch's own error (Node: "fetch failed", the socket's error as its cause) is explained as the SDK's is.
        throw storageFailure(operation, { bucket: this.bucket, key }, error, this.endpoint);
      }
      if (attempt >= this.retries || (response.status < 500 && response.status !== 429)) return response;
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
    }
  }
}

/** A request before it is signed: its headers a plain object, names in lower case. */
interface SignedInit {
  method: string;
  headers?: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
  /** A stream body: the request is sent while the body is still read (Node's fetch requires it). */
  duplex?: 'half';
}

/** The headers of a conditional PUT of a snapshot. */
function writeHeaders(condition: WriteCondition): Record<string, string> {
  return {
    'content-type': SNAPSHOT_CONTENT_TYPE,
    ...('ifMatch' in condition ? { 'if-match': condition.ifMatch } : { 'if-none-match': condition.ifNoneMatch }),
  };
}

/**
 * Node itself, whose fetch (undici) sends a stream body with the Content-Length it is given. Elsewhere
 * (Workers, Deno, Bun) a stream body may go out chunked, which S3 refuses for a PUT.
 */
function onNode(): boolean {
  const global = globalThis as { process?: { versions?: Record<string, string | undefined> }; Deno?: unknown; navigator?: { userAgent?: string } };
  const versions = global.process?.versions;
  return typeof versions?.node === 'string' && versions.bun === undefined && global.Deno === undefined && global.navigator?.userAgent !== 'Cloudflare-Workers';
}

/** The chunks as a stream, each handed on as it is (views, never copied). */
function streamOf(body: ChunkedBody): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = body.chunks[next++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

/**
 * An S3 error answer as the AWS SDK shapes it, so that both stores judge it alike: the status in
 * `$metadata.httpStatusCode`, the S3 error code as `name` and `Code`, the region hints S3 gives.
 */
async function errorOf(response: Response): Promise<Error> {
  const text = await response.text().catch(() => '');
  const code = xmlText(text, 'Code');
  const message = xmlText(text, 'Message') ?? text.slice(0, 500);
  return Object.assign(new Error(message), {
    // The SDK's names for an answer without a code: NotFound for a 404 (a bodiless one: HEAD, some servers).
    name: code ?? (response.status === 404 ? 'NotFound' : 'UnknownError'),
    Code: code,
    Region: xmlText(text, 'Region'),
    Endpoint: xmlText(text, 'Endpoint'),
    $metadata: { httpStatusCode: response.status },
    $response: { headers: { 'x-amz-bucket-region': response.headers.get('x-amz-bucket-region') ?? undefined } },
  });
}
