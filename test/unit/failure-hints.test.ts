/**
 * Each failure an operator meets first, as S3ObjectStore reports it: the endpoint, the bucket and
 * the key, the cause in words, and a one-line hint. The network failures are real sockets on
 * loopback (a closed port, a server that never answers, a host name whose lookup fails on this
 * machine); S3's refusals are mocked answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessDeniedError, BucketNotFoundError, StorageError } from '../../src/errors.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { noSuchBucket, rejectionOf, s3Error } from '../support/s3-responses.js';

const BUCKET = 'telegram-bot';
const KEY = 'x/state';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** A client of `endpoint` that tries once (the SDK would otherwise retry a network error 3 times). */
function clientOf(options: { endpoint?: string; region?: string; requestHandler?: S3ClientConfig['requestHandler'] }) {
  const { endpoint, region = 'us-east-1', requestHandler } = options;
  return new S3Client({
    region,
    credentials,
    maxAttempts: 1,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...(requestHandler === undefined ? {} : { requestHandler }),
  });
}

async function failureOf(store: S3ObjectStore, operation: 'get' | 'list' = 'get'): Promise<StorageError> {
  const promise =
    operation === 'get'
      ? store.get(KEY)
      : (async () => {
          for await (const key of store.list('x/')) void key;
        })();
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

const servers: Server[] = [];
const clients: S3Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback port on which nothing listens: one the system gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback server that accepts connections and never answers. */
async function silentServer(): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  const close = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    sockets.forEach((socket) => socket.destroy());
    return close(callback);
  }) as Server['close'];
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

/**
 * An HTTP agent whose name lookups fail here, as getaddrinfo fails for a name that does not
 * resolve: nothing is sent to a DNS server, nor anywhere else.
 */
function unresolvingAgent<A extends typeof HttpAgent | typeof HttpsAgent>(Agent: A, looked: string[]): InstanceType<A> {
  const lookup = (hostname: string, _options: unknown, callback: (error: Error) => void) => {
    looked.push(hostname);
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
    process.nextTick(() => callback(error));
  };
  return new Agent({ lookup: lookup as never }) as InstanceType<A>;
}

describe('network failures, on real sockets', () => {
  it.each(['127.0.0.1', 'localhost'])('connection refused at %s: names the endpoint and says to start MinIO or fix S3_ENDPOINT', async (host) => {
    const endpoint = `http://${host}:${await closedPort()}`;
    const client = clientOf({ endpoint });
    clients.push(client);
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(error).toMatchObject({ bucket: BUCKET, key: KEY, endpoint, status: undefined });
    // localhost may name ::1 and 127.0.0.1: Node then reports an AggregateError of both refusals.
    expect(error.message).toMatch(new RegExp(`^read failed at ${endpoint}: no response, connection refused \\(connect ECONNREFUSED (127\\.0\\.0\\.1|::1):\\d+\\): nothing listens there; `));
    expect(error.message).toContain(`is the server running? Start MinIO (npm run minio -- run), or fix S3_ENDPOINT (now ${endpoint})`);
    expect(error.message).toMatch(new RegExp(`\\(s3://${BUCKET}/${KEY}\\)$`));
  });

  it('shows a listed prefix as the path it lists, without a trailing / the user never typed', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const client = clientOf({ endpoint });
    clients.push(client);
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }), 'list');
    expect(error.key).toBe('x');
    expect(error.message).toMatch(/^list failed at .*ECONNREFUSED.*\(s3:\/\/telegram-bot\/x\)$/);
  });

  it('a host name that does not resolve, S3_ENDPOINT unset: says the client went to AWS S3 and how to reach MinIO', async () => {
    const looked: string[] = [];
    const client = clientOf({ region: 'us-east-1', requestHandler: { httpsAgent: unresolvingAgent(HttpsAgent, looked) } });
    clients.push(client);
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(looked).toEqual([`${BUCKET}.s3.us-east-1.amazonaws.com`]);
    expect(error).toMatchObject({ bucket: BUCKET, key: KEY, endpoint: `https://${BUCKET}.s3.us-east-1.amazonaws.com` });
    expect(error.message).toContain(`no response, the host name does not resolve (getaddrinfo ENOTFOUND ${BUCKET}.s3.us-east-1.amazonaws.com)`);
    expect(error.message).toContain('S3_ENDPOINT is unset, so the client went to AWS S3');
    expect(error.message).toContain('S3_ENDPOINT=http://127.0.0.1:9000');
  });

  it('a host name that does not resolve, S3_ENDPOINT set: says to fix S3_ENDPOINT', async () => {
    const looked: string[] = [];
    const endpoint = 'http://minio.nowhere.invalid:9000';
    const client = clientOf({ endpoint, requestHandler: { httpAgent: unresolvingAgent(HttpAgent, looked) } });
    clients.push(client);
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(looked).toEqual(['minio.nowhere.invalid']);
    expect(error.message).toContain(`S3_ENDPOINT (now ${endpoint}) names no reachable host: fix it`);
  });

  it('a server that never answers: a timeout, with the endpoint and what to check', async () => {
    const endpoint = `http://127.0.0.1:${await silentServer()}`;
    const client = clientOf({ endpoint, requestHandler: { socketTimeout: 200 } });
    clients.push(client);
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(error).toMatchObject({ bucket: BUCKET, key: KEY, endpoint, status: undefined });
    expect(error.message).toMatch(/read failed at http:\/\/127\.0\.0\.1:\d+: no response in time \(TimeoutError/);
    expect(error.message).toContain(`${endpoint} accepts connections but did not answer`);
  });
});

