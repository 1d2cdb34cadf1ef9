/**
 * Format 2 through S3Persistence: entries are decoded when read, an entry nobody changed is stored
 * again byte for byte, an entry that cannot be decoded fails where it is read and is never
 * overwritten, and objects written in format 1 by the previous release are read and upgraded.
 */
import { decode, encode, Tag } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore, S3Persistence, SnapshotDecodeError } from '../../src/index.js';
import { SNAPSHOT_FORMAT } from '../../src/snapshot/codec.js';

const KEY = 'bot/state';
const open = (store: MemoryObjectStore, options: { onFlush?: boolean } = {}) =>
  new S3Persistence<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>({
    filepath: `s3://${store.bucket}/${KEY}`,
    store,
    ...options,
  });

/** The raw CBOR of one user's entry in the stored object. */
function storedEntryBytes(store: MemoryObjectStore, userId: number): Uint8Array {
  const envelope = decode(store.objects.get(KEY)!.body) as { user_data: Map<number, Tag> };
  return envelope.user_data.get(userId)!.value as Uint8Array;
}

/** Stores an object whose user 7 holds a tag this format never writes (27: cbor-x's RegExp), beside user 8. */
function storeWithCorruptUser(store: MemoryObjectStore): void {
  const corrupt = new Tag(encode({ pattern: new Tag(['RegExp', 'a+'], 27) }), 24);
  const good = new Tag(encode({ n: 1 }), 24);
  const body = encode({ $format: SNAPSHOT_FORMAT, $version: 2, user_data: new Map([[7, corrupt], [8, good]]) });
  store.objects.set(KEY, { body, etag: '"seeded"' });
}

describe('format 2 entries through S3Persistence', () => {
  it('stores an entry nobody changed again as the very bytes it was read as', async () => {
    const store = new MemoryObjectStore();
    const writer = open(store);
    await writer.updateUserData(1, { name: 'Ann', visits: 1 });
    await writer.updateUserData(2, { name: 'Bob', visits: 1 });
    const before = storedEntryBytes(store, 1);

    const other = open(store);
    await other.refreshUserData(2, { name: 'Bob', visits: 1 });
    await other.updateUserData(2, { name: 'Bob', visits: 2 });
    expect(Buffer.from(storedEntryBytes(store, 1)).equals(Buffer.from(before))).toBe(true);
    expect((await open(store).getUserData()).get(2)).toEqual({ name: 'Bob', visits: 2 });
  });

  it('serves and writes the other entries until the corrupt one is read, keeping its bytes; then refuses the object', async () => {
    const store = new MemoryObjectStore();
    storeWithCorruptUser(store);
    const persistence = open(store);

    const user8: Record<string, unknown> = {};
    await persistence.refreshUserData(8, user8);
    expect(user8).toEqual({ n: 1 });
    const corruptBytes = Buffer.from(storedEntryBytes(store, 7));
    await persistence.updateUserData(8, { n: 2 });
    expect(Buffer.from(storedEntryBytes(store, 7)).equals(corruptBytes)).toBe(true);
    expect(decode(storedEntryBytes(store, 8))).toEqual({ n: 2 });

    const error = await persistence.getUserData().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapshotDecodeError);
    expect((error as SnapshotDecodeError).message).toMatch(/unexpected RegExp at user_data\.get\(7\)\.pattern/);
    expect((error as SnapshotDecodeError).message).toContain(KEY);
    // As with an object that does not decode at all: nothing more is read from it or written to it.
    const etag = store.objects.get(KEY)!.etag;
    await expect(persistence.updateUserData(8, { n: 3 })).rejects.toThrow(SnapshotDecodeError);
    await expect(persistence.refreshUserData(8, user8)).rejects.toThrow(SnapshotDecodeError);
    expect(store.objects.get(KEY)!.etag).toBe(etag);
  });

  it('never overwrites or drops an entry it cannot read', async () => {
    const store = new MemoryObjectStore();
    storeWithCorruptUser(store);
    const persistence = open(store);
    await expect(persistence.updateUserData(7, { fresh: true })).rejects.toThrow(SnapshotDecodeError);
    await expect(persistence.dropUserData(7)).rejects.toThrow(SnapshotDecodeError);
    expect(store.objects.get(KEY)!.etag).toBe('"seeded"');
  });

  it('reads an object written in format 1 by the previous release, and writes it back in format 2 with everything kept', async () => {
    const store = new MemoryObjectStore();
    const v1 = encode({
      $format: SNAPSHOT_FORMAT,
      $version: 1,
      user_data: new Map([[1, { name: 'Ann' }], [2, { name: 'Bob' }]]),
      chat_data: new Map([[-100, { title: 'group' }]]),
      bot_data: { total: 3 },
    });
    store.objects.set(KEY, { body: v1, etag: '"v1"' });

    const persistence = open(store);
    expect(await persistence.getUserData()).toEqual(new Map([[1, { name: 'Ann' }], [2, { name: 'Bob' }]]));
    await persistence.updateUserData(2, { name: 'Bob', visits: 1 });

    const stored = decode(store.objects.get(KEY)!.body) as { $version: number; chat_data: Map<number, Tag> };
    expect(stored.$version).toBe(2);
    expect(stored.chat_data.get(-100)!.tag).toBe(24);
    const reread = open(store);
    expect(await reread.getUserData()).toEqual(new Map([[1, { name: 'Ann' }], [2, { name: 'Bob', visits: 1 }]]));
    expect(await reread.getChatData()).toEqual(new Map([[-100, { title: 'group' }]]));
    expect(await reread.getBotData()).toEqual({ total: 3 });
  });

  it('restores the bot in entries read all at once, decoded fresh or already read', async () => {
    class Bot {
      constructor(readonly token: string) {}
    }
    const store = new MemoryObjectStore();
    const writer = open(store);
    const bot = new Bot('1:secret');
    writer.setBot(bot);
    await writer.updateUserData(1, { owner: bot, plain: 1 });
    await writer.updateUserData(2, { plain: 2 });

    const later = new Bot('1:secret');
    const reader = open(store);
    reader.setBot(later);
    const first = await reader.getUserData();
    expect(first.get(1)!.owner).toBe(later);
    await reader.refreshUserData(2, {}); // user 2 is now decoded and kept; the next read copies it
    const second = await reader.getUserData();
    expect(second.get(1)!.owner).toBe(later);
    expect(second.get(2)).toEqual({ plain: 2 });
    expect(second.get(2)).not.toBe(first.get(2));
  });

  it('hands out a private copy of a lazily decoded entry on every read', async () => {
    const store = new MemoryObjectStore();
    await open(store).updateUserData(1, { tags: ['a'] });
    const reader = open(store);
    const first = (await reader.getUserData()).get(1) as { tags: string[] };
    first.tags.push('changed by the caller');
    expect((await reader.getUserData()).get(1)).toEqual({ tags: ['a'] });
  });
});
