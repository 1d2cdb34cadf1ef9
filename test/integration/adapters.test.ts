// The session adapters on a real MinIO: grammY's session plugin and Telegraf's session middleware
// across cold starts, and many instances writing one chat's session at once.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  grammyStorage,
  S3KeyValueStore,
  telegrafSessionStore,
  type S3KeyValueStoreOptions,
  type ValueConflict,
} from '../../src/adapters/index.js';
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { grammyCountingBot, telegrafCountingBot, textUpdate, type CountSession } from '../support/adapter-bots.js';
import { freshBucket, minioClient } from '../support/minio.js';

const INSTANCES = 6;
const UPDATES_PER_INSTANCE = 8;

let bucket: string;
const clients: S3Client[] = [];

beforeAll(async () => {
  bucket = await freshBucket('adapters');
});
afterAll(() => {
  for (const client of clients) client.destroy();
});

/**
 * A store of its own, with its own S3 client, as a separate Lambda instance has. Six writers on one
 * key with no think time between updates lose often; these tests are about what is stored, so they
 * allow more attempts than the default 10 (giving up is tested in the unit tests).
 */
function instance(prefix: string, options: Partial<S3KeyValueStoreOptions<CountSession>> = {}): S3KeyValueStore<CountSession> {
  const client = minioClient();
  clients.push(client);
  return new S3KeyValueStore<CountSession>({ prefix: `s3://${bucket}/${prefix}`, client, retry: { maxAttempts: 50 }, ...options });
}

function range(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}

/** Counters add up: what both writers added to what they started from. */
const addCounts = ({ base, ours, theirs }: ValueConflict<CountSession>): CountSession => ({
  count: (theirs?.count ?? 0) + (ours?.count ?? 0) - (base?.count ?? 0),
});

async function listKeys(prefix: string): Promise<string[]> {
  const client = minioClient();
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => object.Key!);
  } finally {
    client.destroy();
  }
}

