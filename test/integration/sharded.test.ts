// The sharded layout on a real MinIO: one object per user, chat and conversation key, writers of
// different users never contend, a same-entry conflict stays on that entry, and migration both ways.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLayout, type EntryConflict } from '../../src/index.js';
import { shardedKey } from '../../src/snapshot/layout.js';
import { costPerUpdate, openBucket, type TestBucket } from '../support/persistence.js';

const INSTANCES = 8;
const USERS_PER_INSTANCE = 20;

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('sharded');
});
afterAll(() => bucket.destroy());

const range = (length: number) => Array.from({ length }, (_, index) => index);

describe('layout: sharded on MinIO', () => {
  it(`lets ${INSTANCES} instances write different users at once with no lost precondition and no entry lost`, async () => {
    const path = 'different-users/bot';
    const instances = range(INSTANCES).map(() => bucket.open(path, { layout: 'sharded' }));
    await Promise.all(
      instances.flatMap((instance, writer) =>
        range(USERS_PER_INSTANCE).map((n) => instance.updateUserData(writer * 1000 + n, { writer, n })),
      ),
    );
    const cost = costPerUpdate(instances, INSTANCES * USERS_PER_INSTANCE);
    console.log('sharded, different users:', cost);
    expect(cost.preconditionsLost).toBe(0);
    expect(cost.conflicts).toBe(0);
    const users = await bucket.open(path, { layout: 'sharded' }).getUserData();
    expect(users.size).toBe(INSTANCES * USERS_PER_INSTANCE);
    expect(await bucket.keys(`${path}/user_data/`)).toHaveLength(INSTANCES * USERS_PER_INSTANCE);
  });

  it('keeps a conflict on one entry to that entry while writes of other entries proceed', async () => {
    const path = 'one-entry/bot';
    const conflicts: EntryConflict[] = [];
    const a = bucket.open(path, { layout: 'sharded', onConflict: (conflict) => conflicts.push(conflict) });
    const b = bucket.open(path, { layout: 'sharded' });
    await a.updateUserData(1, { count: 1 });
    await b.getUserData();
    await b.updateUserData(1, { count: 10 }); // b now owns the newer version of user 1
    await Promise.all([a.updateUserData(1, { count: 2 }), ...range(10).map((n) => b.updateUserData(100 + n, { n }))]);
    expect(conflicts.map((conflict) => [conflict.entry, conflict.theirs, conflict.ours])).toEqual([
      ['user_data[1]', { count: 10 }, { count: 2 }],
    ]);
    expect(b.metrics.preconditionsLost).toBe(0);
    // a touched only user 1's object: its cold read and write, then one lost condition, a re-read and the retry
    expect(a.metrics).toMatchObject({ gets: 2, puts: 3, preconditionsLost: 1, conflicts: 1 });
    expect(await bucket.keys(shardedKey(path, { section: 'user_data', id: 1 }))).toHaveLength(1);
    const users = await bucket.open(path, { layout: 'sharded' }).getUserData();
    expect(users.get(1)).toEqual({ count: 2 });
    expect(users.size).toBe(11);
  });

  it('migrates a single-file snapshot to the sharded layout and back, verified, on MinIO', async () => {
    const path = 'migrate/bot';
    const seed = bucket.open(path, { onFlush: true });
    for (let id = 1; id <= 300; id++) await seed.updateUserData(id, { id, name: `user ${id}`, joined: new Date(id * 1000) });
    await seed.updateChatData(-1001234567890, { note: 'milk' });
    await seed.updateConversation('survey', [1, 1], 'AGE');
    await seed.flush();
    const client = bucket.raw;
    const there = await migrateLayout({
      from: { filepath: `s3://${bucket.name}/${path}`, layout: 'single-file', client },
      to: { filepath: `s3://${bucket.name}/${path}-sharded`, layout: 'sharded', client },
    });
    expect(there.counts).toMatchObject({ users: 300, chats: 1, conversationKeys: 1 });
    const back = await migrateLayout({
      from: { filepath: `s3://${bucket.name}/${path}-sharded`, layout: 'sharded', client },
      to: { filepath: `s3://${bucket.name}/${path}-back`, layout: 'multi-file', client },
      deleteSource: true,
    });
    expect(back.checksum).toBe(there.checksum);
    expect(await bucket.keys(`${path}-sharded/`)).toEqual([]);
    const restored = bucket.open(`${path}-back`, { layout: 'multi-file' });
    expect(await restored.getUserData()).toEqual(await bucket.open(path).getUserData());
  });
});
