// Snapshots above multipartThreshold go up as multipart uploads; the write condition must ride on
// CompleteMultipartUpload, and MinIO must enforce it there.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBucket, type RecordedRequest, type TestBucket } from '../support/persistence.js';

const MiB = 1024 * 1024;
const multipartThreshold = 5 * MiB;

type Payload = { blob: Uint8Array } | { by: string };

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('multipart');
});
afterAll(() => bucket.destroy());

/** Three users with 4 MiB of random bytes each: a snapshot of about 12 MiB. */
const blobs = new Map([1, 2, 3].map((userId) => [userId, new Uint8Array(randomBytes(4 * MiB))]));

function sameBytes(actual: unknown, expected: Uint8Array): boolean {
  return actual instanceof Uint8Array && Buffer.from(actual).equals(expected);
}

function expectBlobsIntact(users: Map<number, Payload>): void {
  for (const [userId, blob] of blobs) {
    const stored = users.get(userId);
    expect(stored !== undefined && 'blob' in stored && sameBytes(stored.blob, blob), `user ${userId}'s 4 MiB blob`).toBe(true);
  }
}

/** The multipart commands among `requests`, without UploadPart's (they carry no condition). */
function multipartCommands(requests: readonly RecordedRequest[]) {
  return requests
    .filter((request) => request.command.includes('MultipartUpload'))
    .map(({ command, ifMatch, ifNoneMatch, status }) => ({ command, ifMatch, ifNoneMatch, status }));
}

/** Writes the three blobs to `path` in one (multipart) write, as a cold instance. */
async function seed(path: string) {
  const writer = bucket.open<Payload>(path, { multipartThreshold, onFlush: true });
  for (const [userId, blob] of blobs) await writer.updateUserData(userId, { blob });
  await writer.flush();
  return writer;
}

async function etagOf(key: string): Promise<string> {
  const { etag } = await bucket.object(key);
  if (etag === undefined) throw new Error(`${key} has no ETag`);
  return etag;
}

describe(`a snapshot above multipartThreshold (${multipartThreshold / MiB} MiB)`, () => {
  it('goes up as a multipart upload, created with If-None-Match: *, and round trips', async () => {
    const path = 'create/bot';

    const writer = await seed(path);

    const requests = bucket.requestsOf(writer);
    expect(requests.filter((request) => request.command === 'PutObjectCommand')).toEqual([]);
    expect(requests.filter((request) => request.command === 'UploadPartCommand').length).toBe(3); // 5 + 5 + ~2 MiB
    expect(multipartCommands(requests)).toEqual([
      { command: 'CreateMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: undefined, status: 200 },
      { command: 'CompleteMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: '*', status: 200 },
    ]);
    expect(writer.metrics.puts).toBe(1);
    expect((await etagOf(path)).endsWith('-3"')).toBe(true); // a multipart ETag of 3 parts
    expect((await bucket.object(path)).contentType).toBe('application/cbor');

    const reader = bucket.open<Payload>(path);
    const users = await reader.getUserData();
    expect(users.size).toBe(3);
    expectBlobsIntact(users);
  });

  it("does not overwrite another writer's change: a stale If-Match on CompleteMultipartUpload loses, and both entries survive", async () => {
    const path = 'stale-if-match/bot';
    await seed(path);
    const stale = bucket.open<Payload>(path, { multipartThreshold });
    await stale.getUserData();
    const readEtag = await etagOf(path);

    const other = bucket.open<Payload>(path, { multipartThreshold });
    await other.updateUserData(100, { by: 'other' }); // lands after the stale instance read
    const otherEtag = await etagOf(path);
    expect(otherEtag).not.toBe(readEtag);

    await stale.updateUserData(200, { by: 'stale' });

    expect(multipartCommands(bucket.requestsOf(stale))).toEqual([
      { command: 'CreateMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: undefined, status: 200 },
      { command: 'CompleteMultipartUploadCommand', ifMatch: readEtag, ifNoneMatch: undefined, status: 412 },
      { command: 'AbortMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: undefined, status: 204 },
      { command: 'CreateMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: undefined, status: 200 },
      { command: 'CompleteMultipartUploadCommand', ifMatch: otherEtag, ifNoneMatch: undefined, status: 200 },
    ]);
    expect(stale.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 0, puts: 2 });
    const users = await bucket.open<Payload>(path).getUserData();
    expect(users.get(100)).toEqual({ by: 'other' });
    expect(users.get(200)).toEqual({ by: 'stale' });
    expectBlobsIntact(users);
    expect(await bucket.unfinishedUploads()).toEqual([]);
  });

  it('does not overwrite an object created meanwhile: If-None-Match: * on CompleteMultipartUpload loses, and both entries survive', async () => {
    const path = 'stale-if-none-match/bot';
    const late = bucket.open<Payload>(path, { multipartThreshold });
    const early = bucket.open<Payload>(path, { multipartThreshold });
    await Promise.all([late.getUserData(), early.getUserData()]); // both find no object

    await early.updateUserData(100, { by: 'early' }); // a small, single PUT creates it
    const createdEtag = await etagOf(path);
    const blob = blobs.get(1)!;
    await late.updateUserData(1, { blob: new Uint8Array(Buffer.concat([blob, blob])) }); // 8 MiB: multipart

    expect(
      multipartCommands(bucket.requestsOf(late)).filter((request) => request.command === 'CompleteMultipartUploadCommand'),
    ).toEqual([
      { command: 'CompleteMultipartUploadCommand', ifMatch: undefined, ifNoneMatch: '*', status: 412 },
      { command: 'CompleteMultipartUploadCommand', ifMatch: createdEtag, ifNoneMatch: undefined, status: 200 },
    ]);
    const users = await bucket.open<Payload>(path).getUserData();
    expect(users.get(100)).toEqual({ by: 'early' });
    const stored = users.get(1);
    expect(stored !== undefined && 'blob' in stored && stored.blob.length === 8 * MiB).toBe(true);
    expect(await bucket.unfinishedUploads()).toEqual([]);
  });
});