describe("S3's refusals", () => {
  /** A client of `endpoint` whose every request gets `answer`. */
  function answering(answer: Error, endpoint?: string): S3Client {
    const client = clientOf({ endpoint });
    mockClient(client).on(GetObjectCommand).rejects(answer).on(ListObjectsV2Command).rejects(answer);
    return client;
  }

  it('a missing bucket: BucketNotFoundError naming the bucket, the key and the endpoint', async () => {
    const client = answering(noSuchBucket(), 'http://127.0.0.1:9000');
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect(error).toMatchObject({ code: 'BUCKET_NOT_FOUND', bucket: BUCKET, key: KEY, endpoint: 'http://127.0.0.1:9000' });
    expect(error.message).toBe(
      `the bucket "${BUCKET}" does not exist at http://127.0.0.1:9000; create it (MinIO: mc mb local/${BUCKET}; npm run minio -- run creates "telegram-bot"), or fix the bucket in the filepath (s3://${BUCKET}/${KEY})`,
    );
  });

  it('refused credentials: AccessDeniedError with the keys to use', async () => {
    const refused = s3Error('InvalidAccessKeyId', 403, 'The Access Key Id you provided does not exist in our records.');
    const client = answering(refused, 'http://127.0.0.1:9000');
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ bucket: BUCKET, key: KEY, endpoint: 'http://127.0.0.1:9000' });
    expect(error.message).toContain('the credentials were refused at http://127.0.0.1:9000 (InvalidAccessKeyId)');
    expect(error.message).toContain('MINIO_ROOT_USER and MINIO_ROOT_PASSWORD');
  });

  it.each([
    [
      'a redirect to the bucket region (301 PermanentRedirect)',
      () => Object.assign(s3Error('PermanentRedirect', 301, 'The bucket you are attempting to access must be addressed using the specified endpoint.'), { Endpoint: `${BUCKET}.s3.eu-west-1.amazonaws.com` }),
    ],
    [
      'a signature for the wrong region (400 AuthorizationHeaderMalformed)',
      () => Object.assign(s3Error('AuthorizationHeaderMalformed', 400, "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"), { Region: 'eu-west-1' }),
    ],
  ])('the wrong region, told by %s: names the region to use', async (_label, answer) => {
    const client = answering(answer());
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }), 'list');
    expect(error).toMatchObject({ bucket: BUCKET, key: 'x', endpoint: `https://${BUCKET}.s3.us-east-1.amazonaws.com` });
    expect(error.message).toContain("the bucket is in another region than the client's us-east-1 (it is in eu-west-1); set AWS_REGION=eu-west-1");
  });

  it('an answer no S3 server gives (a read without an ETag) names the endpoint that gave it', async () => {
    const client = clientOf({ endpoint: 'http://127.0.0.1:9000' });
    mockClient(client).on(GetObjectCommand).resolves({ $metadata: { httpStatusCode: 200 } });
    const error = await failureOf(new S3ObjectStore({ client, bucket: BUCKET }));
    expect(error).toMatchObject({ bucket: BUCKET, key: KEY, endpoint: 'http://127.0.0.1:9000' });
    expect(error.message).toBe(
      `the server at http://127.0.0.1:9000 answered a read without an ETag or a body; check that the endpoint is an S3-compatible server (S3_ENDPOINT) (s3://${BUCKET}/${KEY})`,
    );
  });
});
