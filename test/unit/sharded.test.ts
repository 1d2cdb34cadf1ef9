import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, LayoutCollisionError, PersistenceRuntime, S3Persistence, type LoadProgress, type S3PersistenceOptions } from '../../src/index.js';
import { entryOfShardedKey, shardedKey } from '../../src/snapshot/layout.js';
import { ControlledStore, HidingStore } from '../support/stores.js';

type Data = Record<string, unknown>;

function sharded(store: ControlledStore, options: Partial<S3PersistenceOptions<Data, Data, Data>> = {}) {
  return new S3Persistence<Data, Data, Data>({
    filepath: 's3://bucket/bot',
    store,
    layout: 'sharded',
    retry: { baseDelayMs: 0, maxDelayMs: 0 },
    ...options,
  });
}

describe('sharded layout keys', () => {
  it('puts each user, chat and conversation key in its own object, behind a two-hex-digit shard', () => {
    expect(shardedKey('bot', { section: 'user_data', id: 42 })).toMatch(/^bot\/user_data\/[0-9a-f]{2}\/42$/);
    expect(shardedKey('bot', { section: 'chat_data', id: -1001234567890 })).toMatch(/^bot\/chat_data\/[0-9a-f]{2}\/-1001234567890$/);
    expect(shardedKey('bot', { section: 'conversations', name: 'sur vey', key: '[1,"2"]' })).toMatch(
      /^bot\/conversations\/sur%20vey\/[0-9a-f]{2}\/%5B1%2C%222%22%5D$/,
    );
    expect(shardedKey('bot', { section: 'bot_data', property: 'x' })).toBe('bot/bot_data');
    expect(shardedKey('bot', { section: 'callback_data' })).toBe('bot/callback_data');
  });

  it('spreads ids over many shards', () => {
    const shards = new Set(Array.from({ length: 1000 }, (_, id) => shardedKey('p', { section: 'user_data', id }).split('/')[2]));
    expect(shards.size).toBeGreaterThan(200);
  });

  it('reads the entry back from a listed key, and nothing from a foreign key', () => {
    for (const ref of [
      { section: 'user_data', id: 42 },
      { section: 'chat_data', id: -5 },
      { section: 'conversations', name: 'a/b', key: '["x",1]' },
    ] as const) {
      expect(entryOfShardedKey('bot', shardedKey('bot', ref))).toEqual(ref);
    }
    expect(entryOfShardedKey('bot', 'bot/user_data/00/not-a-number')).toBeUndefined();
    expect(entryOfShardedKey('bot', 'other/user_data/00/1')).toBeUndefined();
    expect(entryOfShardedKey('bot', 'bot/user_data/00/1/extra')).toBeUndefined();
  });
});

