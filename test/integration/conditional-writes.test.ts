// The check of conditional writes against real servers: MinIO passes it and is written to; s3rver
// (ignores every condition) and moto (ignores If-Match on CompleteMultipartUpload) are refused with
// ConditionalWritesIgnoredError before a write is acknowledged. The tests prove the refusal, not the loss.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConditionalWritesIgnoredError, S3Persistence } from '../../src/index.js';
import { multipartProbeKey, verdictKey } from '../../src/store/conditional-write-guard.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { bucketOn, clientOf, startMoto, startS3rver, type OtherServer } from '../support/other-servers.js';
import { rejectionOf } from '../support/s3-responses.js';

const MiB = 1024 * 1024;

/** Counts the requests `client` sends, by command and key. */
function countRequests(client: S3Client): string[] {
  const requests: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(`${context.commandName} ${(args.input as { Key?: string }).Key ?? ''}`);
      return next(args);
    },
    { step: 'initialize', name: 'countRequestsForTests' },
  );
  return requests;
}

async function stored(client: S3Client, bucket: string, key: string): Promise<Uint8Array | 'absent'> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body!.transformToByteArray();
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return 'absent';
    throw error;
  }
}

describe('on MinIO, which honours every condition', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await freshBucket('conditional-writes');
  });

  it('checks before the first write, keeps the verdict beside the state, and a later cold start pays one GET', async () => {
    const path = 'verify/bot';
    const firstClient = minioClient();
    const first = countRequests(firstClient);
    const writer = new S3Persistence({ filepath: `s3://${bucket}/${path}`, client: firstClient });
    await writer.getUserData();
    await writer.updateUserData(1, { count: 1 });
    const probe = first.filter((request) => request.endsWith(verdictKey(path)));

    const coldClient = minioClient();
    const cold = countRequests(coldClient);
    const coldStart = new S3Persistence({ filepath: `s3://${bucket}/${path}`, client: coldClient });
    await coldStart.getUserData();
    await coldStart.updateUserData(2, { count: 1 });
    await coldStart.updateUserData(2, { count: 2 });

    expect(probe[0]).toBe(`GetObjectCommand ${verdictKey(path)}`);
    expect(probe.filter((request) => request.startsWith('PutObjectCommand')).length).toBeGreaterThanOrEqual(4);
    const verdict = JSON.parse(new TextDecoder().decode((await stored(firstClient, bucket, verdictKey(path))) as Uint8Array)) as {
      endpoints: Record<string, { put?: string }>;
    };
    expect(Object.keys(verdict.endpoints)).toEqual([inject('minio').endpoint]);
    expect(cold.filter((request) => request.endsWith(verdictKey(path)))).toEqual([`GetObjectCommand ${verdictKey(path)}`]);
    expect((await coldStart.getUserData()).get(1)).toEqual({ count: 1 });
    console.error(
      `conditional-write check on MinIO: first write of a new endpoint ${probe.length} extra requests; ` +
        `a later cold start ${cold.filter((request) => request.endsWith(verdictKey(path))).length} extra request`,
    );
    firstClient.destroy();
    coldClient.destroy();
  });

  it('costs, in time on this MinIO: the probe of a new endpoint, and the GET of a later cold start (logged, not asserted)', async () => {
    const runs = 10;
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const timed = async (mode: 'verify' | 'trust', path: string, seed: boolean) => {
      if (seed) await new S3Persistence({ filepath: `s3://${bucket}/${path}`, client: minioClient(), conditionalWrites: mode }).updateUserData(1, {});
      const client = minioClient();
      const persistence = new S3Persistence({ filepath: `s3://${bucket}/${path}`, client, conditionalWrites: mode });
      const startedAt = performance.now();
      await persistence.getUserData();
      await persistence.updateUserData(2, { at: startedAt });
      const elapsed = performance.now() - startedAt;
      client.destroy();
      return elapsed;
    };
    const figures: Record<string, number[]> = { 'new endpoint, verify': [], 'new endpoint, trust': [], 'cold start, verify': [], 'cold start, trust': [] };
    for (let run = 0; run < runs; run++) {
      figures['new endpoint, verify']!.push(await timed('verify', `cost/new-verify-${run}`, false));
      figures['new endpoint, trust']!.push(await timed('trust', `cost/new-trust-${run}`, false));
      figures['cold start, verify']!.push(await timed('verify', `cost/cold-verify-${run}`, true));
      figures['cold start, trust']!.push(await timed('trust', `cost/cold-trust-${run}`, true));
    }

    const medians = Object.entries(figures).map(([name, values]) => `${name} ${median(values).toFixed(1)} ms`);
    console.error(`load + first write, median of ${runs} on MinIO (loopback): ${medians.join('; ')}`);
    expect(Object.values(figures).every((values) => values.length === runs)).toBe(true);
  });

  it('checks multipart before the first multipart write, then writes it', async () => {
    const path = 'verify-multipart/bot';
    const client = minioClient();
    const writer = new S3Persistence<{ blob: Uint8Array }>({ filepath: `s3://${bucket}/${path}`, client, multipartThreshold: 5 * MiB });

    await writer.updateUserData(1, { blob: new Uint8Array(6 * MiB).fill(3) });

    const verdict = JSON.parse(new TextDecoder().decode((await stored(client, bucket, verdictKey(path))) as Uint8Array)) as {
      endpoints: Record<string, { put?: string; multipart?: string }>;
    };
    expect(verdict.endpoints[inject('minio').endpoint]).toHaveProperty('multipart');
    expect(((await stored(client, bucket, multipartProbeKey(path))) as Uint8Array).length).toBeLessThan(MiB);
    expect(((await stored(client, bucket, path)) as Uint8Array).length).toBeGreaterThan(6 * MiB);
    client.destroy();
  });
});

