/**
 * FetchObjectStore against a scripted S3 on 127.0.0.1: every answer a read, a conditional write, a
 * delete and a listing can get, and what the store makes of it; the same outcomes as S3ObjectStore.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccessDeniedError, BucketNotFoundError, KeyInTheWayError, StorageError } from '../../src/errors.js';
import { FetchObjectStore, fetchStoreFromEnvironment } from '../../src/store/fetch-store.js';
import { PreconditionLostError } from '../../src/store/object-store.js';
import { rejectionOf } from '../support/s3-responses.js';

const BUCKET = 'bot-state';
const KEY = 'prod/state';

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** The answers still to give, in order, and the requests received. */
let answers: Answer[];
let received: Received[];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks) });
      const answer = answers.shift() ?? { status: 599, body: 'no answer scripted' };
      response.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  received = [];
});

function newStore(retries = 0): FetchObjectStore {
  return new FetchObjectStore({ bucket: BUCKET, endpoint, accessKeyId: 'test', secretAccessKey: 'test', retries });
}

/** An S3 error answer with its XML body. */
function s3Error(status: number, code: string, message = `${code} (scripted)`): Answer {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>/${BUCKET}/${KEY}</Resource></Error>`,
  };
}

const found = (body: string, etag: string): Answer => ({ status: 200, headers: { etag }, body });

describe('FetchObjectStore.get', () => {
  it('returns the body and the ETag of a 200, from a SigV4-signed GET of the path-style URL', async () => {
    answers.push(found('snapshot', '"e1"'));

    const result = await newStore().get(KEY);

    expect(result).toEqual({ status: 'found', body: new TextEncoder().encode('snapshot'), etag: '"e1"' });
    const [request] = received;
    expect(request).toMatchObject({ method: 'GET', url: `/${BUCKET}/prod/state` });
    expect(request!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/s3\/aws4_request/);
    expect(request!.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  });

  it('sends If-None-Match when asked to revalidate an ETag, and answers not-modified to 304', async () => {
    answers.push({ status: 304 });

    expect(await newStore().get(KEY, { ifNoneMatch: '"e1"' })).toEqual({ status: 'not-modified' });
    expect(received[0]!.headers['if-none-match']).toBe('"e1"');
  });

  it('answers absent to 404 NoSuchKey', async () => {
    answers.push(s3Error(404, 'NoSuchKey'));

    expect(await newStore().get(KEY)).toEqual({ status: 'absent' });
  });

  it('answers absent to a bodiless 404, as the SDK store does (its NotFound)', async () => {
    answers.push({ status: 404 });

    expect(await newStore().get(KEY)).toEqual({ status: 'absent' });
  });

  it('takes a 404 with another code (versitygw: XAdminUserNotFound) for refused credentials, not an absent key', async () => {
    answers.push(s3Error(404, 'XAdminUserNotFound'));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ s3Code: 'XAdminUserNotFound', status: 404 });
  });

  it('throws BucketNotFoundError naming the bucket on 404 NoSuchBucket', async () => {
    answers.push(s3Error(404, 'NoSuchBucket'));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect(error).toMatchObject({ code: 'BUCKET_NOT_FOUND', bucket: BUCKET });
  });

  it('throws AccessDeniedError naming s3:GetObject and s3:ListBucket on 403 AccessDenied', async () => {
    answers.push(s3Error(403, 'AccessDenied'));

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', status: 403, bucket: BUCKET, key: KEY, s3Code: 'AccessDenied' });
    expect((error as Error).message).toContain('s3:GetObject');
    expect((error as Error).message).toContain('s3:ListBucket');
  });

  it('says the credentials were refused on 403 SignatureDoesNotMatch', async () => {
    answers.push(s3Error(403, 'SignatureDoesNotMatch'));

    const error = await rejectionOf(newStore().get(KEY));

    expect((error as Error).message).toContain(`the credentials were refused at ${endpoint} (SignatureDoesNotMatch)`);
  });

  it('throws StorageError with the status, code and message of a 500 once its retries are spent', async () => {
    answers.push(s3Error(500, 'InternalError', 'We encountered an internal error'), s3Error(500, 'InternalError', 'again'));

    const error = await rejectionOf(newStore(1).get(KEY));

    expect(received).toHaveLength(2);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'STORAGE_FAILURE', status: 500, bucket: BUCKET, key: KEY, endpoint });
    expect((error as Error).message).toContain(`read failed at ${endpoint}: InternalError, HTTP 500, again`);
    expect((error as Error).message).toContain(`s3://${BUCKET}/${KEY}`);
  });

  it('retries a 503 and returns what the next attempt finds', async () => {
    answers.push(s3Error(503, 'SlowDown'), found('x', '"e2"'));

    expect(await newStore(2).get(KEY)).toMatchObject({ status: 'found', etag: '"e2"' });
    expect(received).toHaveLength(2);
  });

  it('throws StorageError saying there was no response, and why, when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nowhere = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = new FetchObjectStore({ bucket: BUCKET, endpoint: nowhere, accessKeyId: 'a', secretAccessKey: 's' });

    const error = await rejectionOf(store.get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status: undefined, bucket: BUCKET, key: KEY, endpoint: nowhere });
    expect((error as Error).message).toContain('no response, connection refused');
    expect((error as Error).message).toContain('is the server running?');
  });

  it('throws StorageError when a 200 comes without an ETag', async () => {
    answers.push({ status: 200, body: 'x' });

    const error = await rejectionOf(newStore().get(KEY));

    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('without an ETag');
  });

  it('percent-encodes each segment of a key, keeping its slashes', async () => {
    answers.push(found('x', '"e"'));

    await newStore().get('a b/ü+&?#');

    expect(received[0]!.url).toBe(`/${BUCKET}/a%20b/%C3%BC%2B%26%3F%23`);
  });
});