describe('S3Persistence with layout: sharded', () => {
  it('refuses a layout that contradicts singleFile', () => {
    expect(() => sharded(new ControlledStore(), { singleFile: true })).toThrow(InvalidOptionsError);
    expect(() => sharded(new ControlledStore(), { layout: 'zip' as never })).toThrow(/layout must be/);
  });

  it('writes one object per entry and reads them all back through getUserData, reporting progress', async () => {
    const store = new ControlledStore();
    const writer = sharded(store);
    for (let id = 1; id <= 5; id++) await writer.updateUserData(id, { n: id });
    await writer.updateChatData(-100, { note: 'x' });
    await writer.updateBotData({ total: 5 });
    expect([...store.objects.keys()].filter((key) => key.startsWith('bot/user_data/'))).toHaveLength(5);

    const progress: LoadProgress[] = [];
    const reader = sharded(store, { onProgress: (step) => progress.push(step) });
    expect(await reader.getUserData()).toEqual(new Map([1, 2, 3, 4, 5].map((id) => [id, { n: id }])));
    expect(await reader.getChatData()).toEqual(new Map([[-100, { note: 'x' }]]));
    expect(await reader.getBotData()).toEqual({ total: 5 });
    expect(progress.filter((step) => step.kind === 'user_data').at(-1)).toEqual({ kind: 'user_data', loaded: 5, total: 5 });
  });

  it('touches only the one entry’s object on an update', async () => {
    const store = new ControlledStore();
    const p = sharded(store);
    await p.updateUserData(1, { n: 1 });
    const before = store.requests.length;
    await p.updateUserData(2, { n: 2 });
    expect(store.requests.slice(before)).toEqual([
      `GET ${shardedKey('bot', { section: 'user_data', id: 2 })}`,
      `PUT ${shardedKey('bot', { section: 'user_data', id: 2 })} if-none-match`,
    ]);
  });

  it('lets writers of different users proceed without a lost precondition, and retries only the contended entry', async () => {
    const store = new ControlledStore();
    const a = sharded(store);
    const b = sharded(store);
    await a.updateUserData(1, { from: 'a' });
    await b.updateUserData(2, { from: 'b' });
    await b.updateUserData(1, { from: 'b' }); // b reads user 1 now: a's write is known
    await a.updateUserData(1, { from: 'a again' }); // a's ETag of user 1 is stale: one retry, on that object only
    await a.updateUserData(3, { from: 'a' });
    expect(a.metrics.preconditionsLost).toBe(1);
    expect(b.metrics.preconditionsLost).toBe(0);
    expect(await sharded(store).getUserData()).toEqual(
      new Map([
        [1, { from: 'a again' }],
        [2, { from: 'b' }],
        [3, { from: 'a' }],
      ]),
    );
  });

  it('lists conversation states by name, and reads one key with refreshConversation', async () => {
    const store = new ControlledStore();
    const p = sharded(store);
    await p.updateConversation('survey', [1, 1], 'NAME');
    await p.updateConversation('survey', [2, 2], 'AGE');
    await p.updateConversation('other', [1, 1], 'X');
    const reader = sharded(store);
    expect(await reader.getConversations('survey')).toEqual(
      new Map([
        ['[1,1]', 'NAME'],
        ['[2,2]', 'AGE'],
      ]),
    );
    expect(await reader.refreshConversation('survey', [2, 2])).toBe('AGE');
    expect(await reader.refreshConversation('survey', [3, 3])).toBeUndefined();
  });

  it('keeps the handled-update mark with the update’s user, not in a shared object', async () => {
    const store = new ControlledStore();
    const p = sharded(store);
    await p.markUpdateProcessed(77, { userId: 5, chatId: 5 });
    expect([...store.objects.keys()]).toEqual([shardedKey('bot', { section: 'user_data', id: 5 })]);
    expect(await sharded(store).isUpdateProcessed(77, { userId: 5 })).toBe(true);
    expect(await sharded(store).isUpdateProcessed(77, { userId: 6 })).toBe(false);
  });

  it('drives a runtime that reads on a cold start only bot data, callback data and the update’s own entries', async () => {
    const store = new ControlledStore();
    const seed = sharded(store);
    for (let id = 1; id <= 20; id++) await seed.updateUserData(id, { n: id });
    const runtime = new PersistenceRuntime(sharded(store, { onFlush: true }));
    runtime.registerConversation('survey');
    const before = store.requests.length;
    const outcome = await runtime.run({ updateId: 1, userId: 7, chatId: 7 }, (scope) => {
      scope.userData.n = Number(scope.userData.n) + 100;
      return scope.userData.n;
    });
    expect(outcome).toEqual({ status: 'handled', result: 107 });
    const requests = store.requests.slice(before);
    expect(requests.filter((request) => request.startsWith('GET')).sort()).toEqual(
      [
        'GET bot/bot_data',
        'GET bot/callback_data',
        `GET ${shardedKey('bot', { section: 'user_data', id: 7 })}`,
        `GET ${shardedKey('bot', { section: 'chat_data', id: 7 })}`,
        `GET ${shardedKey('bot', { section: 'conversations', name: 'survey', key: '[7,7]' })}`,
      ].sort(),
    );
    expect(requests.filter((request) => request.startsWith('PUT'))).toEqual([
      `PUT ${shardedKey('bot', { section: 'user_data', id: 7 })} if-match`,
    ]);
  });

  it('never stores a chat or user created from the defaults and left so, also on later updates of the same instance', async () => {
    const store = new ControlledStore();
    const runtime = new PersistenceRuntime(sharded(store, { onFlush: true }));
    const countUser = (scope: { userData: Data }) => {
      scope.userData.n = Number(scope.userData.n ?? 0) + 1;
    };
    for (let update = 1; update <= 3; update++) await runtime.run({ updateId: update, userId: 7, chatId: 7 }, countUser);
    // User 8 is only looked at: their object holds the update's handled mark, and no user data.
    await runtime.run({ updateId: 4, userId: 8, chatId: 7 }, () => undefined);
    const puts = store.requests.filter((request) => request.startsWith('PUT'));
    expect(puts.filter((request) => request.includes('/chat_data/'))).toEqual([]);
    expect(await sharded(store).getUserData()).toEqual(new Map([[7, { n: 3 }]]));

    // Once changed, a chat is stored, and changing it back to the default is stored too.
    await runtime.run({ updateId: 5, userId: 7, chatId: 7 }, (scope) => {
      scope.chatData.note = 'x';
    });
    await runtime.run({ updateId: 6, userId: 7, chatId: 7 }, (scope) => {
      delete scope.chatData.note;
    });
    expect(await sharded(store).getChatData()).toEqual(new Map([[7, {}]]));
  });
});