describe('on s3rver, which ignores every condition', () => {
  let server: OtherServer;
  let bucket: string;
  beforeAll(async () => {
    server = await startS3rver();
    bucket = await bucketOn(server, 'conditional-writes');
  });
  afterAll(() => server?.stop());

  it('refuses the first write with ConditionalWritesIgnoredError naming the endpoint, and writes no state', async () => {
    const client = clientOf(server);
    const persistence = new S3Persistence({ filepath: `s3://${bucket}/bot`, client });
    await persistence.getUserData();

    const error = await rejectionOf(persistence.updateUserData(1, { count: 1 }));

    expect(error).toBeInstanceOf(ConditionalWritesIgnoredError);
    expect(error).toMatchObject({ code: 'CONDITIONAL_WRITES_IGNORED', endpoint: server.endpoint, bucket });
    expect((error as Error).message).toContain(`the S3 server at ${server.endpoint} ignores conditional writes`);
    expect((error as ConditionalWritesIgnoredError).failed).toContain('If-None-Match: *');
    expect(await stored(client, bucket, 'bot')).toBe('absent');
    expect(persistence.metrics.conflicts).toBe(0);
    client.destroy();
  });

  it("writes with conditionalWrites: 'trust', the risk taken", async () => {
    const client = clientOf(server);
    const persistence = new S3Persistence({ filepath: `s3://${bucket}/trusted`, client, conditionalWrites: 'trust' });

    await persistence.updateUserData(1, { count: 1 });

    expect(await stored(client, bucket, 'trusted')).not.toBe('absent');
    expect(await stored(client, bucket, verdictKey('trusted'))).toBe('absent');
    client.destroy();
  });
});

const moto = await startMoto();
const motoMissing = 'unavailable' in moto ? moto.unavailable : undefined;
if (motoMissing !== undefined) console.error(`skipping the moto tests: ${motoMissing}`);

describe.skipIf(motoMissing !== undefined)("on moto's server, which ignores If-Match on CompleteMultipartUpload", () => {
  let server: OtherServer;
  let bucket: string;
  beforeAll(async () => {
    if ('server' in moto) server = moto.server;
    bucket = await bucketOn(server, 'conditional-writes');
  });
  afterAll(() => ('server' in moto ? moto.server.stop() : undefined));

  it('takes single-PUT writes, and refuses the first multipart write before it is acknowledged', async () => {
    const client = clientOf(server);
    const persistence = new S3Persistence<{ blob?: Uint8Array; count?: number }>({
      filepath: `s3://${bucket}/bot`,
      client,
      multipartThreshold: 5 * MiB,
    });
    await persistence.updateUserData(1, { count: 1 });
    const before = await stored(client, bucket, 'bot');

    const error = await rejectionOf(persistence.updateUserData(2, { blob: new Uint8Array(6 * MiB).fill(5) }));

    expect(error).toBeInstanceOf(ConditionalWritesIgnoredError);
    expect(error).toMatchObject({ endpoint: server.endpoint });
    expect((error as ConditionalWritesIgnoredError).failed).toContain('CompleteMultipartUpload with If-Match and a stale ETag');
    expect(await stored(client, bucket, 'bot')).toEqual(before);
    client.destroy();
  });
});