describe('FetchObjectStore.put', () => {
  const bytes = new Uint8Array([0xd9, 0xd9, 0xf7]);

  it('sends If-Match with the ETag it was given, as application/cbor, and returns the new ETag', async () => {
    answers.push({ status: 200, headers: { etag: '"e2"' } });

    expect(await newStore().put(KEY, bytes, { ifMatch: '"e1"' })).toEqual({ etag: '"e2"' });
    const [request] = received;
    expect(request).toMatchObject({ method: 'PUT', url: `/${BUCKET}/prod/state` });
    expect(request!.headers).toMatchObject({ 'if-match': '"e1"', 'content-type': 'application/cbor' });
    expect(request!.headers['if-none-match']).toBeUndefined();
    expect(new Uint8Array(request!.body)).toEqual(bytes);
  });

  it('sends If-None-Match: * when the object must not exist yet', async () => {
    answers.push({ status: 200, headers: { etag: '"e1"' } });

    await newStore().put(KEY, bytes, { ifNoneMatch: '*' });

    expect(received[0]!.headers['if-none-match']).toBe('*');
    expect(received[0]!.headers['if-match']).toBeUndefined();
  });

  it.each([
    ['412 PreconditionFailed to If-Match (the ETag moved)', s3Error(412, 'PreconditionFailed'), { ifMatch: '"e1"' }, 412],
    ['412 PreconditionFailed to If-None-Match (the object appeared)', s3Error(412, 'PreconditionFailed'), { ifNoneMatch: '*' as const }, 412],
    ['409 ConditionalRequestConflict (a concurrent conditional write)', s3Error(409, 'ConditionalRequestConflict'), { ifMatch: '"e1"' }, 409],
    ['404 NoSuchKey to If-Match (the object was deleted)', s3Error(404, 'NoSuchKey'), { ifMatch: '"e1"' }, 404],
  ])('throws PreconditionLostError on %s', async (_label, answer, condition, status) => {
    answers.push(answer);

    const error = await rejectionOf(newStore().put(KEY, bytes, condition));

    expect(error).toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ key: KEY, status });
  });

  it('does not take a 409 with another code (OperationAborted) for a lost race', async () => {
    answers.push(s3Error(409, 'OperationAborted'));

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ status: 409 });
  });

  it('throws KeyInTheWayError on 409 ObjectParentIsFile (a server that keeps objects as files)', async () => {
    answers.push(s3Error(409, 'ObjectParentIsFile'));

    const error = await rejectionOf(newStore().put('a/b/c', bytes, { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(KeyInTheWayError);
    expect(error).toMatchObject({ s3Code: 'ObjectParentIsFile', key: 'a/b/c', bucket: BUCKET });
  });

  it('does not take 404 NoSuchKey on an If-None-Match write for a lost precondition', async () => {
    answers.push(s3Error(404, 'NoSuchKey'));

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ status: 404 });
  });

  it('throws BucketNotFoundError on 404 NoSuchBucket, even to If-Match', async () => {
    answers.push(s3Error(404, 'NoSuchBucket'));

    expect(await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }))).toBeInstanceOf(BucketNotFoundError);
  });

  it('throws AccessDeniedError naming s3:PutObject on 403', async () => {
    answers.push(s3Error(403, 'AccessDenied'));

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifMatch: '"e1"' }));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('s3:PutObject');
  });

  it('throws StorageError when a 200 comes without an ETag', async () => {
    answers.push({ status: 200 });

    const error = await rejectionOf(newStore().put(KEY, bytes, { ifNoneMatch: '*' }));

    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('acknowledged a write without an ETag');
  });
});

describe('FetchObjectStore.delete', () => {
  it('sends a DELETE and accepts 204', async () => {
    answers.push({ status: 204 });

    await newStore().delete(KEY);

    expect(received[0]).toMatchObject({ method: 'DELETE', url: `/${BUCKET}/prod/state` });
  });

  it('throws AccessDeniedError on 403', async () => {
    answers.push(s3Error(403, 'AccessDenied'));

    expect(await rejectionOf(newStore().delete(KEY))).toBeInstanceOf(AccessDeniedError);
  });
});

