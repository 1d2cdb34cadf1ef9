import { describe, expect, it } from 'vitest';
import { LayoutCollisionError, migrateLayout, PreconditionLostError, S3Persistence, type LayoutName, type MigrationProgress } from '../../src/index.js';
import type { WriteCondition } from '../../src/store/object-store.js';
import { ControlledStore, FileLikeStore, HidingStore, MinioLikeStore } from '../support/stores.js';

type Data = Record<string, unknown>;

const open = (store: ControlledStore, layout: LayoutName) =>
  new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/bot', store, layout, onFlush: true });

async function seed(store: ControlledStore, layout: LayoutName, users = 30) {
  const p = open(store, layout);
  for (let id = 1; id <= users; id++) await p.updateUserData(id, { n: id, at: new Date(id), tags: new Set([id]) });
  await p.updateChatData(-1001234567890, { note: 'milk' });
  await p.updateBotData({ total: users, big: 2n ** 70n });
  await p.updateCallbackData([[['kb', 1, { b: { pick: 'A' } }]], { q: 'kb' }]);
  await p.updateConversation('survey', [1, 1], 'AGE');
  await p.updateConversation('survey', ['1', 1], 'NAME');
  await p.flush();
}

async function everything(store: ControlledStore, layout: LayoutName) {
  const p = open(store, layout);
  return {
    users: await p.getUserData(),
    chats: await p.getChatData(),
    bot: await p.getBotData(),
    callback: await p.getCallbackData(),
    survey: await p.getConversations('survey'),
  };
}

describe('migrateLayout', () => {
  it.each([
    ['single-file', 'sharded'],
    ['sharded', 'multi-file'],
    ['multi-file', 'single-file'],
  ] as const)('moves the whole state from %s to %s, verified, and keeps the source', async (from, to) => {
    const store = new ControlledStore();
    await seed(store, from);
    const before = await everything(store, from);
    const report = await migrateLayout({
      from: { filepath: 's3://bucket/bot', layout: from, store },
      to: { filepath: 's3://bucket/bot', layout: to, store },
    });
    expect(report).toMatchObject({
      verified: true,
      counts: { users: 30, chats: 1, conversationKeys: 2, botDataProperties: 2, callbackKeyboards: 1 },
      deleted: 0,
      manifestKey: 'bot.migration.json',
    });
    expect(await everything(store, to)).toEqual(before);
    expect(await everything(store, from)).toEqual(before);
    const manifest = JSON.parse(new TextDecoder().decode(store.objects.get('bot.migration.json')!.body));
    expect(manifest).toMatchObject({ checksum: report.checksum, counts: report.counts });
  });

  it('resumes: a second run finds everything copied and writes nothing', async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file');
    const endpoints = { from: { filepath: 's3://bucket/bot', layout: 'single-file', store }, to: { filepath: 's3://bucket/bot', layout: 'sharded', store } } as const;
    const first = await migrateLayout(endpoints);
    const requestsBefore = store.requests.length;
    const second = await migrateLayout(endpoints);
    expect(first.copied).toBeGreaterThan(30);
    expect(second).toMatchObject({ copied: 0, checksum: first.checksum });
    // The manifest only, besides the probe of the server (both layouts are at one path).
    const puts = store.requests.slice(requestsBefore).filter((request) => request.startsWith('PUT '));
    expect(puts.filter((request) => !request.startsWith('PUT bot.migration-probe-'))).toEqual(['PUT bot.migration.json if-match']);
  });

  it('deletes the source only after the target is verified, and reports progress', async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file');
    const before = await everything(store, 'single-file');
    const phases = new Set<string>();
    const report = await migrateLayout({
      from: { filepath: 's3://bucket/bot', layout: 'single-file', store },
      to: { filepath: 's3://bucket/new', layout: 'sharded', store },
      deleteSource: true,
      onProgress: (step: MigrationProgress) => phases.add(step.phase),
    });
    expect(report.deleted).toBeGreaterThan(0);
    expect(store.objects.has('bot')).toBe(false);
    const moved = new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/new', store, layout: 'sharded' });
    expect(await moved.getUserData()).toEqual(before.users);
    expect([...phases]).toEqual(expect.arrayContaining(['read source', 'copy', 'verify', 'delete source']));
  });

  it('gives up, deleting nothing, when the source keeps changing under it', async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file', 3);
    let writes = 0;
    store.beforePut = (key) => {
      // another writer changes the source every time the migration writes the target
      if (!key.startsWith('bot/')) return;
      const fields = store.fields('bot');
      fields.set('user_data', new Map([...(fields.get('user_data') as Map<number, unknown>), [1, { n: ++writes }]]));
      store.writeDirectly('bot', fields);
    };
    await expect(
      migrateLayout({
        from: { filepath: 's3://bucket/bot', layout: 'single-file', store },
        to: { filepath: 's3://bucket/bot', layout: 'sharded', store },
        deleteSource: true,
        maxRounds: 2,
      }),
    ).rejects.toThrow(/did not match the source after 2 rounds/);
    expect(store.objects.has('bot')).toBe(true);
  });

  it("keeps what a target object holds besides the state: a user's handled-update marks", async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file', 3);
    const target = new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/new', store, layout: 'sharded' });
    await target.updateUserData(1, { n: 'old' }, { updateId: 7, owner: { userId: 1 } });
    await target.markUpdateProcessed(7, { userId: 1 });
    const report = await migrateLayout({
      from: { filepath: 's3://bucket/bot', layout: 'single-file', store },
      to: { filepath: 's3://bucket/new', layout: 'sharded', store },
    });
    expect(report.counts.users).toBe(3);
    const reopened = new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/new', store, layout: 'sharded' });
    expect((await reopened.getUserData()).get(1)).toEqual((await everything(store, 'single-file')).users.get(1));
    expect(await reopened.isUpdateProcessed(7, { userId: 1 })).toBe(true);
  });

  it('refuses to migrate a layout onto itself', async () => {
    const store = new ControlledStore();
    await expect(
      migrateLayout({ from: { filepath: 's3://bucket/bot', layout: 'sharded', store }, to: { filepath: 's3://bucket/bot', layout: 'sharded', store } }),
    ).rejects.toThrow(/source and target are the same/);
  });
});

