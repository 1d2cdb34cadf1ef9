// The memory guard (issue 16): a snapshot larger than the memory the instance may load it in is
// refused with a typed error before its body is read, instead of the process dying of out-of-memory.
import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, S3Persistence, SnapshotTooLargeError } from '../../src/index.js';
import { defaultMaxSnapshotBytes } from '../../src/s3-persistence-options.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { ControlledStore } from '../support/stores.js';

afterEach(() => vi.unstubAllEnvs());

describe('maxSnapshotBytes', () => {
  it('refuses a snapshot larger than the limit with SnapshotTooLargeError, and writes nothing over it', async () => {
    const store = new ControlledStore();
    const writer = new S3Persistence({ filepath: 's3://bucket/bot', store });
    for (let id = 0; id < 50; id++) await writer.updateUserData(id, { text: 'x'.repeat(100) });
    const size = store.objects.get('bot')!.body.length;

    const reader = new S3Persistence({ filepath: 's3://bucket/bot', store, maxSnapshotBytes: size - 1 });
    const error = await reader.getUserData().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapshotTooLargeError);
    expect(error).toMatchObject({ code: 'SNAPSHOT_TOO_LARGE', size, limit: size - 1, bucket: 'bucket', key: 'bot' });
    expect((error as Error).message).toMatch(/sharded/);
    await expect(reader.updateUserData(1, {})).rejects.toThrow(SnapshotTooLargeError);
    expect(store.count('PUT')).toBe(50);

    expect((await new S3Persistence({ filepath: 's3://bucket/bot', store, maxSnapshotBytes: size }).getUserData()).size).toBe(50);
  });

  it('on Lambda defaults to what the function memory holds by the measured ratio, and refuses a larger snapshot', async () => {
    expect(defaultMaxSnapshotBytes({})).toBeUndefined();
    expect(defaultMaxSnapshotBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' })).toBe(Math.floor(((1024 - 80) * 2 ** 20) / 1.5));
    expect(defaultMaxSnapshotBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '64' })).toBe(2 ** 20);

    vi.stubEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128'); // (128 - 80) / 1.5 MiB: 32 MiB
    const store = new ControlledStore();
    const writer = new S3Persistence({ filepath: 's3://bucket/bot', store, maxSnapshotBytes: 2 ** 30 });
    await writer.updateBotData({ blob: 'x'.repeat(31 * 2 ** 20) });
    expect((await new S3Persistence({ filepath: 's3://bucket/bot', store }).getBotData()).blob).toHaveLength(31 * 2 ** 20);
    await writer.updateBotData({ blob: 'x'.repeat(33 * 2 ** 20) });
    const error = await new S3Persistence({ filepath: 's3://bucket/bot', store }).getBotData().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapshotTooLargeError);
    expect(error).toMatchObject({ limit: Math.floor((48 * 2 ** 20) / 1.5) });
  });

  it('refuses a limit that is not a positive number', () => {
    expect(() => new S3Persistence({ filepath: 's3://bucket/bot', store: new ControlledStore(), maxSnapshotBytes: 0 })).toThrow(InvalidOptionsError);
  });

  it('S3ObjectStore refuses from the GET headers, before reading the body', async () => {
    const s3 = mockClient(S3Client);
    let read = false;
    let cancelled = false;
    const Body = {
      transformToByteArray: async () => ((read = true), new Uint8Array(5000)),
      transformToWebStream: () => ({ cancel: async () => void (cancelled = true) }),
    } as unknown as GetObjectCommandOutput['Body'];
    s3.on(GetObjectCommand).resolves({ $metadata: { httpStatusCode: 200 }, ETag: '"e"', ContentLength: 5000, Body });
    const store = new S3ObjectStore({ client: new S3Client({ region: 'us-east-1' }), bucket: 'bucket' });
    await expect(store.get('bot', { maxBytes: 4999 })).rejects.toThrow(SnapshotTooLargeError);
    expect({ read, cancelled }).toEqual({ read: false, cancelled: true });
    s3.restore();
  });
});