describe('a sharded instance beside a single-file snapshot at its path', () => {
  const singleFile = (store: ControlledStore) =>
    new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/bot', store, layout: 'single-file' });

  it('refuses to read an empty listing as empty when the snapshot at its path holds entries of that kind, and writes nothing', async () => {
    const store = new ControlledStore();
    const ptb = singleFile(store);
    await ptb.updateUserData(1, { n: 1 });
    await ptb.updateUserData(2, { n: 2 });
    await ptb.updateConversation('survey', [1, 1], 'AGE');
    await ptb.flush();
    const before = [...store.objects.keys()];
    const error = await sharded(store).getUserData().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LayoutCollisionError);
    expect(error).toMatchObject({ code: 'LAYOUT_COLLISION', objectKey: 'bot', otherKey: 'bot/user_data/', bucket: 'bucket', key: 'bot' });
    expect((error as Error).message).toBe(
      'the sharded layout at "bot" lists no users under "bot/user_data/", but "bot" is a single-file snapshot holding 2: ' +
        "this path holds the single-file layout (open it with layout: 'single-file', or move it with migrateLayout), " +
        'or the server leaves keys under an object out of its listings (delete or move that object). Nothing was written (s3://bucket/bot)',
    );
    await expect(sharded(store).getConversations('survey')).rejects.toThrow('lists no keys of conversation "survey" under "bot/conversations/survey/"');
    expect([...store.objects.keys()]).toEqual(before);
  });

  it('reads an empty kind as empty when the snapshot holds none of it either, or nothing is stored (one GET more)', async () => {
    const store = new ControlledStore();
    expect(await sharded(store).getUserData()).toEqual(new Map());
    expect(store.requests).toEqual(['GET bot']);
    await singleFile(store).updateBotData({ total: 0 });
    expect(await sharded(store).getChatData()).toEqual(new Map());
  });

  it('lists its entries beside the snapshot where the server lists them, without a look at the snapshot', async () => {
    const store = new ControlledStore();
    await singleFile(store).updateUserData(1, { old: true });
    await sharded(store).updateUserData(2, { sharded: true });
    expect([...store.objects.keys()]).toEqual(['bot', shardedKey('bot', { section: 'user_data', id: 2 })]);
    store.requests.length = 0;
    expect(await sharded(store).getUserData()).toEqual(new Map([[2, { sharded: true }]]));
    expect(store.requests).not.toContain('GET bot');
  });

  it('says so where the server leaves the keys under the snapshot out of its listings', async () => {
    const store = new HidingStore();
    await singleFile(store).updateUserData(1, { old: true });
    await sharded(store).updateUserData(2, { sharded: true });
    await expect(sharded(store).getUserData()).rejects.toThrow(/lists no users under "bot\/user_data\/", but "bot" is a single-file snapshot holding 1/);
  });
});