/** Every object of the bucket with its ETag: equal before and after means nothing was written. */
const contents = (store: ControlledStore) => [...store.objects].map(([key, { etag }]) => `${key} ${etag}`).sort();

const inPlace = (store: ControlledStore, from: LayoutName, to: LayoutName, deleteSource = false) =>
  migrateLayout({ from: { filepath: 's3://bucket/bot', layout: from, store }, to: { filepath: 's3://bucket/bot', layout: to, store }, deleteSource });

/** Answers 412 to a create-only PUT of an object over keys, as SeaweedFS does. */
class SeaweedLikeStore extends ControlledStore {
  override async put(key: string, body: Uint8Array, condition: WriteCondition) {
    if ([...this.objects.keys()].some((other) => other.startsWith(`${key}/`))) throw new PreconditionLostError(key, 412);
    return super.put(key, body, condition);
  }
}

describe('migrateLayout with both layouts at one path', () => {
  it('refuses single-file to sharded in place, writing nothing, where the server refuses a key under an object (versitygw)', async () => {
    const store = new FileLikeStore();
    await seed(store, 'single-file', 3);
    const before = contents(store);
    const error = await inPlace(store, 'single-file', 'sharded', true).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LayoutCollisionError);
    expect(error).toMatchObject({ code: 'LAYOUT_COLLISION', objectKey: 'bot', otherKey: 'bot/user_data/' });
    const { message } = error as Error;
    expect(message).toContain('"bot" (single-file, the source) and "bot/user_data/" (sharded) share a path');
    expect(message).toMatch(/refuses a key under an object \("bot\.migration-probe-[0-9a-f]+\/object\/user_data\/key" under .*\(HTTP 409 ObjectParentIsFile\)/);
    expect(message).toContain("Nothing was written. Migrate to another filepath (to.filepath), then switch the bot's PERSISTENCE_URL");
    expect(contents(store)).toEqual(before);
  });

  it('refuses sharded to single-file in place, writing nothing, where a create-only PUT over keys is answered 412 (SeaweedFS)', async () => {
    const store = new SeaweedLikeStore();
    await seed(store, 'sharded', 3);
    const before = contents(store);
    const error = await inPlace(store, 'sharded', 'single-file').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LayoutCollisionError);
    expect((error as Error).message).toContain('"bot" (single-file, the target) and "bot/user_data/" (sharded)');
    expect((error as Error).message).toMatch(/refuses an object over keys .*\(HTTP 412 to a create-only PUT of a key that did not exist\)/);
    expect(contents(store)).toEqual(before);
  });

  it('refuses in place, writing nothing, where a listing leaves out the keys under an object', async () => {
    const store = new HidingStore();
    await seed(store, 'single-file', 3);
    const before = contents(store);
    await expect(inPlace(store, 'single-file', 'sharded')).rejects.toThrow(/leaves "bot\.migration-probe-[0-9a-f]+\/object\/user_data\/key" out of a listing/);
    expect(contents(store)).toEqual(before);
  });

  it('does the probe, and nothing of it stays, only when the layouts collide', async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file', 3);
    await migrateLayout({ from: { filepath: 's3://bucket/bot', layout: 'single-file', store }, to: { filepath: 's3://bucket/moved', layout: 'sharded', store } });
    expect(store.requests.filter((request) => request.includes('migration-probe'))).toEqual([]);
    await inPlace(store, 'single-file', 'sharded');
    expect(store.count('PUT bot.migration-probe-')).toBe(4);
    expect([...store.objects.keys()].filter((key) => key.includes('migration-probe'))).toEqual([]);
  });

  it('refuses two layouts that write the very same object', async () => {
    const store = new ControlledStore();
    await seed(store, 'single-file', 1);
    const before = contents(store);
    await expect(
      migrateLayout({ from: { filepath: 's3://bucket/bot', layout: 'multi-file', store }, to: { filepath: 's3://bucket/bot_user_data', layout: 'single-file', store } }),
    ).rejects.toThrow(/both layouts write the object "bot_user_data" \(multi-file, the source\) and "bot_user_data" \(single-file\)/);
    expect(contents(store)).toEqual(before);
  });

  it.each([
    ['single-file', 'sharded'],
    ['sharded', 'single-file'],
  ] as const)('works in place from %s to %s where listings hide only the keys right under an object (MinIO), deleting every source object', async (from, to) => {
    const store = new MinioLikeStore();
    await seed(store, from);
    const before = await everything(store, from);
    const report = await inPlace(store, from, to, true);
    expect(report).toMatchObject({ verified: true, counts: { users: 30, chats: 1, conversationKeys: 2 } });
    expect(await everything(store, to)).toEqual(before);
    // Every object of the source is gone, including those a listing of "bot/" would have left out.
    const left = [...store.objects.keys()].filter((key) => key !== 'bot.migration.json');
    expect(left).toEqual(to === 'sharded' ? expect.not.arrayContaining(['bot']) : ['bot']);
    expect(left.length).toBe(to === 'sharded' ? report.counts.users + report.counts.chats + report.counts.conversationKeys + 2 : 1);
  });

  it('fails the verification, naming both keys, when the probe passed but the target\'s listings come back empty', async () => {
    // A server the probe cannot catch: it hides keys under an object, except under the probe's objects.
    const store = new (class extends HidingStore {
      override async *list(prefix: string): AsyncIterable<string> {
        if (prefix.includes('migration-probe')) yield* ControlledStore.prototype.list.call(this, prefix);
        else yield* super.list(prefix);
      }
    })();
    await seed(store, 'single-file', 3);
    const error = await inPlace(store, 'single-file', 'sharded', true).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LayoutCollisionError);
    expect((error as Error).message).toContain('the sharded layout at "bot" lists no users under "bot/user_data/", but "bot" is a single-file snapshot holding 3');
    expect(store.objects.has('bot')).toBe(true);
    expect(store.objects.has('bot.migration.json')).toBe(false);
  });
});