describe('FetchObjectStore.list', () => {
  /** A ListObjectsV2 page holding `keys`, truncated when `next` is given. */
  function page(keys: string[], next?: string): Answer {
    const contents = keys.map((key) => `<Contents><Key>${key}</Key><Size>1</Size></Contents>`).join('');
    const more = next === undefined ? '<IsTruncated>false</IsTruncated>' : `<IsTruncated>true</IsTruncated><NextContinuationToken>${next}</NextContinuationToken>`;
    return { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${BUCKET}</Name>${more}${contents}</ListBucketResult>` };
  }

  async function listAll(store: FetchObjectStore, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of store.list(prefix)) keys.push(key);
    return keys;
  }

  it('follows continuation tokens across pages, with the prefix on every request', async () => {
    answers.push(page(['p/a', 'p/b'], 'token+1/='), page(['p/c']));

    expect(await listAll(newStore(), 'p/')).toEqual(['p/a', 'p/b', 'p/c']);
    const [first, second] = received.map((request) => new URL(request.url, endpoint));
    expect(first!.pathname).toBe(`/${BUCKET}/`);
    expect(Object.fromEntries(first!.searchParams)).toEqual({ 'list-type': '2', prefix: 'p/' });
    expect(Object.fromEntries(second!.searchParams)).toEqual({ 'list-type': '2', prefix: 'p/', 'continuation-token': 'token+1/=' });
  });

  it('decodes XML entities in keys', async () => {
    answers.push(page(['a&amp;b', 'x&lt;y&gt;&#233;&#x41;']));

    expect(await listAll(newStore(), '')).toEqual(['a&b', 'x<y>éA']);
  });

  it('throws AccessDeniedError naming s3:ListBucket on 403', async () => {
    answers.push(s3Error(403, 'AccessDenied'));

    const error = await rejectionOf(listAll(newStore(), 'p/'));

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ key: 'p' }); // the listed prefix as the path it lists, as S3ObjectStore names it
    expect((error as Error).message).toContain('s3:ListBucket');
  });
});

describe('fetchStoreFromEnvironment', () => {
  it("signs with the environment's credentials and region, for S3_ENDPOINT", async () => {
    answers.push(found('x', '"e"'));
    const store = fetchStoreFromEnvironment(BUCKET, {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'session',
      AWS_REGION: 'eu-west-3',
      S3_ENDPOINT: `${endpoint}/`,
    });

    await store.get(KEY);

    expect(received[0]!.url).toBe(`/${BUCKET}/prod/state`);
    expect(received[0]!.headers.authorization).toContain('Credential=AKIDEXAMPLE/');
    expect(received[0]!.headers.authorization).toContain('/eu-west-3/s3/aws4_request');
    expect(received[0]!.headers['x-amz-security-token']).toBe('session');
  });

  it('refuses to start without credentials, naming the variables but no value', () => {
    expect(() => fetchStoreFromEnvironment(BUCKET, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' })).toThrow(
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are needed/,
    );
  });
});

describe('FetchObjectStore: large bodies', () => {
  const MiB = 2 ** 20;
  const chunked = (size: number) => {
    const source = Uint8Array.from({ length: size }, (_, i) => i % 251);
    return { length: size, chunks: [source.subarray(0, 10), source.subarray(10)] };
  };

  it('streams a body in chunks from 1 MiB with its Content-Length (unsigned payload, as every PUT), and retries a 503 with a new stream', async () => {
    const body = chunked(MiB + 5);
    answers = [{ status: 503 }, { status: 200, headers: { etag: '"e1"' } }];

    expect(await newStore(1).putChunks(KEY, body, { ifMatch: '"e0"' })).toEqual({ etag: '"e1"' });

    const joined = Buffer.concat(body.chunks);
    expect(received).toHaveLength(2);
    for (const request of received) {
      expect(request.body.equals(joined)).toBe(true);
      expect(request.headers).toMatchObject({ 'content-length': String(MiB + 5), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'if-match': '"e0"' });
      expect(request.headers['transfer-encoding']).toBeUndefined();
    }
  });

  it('sends a smaller body in chunks joined, with its length', async () => {
    const body = chunked(1000);
    answers = [{ status: 200, headers: { etag: '"e1"' } }];
    await newStore().putChunks(KEY, body, { ifNoneMatch: '*' });
    expect(received[0]!.body.equals(Buffer.concat(body.chunks))).toBe(true);
    expect(received[0]!.headers['content-length']).toBe('1000');
  });

  it('reads a body into one array of its Content-Length', async () => {
    const bytes = Uint8Array.from({ length: 3 * MiB }, (_, i) => i % 253);
    answers = [{ status: 200, headers: { etag: '"e1"' }, body: bytes }];
    const read = await newStore().get(KEY);
    expect(read.status === 'found' && Buffer.from(read.body).equals(bytes)).toBe(true);
  });
});
