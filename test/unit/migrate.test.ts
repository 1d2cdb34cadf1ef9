import { describe, expect, it } from 'vitest';
import { migrateLayout, S3Persistence, type LayoutName, type MigrationProgress } from '../../src/index.js';
import { ControlledStore } from '../support/stores.js';

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
    const putsBefore = store.count('PUT');
    const second = await migrateLayout(endpoints);
    expect(first.copied).toBeGreaterThan(30);
    expect(second).toMatchObject({ copied: 0, checksum: first.checksum });
    expect(store.count('PUT') - putsBefore).toBe(1); // the manifest only
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

  it('refuses to migrate a layout onto itself', async () => {
    const store = new ControlledStore();
    await expect(
      migrateLayout({ from: { filepath: 's3://bucket/bot', layout: 'sharded', store }, to: { filepath: 's3://bucket/bot', layout: 'sharded', store } }),
    ).rejects.toThrow(/source and target are the same/);
  });
});
