// No request loops forever: against a store that always refuses, the library's conflict retries and the
// SDK's own retries both stop at their configured bounds, counted on the wire by the fault proxy in
// front of MinIO, and the caller gets a typed error. (test/unit/s3-persistence-responses.test.ts
// checks the conflict bound with a mocked client; here it is the real SDK over HTTP.)
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_RETRY } from '../../src/conflicts.js';
import { S3Persistence, StorageError, WriteConflictError, type S3PersistenceOptions } from '../../src/index.js';
import { startFaultProxy, type FaultKind, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { s3Client } from './clients.js';
import { errorKind } from './workload.js';

let bucket: TestBucket;
let proxy: FaultProxy;
const clients: S3Client[] = [];
beforeAll(async () => {
  bucket = await openBucket('retry-bounds');
  proxy = await startFaultProxy(inject('minio').endpoint);
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy?.close();
  bucket?.destroy();
});
afterEach(() => proxy.clearScript());

type Options = Partial<S3PersistenceOptions<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>>;

/** A loaded persistence on `key` through the proxy; the SDK makes `sdkAttempts` attempts per request. */
async function loaded(key: string, options: Options = {}, sdkAttempts?: number): Promise<S3Persistence> {
  const client = s3Client({ endpoint: proxy.endpoint, maxAttempts: sdkAttempts });
  clients.push(client);
  // The faults are for the snapshot's requests: the check of conditional writes (tested in
  // test/integration/conditional-writes.test.ts) would meet them first.
  const persistence = new S3Persistence({ conditionalWrites: 'trust', ...options, filepath: `s3://${bucket.name}/${key}`, client });
  await persistence.getUserData();
  return persistence;
}

/** The proxy's requests for `key` after the first `skip`, as `METHOD fault`. */
function wire(key: string, skip = 0): string[] {
  return proxy.requests
    .filter((request: ProxiedRequest) => request.path === `/${bucket.name}/${key}`)
    .slice(skip)
    .map((request) => `${request.method} ${request.fault}`);
}

const times = (count: number, request: string) => Array.from({ length: count }, () => request);
/** Backoff small enough for a test; the bound under test is the number of attempts. */
const quickRetry = { baseDelayMs: 1, maxDelayMs: 4 };

describe('a store whose conditional writes always lose', () => {
  it.each([
    { answer: 'preconditionFailed412' as const, maxAttempts: DEFAULT_RETRY.maxAttempts },
    { answer: 'preconditionFailed412' as const, maxAttempts: 3 },
    { answer: 'conflict409' as const, maxAttempts: 4 },
  ])('($answer to every PUT) gets exactly retry.maxAttempts = $maxAttempts PUTs, each followed by one re-read, then WriteConflictError', async ({ answer, maxAttempts }) => {
    const key = `always-${answer}-${maxAttempts}/bot`;
    const persistence = await loaded(key, { retry: { ...quickRetry, maxAttempts } });
    const skip = wire(key).length;
    proxy.inject({ fault: answer, method: 'PUT', times: Infinity });

    const error = await persistence.updateUserData(1, { n: 1 }).catch((rejection: unknown) => rejection);

    expect(error).toBeInstanceOf(WriteConflictError);
    expect(error).toMatchObject({ code: 'WRITE_CONFLICT', attempts: maxAttempts, bucket: bucket.name, key });
    // The SDK never retries 409/412 itself: every PUT on the wire is one of the library's attempts.
    expect(wire(key, skip)).toEqual(Array.from({ length: maxAttempts }, () => [`PUT ${answer}`, 'GET pass']).flat());
    expect(persistence.metrics.preconditionsLost).toBe(maxAttempts);
    expect(persistence.hasPendingChanges).toBe(true);
    await proxy.settled();
    expect(wire(key, skip)).toHaveLength(2 * maxAttempts); // nothing went on after the rejection

    proxy.clearScript();
    await persistence.flush();
    expect(wire(key, skip + 2 * maxAttempts)).toEqual(['PUT pass']);
  });
});

describe('a server that always fails (the SDK retries 5xx, resets and timeouts by itself)', () => {
  it.each<{ fault: FaultKind & ('slowDown503' | 'error500' | 'resetBeforeServer' | 'timeoutBeforeServer'); sdkAttempts: number | undefined; kind: RegExp }>([
    { fault: 'slowDown503', sdkAttempts: undefined, kind: /^StorageError\(SlowDown, HTTP 503\)$/ },
    { fault: 'error500', sdkAttempts: 5, kind: /^StorageError\(InternalError, HTTP 500\)$/ },
    { fault: 'resetBeforeServer', sdkAttempts: undefined, kind: /^StorageError\(TimeoutError\/ECONNRESET, no response\)$/ },
    { fault: 'timeoutBeforeServer', sdkAttempts: 2, kind: /^StorageError\(TimeoutError\/ETIMEDOUT, no response\)$/ },
  ])('($fault to everything, SDK maxAttempts $sdkAttempts) a read and a write each stop after the SDK attempts, with a StorageError', async ({ fault, sdkAttempts, kind }) => {
    const attempts = sdkAttempts ?? 3; // the SDK's default
    const key = `always-${fault}/bot`;
    const client = s3Client({ endpoint: proxy.endpoint, maxAttempts: sdkAttempts });
    clients.push(client);
    proxy.inject({ fault, times: Infinity });

    const cold = new S3Persistence({ filepath: `s3://${bucket.name}/${key}`, client, conditionalWrites: 'trust' });
    const readError = await cold.getUserData().catch((rejection: unknown) => rejection);
    expect(readError).toBeInstanceOf(StorageError);
    expect(errorKind(readError)).toMatch(kind);
    expect(readError).toMatchObject({ bucket: bucket.name, key });
    expect(wire(key)).toEqual(times(attempts, `GET ${fault}`));

    proxy.clearScript();
    const warm = await loaded(key, {}, sdkAttempts);
    const skip = wire(key).length;
    proxy.inject({ fault, times: Infinity });
    const writeError = await warm.updateUserData(1, { n: 1 }).catch((rejection: unknown) => rejection);
    expect(errorKind(writeError)).toMatch(kind);
    expect(wire(key, skip)).toEqual(times(attempts, `PUT ${fault}`));
    await proxy.settled();
    expect(wire(key, skip)).toHaveLength(attempts); // nothing went on after the rejection
    expect(warm.hasPendingChanges).toBe(true);
  });

  it('(a lost condition, then every re-read fails) ends the write with a StorageError after one PUT and the SDK attempts of one GET', async () => {
    const key = 'lost-then-unreadable/bot';
    const persistence = await loaded(key, { retry: quickRetry });
    const skip = wire(key).length;
    proxy.inject({ fault: 'preconditionFailed412', method: 'PUT', times: Infinity });
    proxy.inject({ fault: 'error500', method: 'GET', times: Infinity });

    const error = await persistence.updateUserData(1, { n: 1 }).catch((rejection: unknown) => rejection);

    expect(errorKind(error)).toBe('StorageError(InternalError, HTTP 500)');
    expect(wire(key, skip)).toEqual(['PUT preconditionFailed412', ...times(3, 'GET error500')]);
  });
});
