// Stored objects that are not snapshots this release can read, met through S3Persistence on MinIO:
// each kind is a SnapshotDecodeError naming the bucket and the key, every write of that instance is
// refused, and the object's bytes are untouched. (Random bytes are in test/integration/errors.test.ts;
// the decoder itself is tested byte by byte in test/unit/codec.test.ts.) Then a very large snapshot.
import { encode, Tag } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotDecodeError, type S3Persistence } from '../../src/index.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { PROFILE, report } from './profile.js';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('bad-snapshots');
});
afterAll(() => bucket?.destroy());

const valid = encodeSnapshot(
  new Map<string, unknown>([
    ['user_data', new Map([[42, { count: 3, name: 'Ada' }]])],
    ['chat_data', new Map([[-100, { note: 'milk' }]])],
    ['bot_data', { total: 3 }],
  ]),
);

const CORRUPT: Array<{ kind: string; bytes: () => Uint8Array; reason: RegExp }> = [
  { kind: 'a snapshot truncated in the middle', bytes: () => valid.slice(0, Math.floor(valid.length / 2)), reason: /not valid CBOR/ },
  { kind: 'a snapshot cut one byte short', bytes: () => valid.slice(0, -1), reason: /not valid CBOR/ },
  { kind: 'a valid snapshot followed by more bytes', bytes: () => Uint8Array.from([...valid, 0]), reason: /not valid CBOR|snapshot/ },
  {
    kind: 'the snapshot as JSON text',
    bytes: () => new TextEncoder().encode(JSON.stringify({ $format: SNAPSHOT_FORMAT, $version: 1, user_data: { 42: { count: 3 } } })),
    reason: /not valid CBOR|no "\$format" marker/,
  },
  { kind: 'an empty object', bytes: () => new Uint8Array(), reason: /the object is empty/ },
  {
    kind: 'a snapshot of a future format version',
    bytes: () => encode({ $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION + 1, user_data: new Map([[42, { count: 3 }]]) }),
    reason: new RegExp(`format version ${SNAPSHOT_VERSION + 1} by a newer release.*upgrade`),
  },
  { kind: 'CBOR that is not a map', bytes: () => encode([SNAPSHOT_FORMAT, 1]), reason: /no "\$format" marker/ },
  {
    kind: 'a section of the wrong shape',
    bytes: () => encode({ $format: SNAPSHOT_FORMAT, $version: 1, user_data: 'not a map' }),
    reason: /user_data is not a map/,
  },
  {
    kind: 'a tag (27) from which cbor-x builds a class instance',
    bytes: () => encode({ $format: SNAPSHOT_FORMAT, $version: 1, user_data: new Map([[1, new Tag(['^a', 'g'], 27)]]) }),
    reason: /unknown CBOR tag 27|unexpected (RegExp|Error) at user_data/,
  },
  {
    kind: 'a byte string claiming 4 GiB',
    // The envelope with one more field, `x`, whose value is the head of a 2^32-byte string and no bytes.
    bytes: () => Uint8Array.from([...encode({ $format: SNAPSHOT_FORMAT, $version: 1, x: 0 }).slice(0, -1), 0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
    reason: /not valid CBOR/,
  },
];

/** Every write an instance can make, each refused for an unreadable object. */
function everyWrite(persistence: S3Persistence): Array<[string, () => Promise<unknown>]> {
  return [
    ['updateUserData', () => persistence.updateUserData(42, { count: 4 })],
    ['updateChatData', () => persistence.updateChatData(-100, { note: 'eggs' })],
    ['updateBotData', () => persistence.updateBotData({ total: 4 })],
    ['updateConversation', () => persistence.updateConversation('survey', [1, 2], 'NAME')],
    ['updateCallbackData', () => persistence.updateCallbackData([[], {}])],
    ['dropUserData', () => persistence.dropUserData(42)],
    ['markUpdateProcessed', () => persistence.markUpdateProcessed(7)],
  ];
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('a single-file snapshot object that does not decode', () => {
  it.each(CORRUPT)('$kind: SnapshotDecodeError naming bucket and key, every write refused, the bytes untouched', async ({ kind, bytes, reason }) => {
    const key = `corrupt/${kind.replace(/[^a-z0-9]+/gi, '-')}`;
    const stored = bytes();
    await bucket.put(key, stored);
    const before = await bucket.object(key);
    const persistence = bucket.open(key);

    const error = await rejectionOf(persistence.getUserData());
    expect(error).toBeInstanceOf(SnapshotDecodeError);
    expect(error).toMatchObject({ code: 'SNAPSHOT_UNREADABLE', bucket: bucket.name, key });
    expect((error as Error).message).toContain(`s3://${bucket.name}/${key}`);
    expect((error as Error).message).toMatch(reason);
    for (const [name, write] of everyWrite(persistence)) {
      expect(await rejectionOf(write()), name).toBeInstanceOf(SnapshotDecodeError);
    }
    await persistence.flush();
    // A cold instance refuses the same way, on a write as its first call.
    const cold = bucket.open(key);
    expect(await rejectionOf(cold.updateUserData(42, { count: 5 }))).toBeInstanceOf(SnapshotDecodeError);

    const after = await bucket.object(key);
    expect(after.etag).toBe(before.etag);
    expect(Buffer.from(after.body).equals(Buffer.from(stored))).toBe(true);
    expect([...bucket.requestsOf(persistence), ...bucket.requestsOf(cold)].map((request) => request.command)).toEqual([
      'GetObjectCommand',
      'GetObjectCommand',
    ]);
  });
});

describe('a multi-file snapshot whose user_data object does not decode', () => {
  it.each(CORRUPT.slice(0, 5))('$kind: user data is refused and untouched; chat, bot and conversation data go on working', async ({ kind, bytes }) => {
    const path = `corrupt-multi/${kind.replace(/[^a-z0-9]+/gi, '-')}`;
    const userKey = `${path}_user_data`;
    const stored = bytes();
    await bucket.put(userKey, stored);
    const persistence = bucket.open(path, { singleFile: false });

    await expect(persistence.getUserData()).rejects.toMatchObject({ name: 'SnapshotDecodeError', bucket: bucket.name, key: userKey });
    await expect(persistence.updateUserData(42, { count: 4 })).rejects.toBeInstanceOf(SnapshotDecodeError);
    await persistence.updateChatData(-100, { note: 'eggs' });
    await persistence.updateBotData({ total: 4 });
    await persistence.updateConversation('survey', [1, 2], 'NAME');

    const fresh = bucket.open(path, { singleFile: false });
    expect((await fresh.getChatData()).get(-100)).toEqual({ note: 'eggs' });
    expect(await fresh.getBotData()).toEqual({ total: 4 });
    expect((await fresh.getConversations('survey')).get('[1,2]')).toBe('NAME');
    expect(Buffer.from((await bucket.object(userKey)).body).equals(Buffer.from(stored))).toBe(true);
  });
});

describe('a very large snapshot', () => {
  const bytes = PROFILE.largeSnapshotBytes;
  const users = Math.ceil(bytes / 1024);
  /** ~1 KiB per user, in the value model: a string and a Uint8Array. */
  const userOf = (id: number) => ({ name: `user ${id} `.padEnd(512, '.'), blob: new Uint8Array(480).fill(id % 251) });

  it(`of ${Math.round(bytes / 2 ** 20)} MiB (${users} users) loads, takes an update through a conditional multipart upload, and reads back whole`, async () => {
    const key = 'large/bot';
    const memory = () => Math.round(process.memoryUsage().rss / 2 ** 20);
    const rssBefore = memory();
    let body: Uint8Array | undefined = encodeSnapshot(new Map([['user_data', new Map(Array.from({ length: users }, (_, id) => [id, userOf(id)]))]]));
    const storedBytes = body.length;
    await bucket.put(key, body);
    body = undefined;
    const before = await bucket.object(key);
    let peak = memory();

    const persistence = bucket.open(key);
    const loaded = await persistence.getUserData();
    peak = Math.max(peak, memory());
    expect(loaded.size).toBe(users);
    expect(loaded.get(users - 1)).toEqual(userOf(users - 1));
    await persistence.updateUserData(7, { name: 'changed' });
    peak = Math.max(peak, memory());

    const requests = bucket.requestsOf(persistence).map((request) => `${request.command} ${request.ifMatch === undefined ? '' : 'If-Match'}`.trim());
    expect(requests).toContain('CompleteMultipartUploadCommand If-Match');
    expect(await bucket.unfinishedUploads()).toEqual([]);
    const after = await bucket.object(key);
    expect(after.etag).not.toBe(before.etag);
    const reread = decodeSnapshot(after.body).get('user_data') as Map<number, unknown>;
    expect(reread.size).toBe(users);
    expect(reread.get(7)).toEqual({ name: 'changed' });
    expect(reread.get(8)).toEqual(userOf(8));
    peak = Math.max(peak, memory());
    report('large snapshot', { storedMiB: +(storedBytes / 2 ** 20).toFixed(1), users, requests, rssBeforeMiB: rssBefore, rssPeakSeenMiB: peak });
  });

  it(`of ${Math.round(bytes / 2 ** 20)} MiB cut short is a SnapshotDecodeError, and the object is never written`, async () => {
    const key = 'large-truncated/bot';
    const full = encodeSnapshot(new Map([['user_data', new Map(Array.from({ length: users }, (_, id) => [id, userOf(id)]))]]));
    await bucket.put(key, full.subarray(0, full.length - 100));
    const before = await bucket.object(key);
    const persistence = bucket.open(key);

    await expect(persistence.getUserData()).rejects.toMatchObject({ name: 'SnapshotDecodeError', bucket: bucket.name, key });
    await expect(persistence.updateUserData(7, { name: 'changed' })).rejects.toBeInstanceOf(SnapshotDecodeError);

    expect((await bucket.object(key)).etag).toBe(before.etag);
    expect(persistence.metrics.puts).toBe(0);
  });
});