describe('grammY session plugin on MinIO', () => {
  it('keeps the session across cold starts, one CBOR object per session key', async () => {
    const first = grammyCountingBot(grammyStorage(instance('grammy-cold')));
    await first.handle(textUpdate(1, 42, '/count'));
    await first.handle(textUpdate(2, 42, '/count'));
    const cold = grammyCountingBot(grammyStorage(instance('grammy-cold')));
    await cold.handle(textUpdate(3, 42, '/count'));
    await cold.handle(textUpdate(4, -100123, '/count'));
    expect([...first.replies, ...cold.replies]).toEqual(['1', '2', '3', '1']);

    expect((await listKeys('grammy-cold/')).sort()).toEqual(['grammy-cold/-100123', 'grammy-cold/42']);
    const client = minioClient();
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'grammy-cold/42' }));
      expect(head.ContentType).toBe('application/cbor');
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'grammy-cold/42' }));
      const fields = decodeSnapshot(await object.Body!.transformToByteArray());
      expect(fields.get('value')).toEqual({ count: 3 });
    } finally {
      client.destroy();
    }
  });

  it('answers an unchanged warm read with a 304 and writes nothing', async () => {
    const sessions = instance('grammy-warm');
    const { handle, replies } = grammyCountingBot(grammyStorage(sessions));
    await handle(textUpdate(1, 42, '/count'));
    await handle(textUpdate(2, 42, 'hello'));
    expect(replies).toEqual(['1', 'count is 1']);
    expect(sessions.metrics).toMatchObject({ gets: 2, notModified: 1, puts: 1, preconditionsLost: 0 });
  });

  it('deletes a session with a tombstone that readAllKeys leaves out', async () => {
    const storage = grammyStorage(instance('grammy-delete'));
    const { handle, replies } = grammyCountingBot(storage);
    await handle(textUpdate(1, 1, '/count'));
    await handle(textUpdate(2, 2, '/count'));
    await handle(textUpdate(3, 1, '/reset'));
    expect(replies).toEqual(['1', '1', 'reset']);
    expect((await listKeys('grammy-delete/')).sort()).toEqual(['grammy-delete/1', 'grammy-delete/2']);
    const keys: string[] = [];
    for await (const key of grammyStorage(instance('grammy-delete')).readAllKeys()) keys.push(key);
    expect(keys).toEqual(['2']);
  });

  it(`adds up every /count of ${INSTANCES} instances on one chat at once, given a merge function`, async () => {
    const bots = range(INSTANCES).map(() => grammyCountingBot(grammyStorage(instance('grammy-merge', { merge: addCounts }))));
    await Promise.all(
      bots.map(async (bot, writer) => {
        for (const n of range(UPDATES_PER_INSTANCE)) await bot.handle(textUpdate(writer * 1000 + n, 42, '/count'));
      }),
    );
    const after = grammyCountingBot(grammyStorage(instance('grammy-merge')));
    await after.handle(textUpdate(99_999, 42, 'hello'));
    expect(after.replies).toEqual([`count is ${INSTANCES * UPDATES_PER_INSTANCE}`]);
  });

  it(`reports every /count it overwrote when ${INSTANCES} instances write one chat without a merge function`, async () => {
    const conflicts: Array<ValueConflict<CountSession>> = [];
    const stores = range(INSTANCES).map(() => instance('grammy-later-wins', { onConflict: (conflict) => conflicts.push(conflict) }));
    const bots = stores.map((store) => grammyCountingBot(grammyStorage(store)));
    await Promise.all(
      bots.map(async (bot, writer) => {
        for (const n of range(UPDATES_PER_INSTANCE)) await bot.handle(textUpdate(writer * 1000 + n, 42, '/count'));
      }),
    );
    const stored = (await instance('grammy-later-wins').get('42'))!.count;
    // Every /count missing from the stored counter was overwritten by a write that reported it:
    // each conflict overwrote the increments between its base and theirs, and no other was lost.
    const overwritten = conflicts.reduce((sum, { base, theirs }) => sum + (theirs?.count ?? 0) - (base?.count ?? 0), 0);
    expect(stored).toBe(INSTANCES * UPDATES_PER_INSTANCE - overwritten);
    expect(stores.reduce((sum, store) => sum + store.metrics.conflicts, 0)).toBe(conflicts.length);
    console.log(`grammY sessions, ${INSTANCES} instances x ${UPDATES_PER_INSTANCE} /count on one chat: stored ${stored}, conflicts ${conflicts.length}`);
  });

  it(`never conflicts when ${INSTANCES} instances each write their own chats`, async () => {
    const stores = range(INSTANCES).map(() => instance('grammy-own-chats'));
    await Promise.all(
      stores.map(async (store, writer) => {
        const bot = grammyCountingBot(grammyStorage(store));
        for (const n of range(UPDATES_PER_INSTANCE)) await bot.handle(textUpdate(writer * 1000 + n, writer + 1, '/count'));
      }),
    );
    const check = instance('grammy-own-chats');
    for (const writer of range(INSTANCES)) expect(await check.get(String(writer + 1))).toEqual({ count: UPDATES_PER_INSTANCE });
    expect(stores.map((store) => store.metrics.preconditionsLost)).toEqual(range(INSTANCES).map(() => 0));
  });
});

describe('Telegraf session middleware on MinIO', () => {
  it('keeps the session across cold starts, under the key `from:chat`', async () => {
    const first = telegrafCountingBot(telegrafSessionStore(instance('telegraf-cold')));
    await first.handle(textUpdate(1, 42, '/count'));
    const cold = telegrafCountingBot(telegrafSessionStore(instance('telegraf-cold')));
    await cold.handle(textUpdate(2, 42, '/count'));
    await cold.handle(textUpdate(3, 42, '/reset'));
    await cold.handle(textUpdate(4, 42, 'hello'));
    expect([...first.replies, ...cold.replies]).toEqual(['1', '2', 'reset', 'count is 0']);
    expect(await listKeys('telegraf-cold/')).toEqual(['telegraf-cold/42:42']);
  });

  it(`adds up every /count of ${INSTANCES} instances on one chat at once, given a merge function`, async () => {
    const bots = range(INSTANCES).map(() => telegrafCountingBot(telegrafSessionStore(instance('telegraf-merge', { merge: addCounts }))));
    // Within each instance too, updates of the chat overlap: Telegraf shares one session object among them.
    await Promise.all(
      bots.flatMap((bot, writer) => range(UPDATES_PER_INSTANCE).map((n) => bot.handle(textUpdate(writer * 1000 + n, 42, '/count')))),
    );
    expect(await instance('telegraf-merge').get('42:42')).toEqual({ count: INSTANCES * UPDATES_PER_INSTANCE });
  });
});
