import { describe, expect, it, vi } from 'vitest';
import {
  InvalidOptionsError,
  S3Persistence,
  SerializationError,
  WriteConflictError,
  conversationKey,
  type EntryConflict,
  type S3PersistenceOptions,
} from '../../src/index.js';
import { ControlledStore } from '../support/stores.js';

const NO_BACKOFF = { baseDelayMs: 0, maxDelayMs: 0 };

function persistence(store: ControlledStore, options: Partial<S3PersistenceOptions<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>> = {}) {
  return new S3Persistence({ filepath: 's3://bucket/bot/state', store, retry: NO_BACKOFF, ...options });
}

describe('S3Persistence options', () => {
  it('takes the bucket and key from an s3:// filepath', () => {
    const p = new S3Persistence({ filepath: 's3://my-bucket/prod/bot', store: new ControlledStore('my-bucket') });
    expect([p.bucket, p.path]).toEqual(['my-bucket', 'prod/bot']);
  });

  it('takes a plain key together with the bucket option', () => {
    const p = new S3Persistence({ filepath: 'prod/bot', bucket: 'my-bucket', store: new ControlledStore('my-bucket') });
    expect([p.bucket, p.path]).toEqual(['my-bucket', 'prod/bot']);
  });

  it.each([
    ['', undefined, /filepath is required/],
    ['s3://', undefined, /names no bucket/],
    ['s3://bucket', undefined, /must name an object/],
    ['s3://bucket/dir/', undefined, /must name an object/],
    ['prod/bot', undefined, /has no bucket/],
    ['s3://one/bot', 'two', /names bucket "one" but the bucket option is "two"/],
    ['https://example.com/bot', 'b', /must start with s3:\/\//],
  ])('refuses filepath %j (bucket %j) with a clear error', (filepath, bucket, message) => {
    expect(() => new S3Persistence({ filepath, bucket })).toThrow(InvalidOptionsError);
    expect(() => new S3Persistence({ filepath, bucket })).toThrow(message);
  });

  it('refuses a store whose bucket is not the one of the filepath', () => {
    expect(() => new S3Persistence({ filepath: 's3://one/k', store: new ControlledStore('two') })).toThrow(
      /store is for bucket "two" but filepath names bucket "one"/,
    );
  });

  it('keeps updateInterval read-only after construction', () => {
    const p = new S3Persistence({ filepath: 's3://bucket/k', updateInterval: 30, store: new ControlledStore() });
    expect(p.updateInterval).toBe(30);
    expect(() => {
      (p as { updateInterval: number }).updateInterval = 5;
    }).toThrow(TypeError);
  });
});

describe('S3Persistence load', () => {
  it('reads the snapshot once on the first get and serves later gets from memory', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await Promise.all([p.getUserData(), p.getChatData(), p.getBotData(), p.getConversations('x')]);
    await p.getCallbackData();
    expect(store.requests).toEqual(['GET bot/state']);
  });

  it('gives empty defaults for a missing snapshot, bot data from contextTypes', async () => {
    const p = new S3Persistence({
      filepath: 's3://bucket/k',
      store: new ControlledStore(),
      contextTypes: { botData: () => ({ started: 'never' }) },
    });
    expect(await p.getUserData()).toEqual(new Map());
    expect(await p.getChatData()).toEqual(new Map());
    expect(await p.getBotData()).toEqual({ started: 'never' });
    expect(await p.getCallbackData()).toBeNull();
    expect(await p.getConversations('survey')).toEqual(new Map());
  });

  it('returns copies: mutating what get returned changes nothing stored', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { n: 1 });
    const users = await p.getUserData();
    users.get(1)!.n = 99;
    expect((await p.getUserData()).get(1)).toEqual({ n: 1 });
  });

  it('returns copies after a cold load too, where the first get is handed the Map the load decoded', async () => {
    const store = new ControlledStore();
    const writer = persistence(store);
    await Promise.all([1, 2, 3].map((id) => writer.updateUserData(id, { n: id, tags: ['a'] })));
    await writer.updateChatData(-5, { title: 'chat' });
    const p = persistence(store);
    const users = await p.getUserData();
    expect([...users]).toEqual([1, 2, 3].map((id) => [id, { n: id, tags: ['a'] }]));
    users.get(1)!.n = 99;
    (users.get(2)!.tags as string[]).push('b');
    users.delete(3);
    users.set(4, { n: 4 });
    const again = await p.getUserData();
    expect([...again]).toEqual([1, 2, 3].map((id) => [id, { n: id, tags: ['a'] }]));
    expect(again.get(1)).not.toBe(users.get(1));
    // An update after it writes its own entry and leaves the others as they were stored.
    await p.updateUserData(2, { n: 20 });
    const reader = persistence(store);
    expect([...(await reader.getUserData())]).toEqual([
      [1, { n: 1, tags: ['a'] }],
      [2, { n: 20 }],
      [3, { n: 3, tags: ['a'] }],
    ]);
    expect(await reader.getChatData()).toEqual(new Map([[-5, { title: 'chat' }]]));
  });
});

describe('S3Persistence writes', () => {
  it('creates the snapshot with If-None-Match and updates it with If-Match', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { n: 1 });
    await p.updateUserData(1, { n: 2 });
    expect(store.requests).toEqual(['GET bot/state', 'PUT bot/state if-none-match', 'PUT bot/state if-match']);
  });

  it('writes nothing when the data equals what is stored', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { a: [1, 2], b: new Map([[1, 'x']]) });
    await p.updateUserData(1, { b: new Map([[1, 'x']]), a: [1, 2] });
    await p.dropChatData(5);
    await p.updateConversation('c', [1, 2], null);
    expect(store.count('PUT')).toBe(1);
  });

  it('makes an update durable when its promise resolves', async () => {
    const store = new ControlledStore();
    await persistence(store).updateChatData(-1001234567890, { note: 'hi' });
    expect(store.fields('bot/state').get('chat_data')).toEqual(new Map([[-1001234567890, { note: 'hi' }]]));
  });

  it('copies the data at call time, so a later mutation by the caller is not written', async () => {
    const store = new ControlledStore();
    const data = { n: 1 };
    const written = persistence(store).updateUserData(7, data);
    data.n = 2;
    await written;
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[7, { n: 1 }]]));
  });

  it('with onFlush keeps changes in memory until flush()', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { onFlush: true });
    await p.updateUserData(1, { n: 1 });
    await p.updateBotData({ total: 1 });
    expect(store.count('PUT')).toBe(0);
    expect((await p.getUserData()).get(1)).toEqual({ n: 1 });
    expect(p.hasPendingChanges).toBe(true);
    await p.flush();
    expect(store.count('PUT')).toBe(1);
    expect(p.hasPendingChanges).toBe(false);
    expect(store.fields('bot/state').get('bot_data')).toEqual({ total: 1 });
  });

  it('drops a user and a chat', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { n: 1 });
    await p.updateUserData(2, { n: 2 });
    await p.updateChatData(3, { c: 3 });
    await p.dropUserData(1);
    await p.dropChatData(3);
    expect(await persistence(store).getUserData()).toEqual(new Map([[2, { n: 2 }]]));
    expect(await persistence(store).getChatData()).toEqual(new Map());
  });

  it('ends a conversation with null and keys conversations by conversationKey', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateConversation('survey', [1, 2], 'AGE');
    await p.updateConversation('survey', ['1', 2], 'NAME');
    const states = await persistence(store).getConversations('survey');
    expect(states.get(conversationKey([1, 2]))).toBe('AGE');
    expect(states.get(conversationKey(['1', 2]))).toBe('NAME');
    await p.updateConversation('survey', [1, 2], null);
    expect([...(await persistence(store).getConversations('survey')).keys()]).toEqual(['["1",2]']);
  });

  it('refuses an unnamed conversation', async () => {
    await expect(persistence(new ControlledStore()).updateConversation('', [1], 'X')).rejects.toThrow(/non-empty name/);
  });

  it.each([[[Infinity]], [[1, NaN]], [[{ id: 1 }]], ['1,2']])('refuses the conversation key %j, writing nothing', async (key) => {
    const store = new ControlledStore();
    const outcome = persistence(store).updateConversation('survey', key as never, 'X');
    await expect(outcome).rejects.toThrow(SerializationError);
    await expect(outcome).rejects.toThrow(/finite numbers and strings/);
    expect(store.requests.filter((request) => request.startsWith('PUT'))).toEqual([]);
  });

  it('refuses a value it cannot store, naming the user, and writes nothing', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { n: 1 });
    const error = await p.updateUserData(42, { handler: () => 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).path).toBe('user_data[42].handler');
    expect((error as Error).message).toMatch(/user_data\[42\]\.handler.*function/);
    expect(store.count('PUT')).toBe(1);
    expect(await persistence(store).getUserData()).toEqual(new Map([[1, { n: 1 }]]));
  });

  it('refuses a user id that is not an integer', async () => {
    await expect(persistence(new ControlledStore()).updateUserData(1.5, {})).rejects.toThrow(/user id must be an integer/);
  });

  it('stores only the kinds storeData enables', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { storeData: { chatData: false, callbackData: false } });
    await p.updateChatData(1, { c: 1 });
    await p.updateCallbackData([[], {}]);
    await p.updateUserData(1, { u: 1 });
    expect([...store.fields('bot/state').keys()].filter((field) => !field.startsWith('$'))).toEqual(['user_data']);
    expect(await p.getChatData()).toEqual(new Map());
    expect(await p.getCallbackData()).toBeNull();
  });

  it('in the multi-file layout writes one object per kind, with PTB names', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { singleFile: false });
    await p.updateUserData(1, {});
    await p.updateChatData(1, {});
    await p.updateBotData({ a: 1 });
    await p.updateCallbackData([[['k', 1, { b: 'x' }]], { q: 'k' }]);
    await p.updateConversation('c', [1], 1);
    expect([...store.objects.keys()].sort()).toEqual([
      'bot/state_bot_data',
      'bot/state_callback_data',
      'bot/state_chat_data',
      'bot/state_conversations',
      'bot/state_user_data',
    ]);
    expect(await persistence(store, { singleFile: false }).getCallbackData()).toEqual([[['k', 1, { b: 'x' }]], { q: 'k' }]);
  });
});

describe('S3Persistence group commit', () => {
  it('sends changes made while a PUT is in flight together in the next PUT', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.getUserData();
    const gate = store.holdNextPut();
    const first = p.updateUserData(0, { n: 0 });
    await gate.reached;
    const rest = Array.from({ length: 20 }, (_, i) => p.updateUserData(i + 1, { n: i + 1 }));
    gate.release();
    await Promise.all([first, ...rest]);
    expect(store.count('PUT')).toBe(2);
    expect((store.fields('bot/state').get('user_data') as Map<number, unknown>).size).toBe(21);
  });

  it('resolves an update only once the PUT carrying it is stored', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.getUserData();
    const gate = store.holdNextPut();
    let resolved = false;
    const update = p.updateUserData(1, { n: 1 }).then(() => (resolved = true));
    await gate.reached;
    await Promise.resolve();
    expect(resolved).toBe(false);
    gate.release();
    await update;
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[1, { n: 1 }]]));
  });
});

describe('S3Persistence conflicts', () => {
  it('re-reads and merges when another writer changed a different entry', async () => {
    const store = new ControlledStore();
    const a = persistence(store);
    const b = persistence(store);
    await a.getUserData();
    await b.updateUserData(2, { from: 'b' });
    await a.updateUserData(1, { from: 'a' });
    expect(store.fields('bot/state').get('user_data')).toEqual(
      new Map([
        [2, { from: 'b' }],
        [1, { from: 'a' }],
      ]),
    );
    expect(a.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 0 });
  });

  it('merges bot data per top-level property, three-way against what was read', async () => {
    const store = new ControlledStore();
    const a = persistence(store);
    await a.updateBotData({ x: 0, y: 0, z: 0 });
    const b = persistence(store);
    await b.getBotData();
    await b.updateBotData({ x: 1, y: 0, z: 0, added: true });
    await a.updateBotData({ x: 0, y: 2 });
    expect(store.fields('bot/state').get('bot_data')).toEqual({ x: 1, y: 2, added: true });
  });

  it('lets the later write win a same-entry conflict, counting and reporting it', async () => {
    const store = new ControlledStore();
    const conflicts: Array<EntryConflict & { resolution: unknown }> = [];
    const a = persistence(store, { onConflict: (c) => conflicts.push(c) });
    await a.updateUserData(1, { n: 0 });
    const b = persistence(store);
    await b.updateUserData(1, { n: 5 });
    await a.updateUserData(1, { n: 1 });
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[1, { n: 1 }]]));
    expect(a.metrics.conflicts).toBe(1);
    expect(conflicts).toEqual([
      { section: 'user_data', entry: 'user_data[1]', base: { n: 0 }, ours: { n: 1 }, theirs: { n: 5 }, resolution: { n: 1 } },
    ]);
  });

  it('lets a merge function decide a same-entry conflict', async () => {
    const store = new ControlledStore();
    const merge = vi.fn(({ base, ours, theirs }: EntryConflict) => {
      const count = (v: unknown) => (v as { count: number }).count;
      return { count: count(ours) + count(theirs) - count(base) };
    });
    const a = persistence(store, { merge });
    await a.updateBotData({ stats: { count: 10 } });
    const b = persistence(store);
    await b.updateBotData({ stats: { count: 13 } });
    await a.updateBotData({ stats: { count: 11 } });
    expect(merge).toHaveBeenCalledTimes(1);
    expect(store.fields('bot/state').get('bot_data')).toEqual({ stats: { count: 14 } });
  });

  it('counts two writers setting one entry to the same value as a conflict, so a merge function sees it', async () => {
    const store = new ControlledStore();
    const merge = vi.fn(({ ours }: EntryConflict) => ours);
    const a = persistence(store, { merge });
    await a.getUserData();
    await persistence(store).updateUserData(1, { same: true });
    await a.updateUserData(1, { same: true });
    expect(a.metrics.conflicts).toBe(1);
    expect(merge).toHaveBeenCalledWith({ section: 'user_data', entry: 'user_data[1]', base: undefined, ours: { same: true }, theirs: { same: true } });
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[1, { same: true }]]));
  });

  it('recognises its own write whose answer was lost, instead of taking it for another writer’s', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { onConflict: () => expect.unreachable('no conflict') });
    await p.updateUserData(1, { n: 1 });
    // The PUT is applied, then its answer is lost and the SDK retries it: the retry meets its own write.
    const put = store.put.bind(store);
    let lost = false;
    store.put = async (key, body, condition) => {
      const stored = await put(key, body, condition);
      if (lost) return stored;
      lost = true;
      return put(key, body, condition);
    };
    await p.updateUserData(1, { n: 2 });
    expect(p.metrics).toMatchObject({ conflicts: 0, preconditionsLost: 1 });
    expect(p.hasPendingChanges).toBe(false);
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[1, { n: 2 }]]));
  });

  it('keeps in the object only the write ids still needed: its own settled ones go, other writers\' stay', async () => {
    const store = new ControlledStore();
    const writeIds = () => (store.fields('bot/state').get('$writes') as Array<[string, number]>).map(([id]) => id);
    const p = persistence(store);
    for (let n = 1; n <= 5; n++) await p.updateUserData(1, { n });
    expect(writeIds()).toHaveLength(1);
    const pFirst = writeIds()[0]!;

    const q = persistence(store);
    await q.updateUserData(2, { n: 1 });
    const [kept, qFirst] = writeIds();
    expect(kept).toBe(pFirst);

    await p.updateUserData(1, { n: 6 });
    const ids = writeIds();
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(qFirst); // another writer's id is not p's to drop
    expect(ids).not.toContain(pFirst);
  });

  it('re-creates a snapshot deleted behind its back', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateUserData(1, { n: 1 });
    store.objects.delete('bot/state');
    await p.updateUserData(2, { n: 2 });
    expect(store.requests.slice(-3)).toEqual(['PUT bot/state if-match', 'GET bot/state', 'PUT bot/state if-none-match']);
    expect(store.fields('bot/state').get('user_data')).toEqual(new Map([[2, { n: 2 }]]));
  });

  it('gives up after maxAttempts with a WriteConflictError and keeps the change for the next write', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { retry: { ...NO_BACKOFF, maxAttempts: 3 } });
    await p.updateUserData(1, { n: 1 });
    let rival = 0;
    store.beforePut = (key) => store.writeDirectly(key, new Map([['user_data', new Map([[1000, { rival: ++rival }]])]]));
    const error = await p.updateUserData(2, { n: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    expect((error as WriteConflictError).attempts).toBe(3);
    expect((error as Error).message).toContain('s3://bucket/bot/state');
    expect(p.hasPendingChanges).toBe(true);
    store.beforePut = undefined;
    await p.flush();
    expect(store.fields('bot/state').get('user_data')).toEqual(
      new Map([
        [1000, { rival: 3 }],
        [2, { n: 2 }],
      ]),
    );
  });

  it('backs off with capped exponential delays and full jitter between attempts', async () => {
    const store = new ControlledStore();
    const delays: number[] = [];
    const p = new S3Persistence({
      filepath: 's3://bucket/bot/state',
      store,
      retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50 },
    });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const timeout = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      delays.push(ms);
      fn();
      return 0 as unknown as ReturnType<typeof setTimeout>;
    }) as typeof setTimeout);
    try {
      await p.getUserData();
      store.beforePut = (key) => store.writeDirectly(key, new Map());
      await expect(p.updateUserData(1, {})).rejects.toBeInstanceOf(WriteConflictError);
    } finally {
      timeout.mockRestore();
      vi.restoreAllMocks();
    }
    expect(delays).toEqual([5, 10, 20, 25]);
  });
});

describe('S3Persistence refresh', () => {
  it('updates the passed object in place when another instance changed the snapshot', async () => {
    const store = new ControlledStore();
    const warm = persistence(store);
    await warm.updateUserData(1, { n: 1, stale: true });
    const live = (await warm.getUserData()).get(1)!;
    await persistence(store).updateUserData(1, { n: 2 });
    await warm.refreshUserData(1, live);
    expect(live).toEqual({ n: 2 });
    expect(store.requests.at(-1)).toBe('GET bot/state if-none-match');
  });

  it('costs one conditional GET and leaves an up-to-date object alone when the snapshot is unchanged', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.updateChatData(5, { note: 'a' });
    const live = { note: 'a' };
    await p.refreshChatData(5, live);
    expect(live).toEqual({ note: 'a' });
    expect(p.metrics.notModified).toBe(1);
  });

  it('brings every live object of one snapshot up to date, not only the first refreshed', async () => {
    const store = new ControlledStore();
    const warm = persistence(store);
    await warm.updateChatData(5, { note: 'old' });
    await warm.updateBotData({ n: 1 });
    const chat = { note: 'old' };
    const bot = { n: 1 };
    const other = persistence(store);
    await other.updateChatData(5, { note: 'new' });
    await other.updateBotData({ n: 2 });
    await warm.refreshBotData(bot);
    await warm.refreshChatData(5, chat);
    expect([bot, chat]).toEqual([{ n: 2 }, { note: 'new' }]);
  });

  it('shares one conditional GET among concurrent refreshes of one snapshot', async () => {
    const store = new ControlledStore();
    const p = persistence(store);
    await p.getUserData();
    await Promise.all([p.refreshBotData({}), p.refreshChatData(1, {}), p.refreshUserData(1, {})]);
    expect(store.count('GET')).toBe(2);
  });

  it('refreshes bot data in place with the other writer’s properties', async () => {
    const store = new ControlledStore();
    const warm = persistence(store);
    await warm.updateBotData({ a: 1 });
    const live = await warm.getBotData();
    await persistence(store).updateBotData({ a: 1, b: 2 });
    await warm.refreshBotData(live);
    expect(live).toEqual({ a: 1, b: 2 });
  });
});

describe('S3Persistence bot placeholder', () => {
  class Bot {
    constructor(readonly token: string) {}
  }

  it('stores the live bot as a placeholder and restores it as the current bot', async () => {
    const store = new ControlledStore();
    const bot = new Bot('123:secret');
    const p = persistence(store);
    p.setBot(bot);
    await p.updateBotData({ self: bot, nested: [bot] });
    expect(new TextDecoder().decode(store.objects.get('bot/state')!.body)).not.toContain('123:secret');
    const later = new Bot('123:secret');
    const reader = persistence(store);
    reader.setBot(later);
    const botData = await reader.getBotData();
    expect(botData.self).toBe(later);
    expect((botData.nested as unknown[])[0]).toBe(later);
  });

  it('refuses another bot object with a clear error', async () => {
    const p = persistence(new ControlledStore());
    p.setBot(new Bot('1:a'));
    await expect(p.updateUserData(1, { bot: new Bot('2:b') })).rejects.toThrow(/bot object other than the one given to setBot/);
  });
});

describe('S3Persistence processed updates', () => {
  it('remembers a handled update id for another instance, with the update’s other changes', async () => {
    const store = new ControlledStore();
    const p = persistence(store, { onFlush: true });
    await p.updateUserData(1, { n: 1 });
    await p.markUpdateProcessed(500);
    await p.flush();
    expect(store.count('PUT')).toBe(1);
    const other = persistence(store);
    expect(await other.isUpdateProcessed(500)).toBe(true);
    expect(await other.isUpdateProcessed(501)).toBe(false);
  });

  it('forgets ids older than a day and beyond the newest thousand', async () => {
    const store = new ControlledStore();
    const clock = { now: 0 };
    const p = persistence(store, { onFlush: true, environment: { now: () => clock.now } });
    const day = 24 * 60 * 60 * 1000;
    const markAt = async (id: number, at: number) => {
      clock.now = at;
      await p.markUpdateProcessed(id);
    };
    await markAt(1, 0);
    await markAt(2, day);
    expect(await p.isUpdateProcessed(1)).toBe(true);
    await markAt(3, day + 1);
    expect([await p.isUpdateProcessed(1), await p.isUpdateProcessed(2)]).toEqual([false, true]);
    for (let id = 10; id < 1010; id++) await markAt(id, day + id);
    expect([await p.isUpdateProcessed(2), await p.isUpdateProcessed(10), await p.isUpdateProcessed(1009)]).toEqual([false, true, true]);
    await markAt(2000, day + 2000);
    expect(await p.isUpdateProcessed(10)).toBe(false);
  });

  it('keeps processed ids with bot data in the multi-file layout', async () => {
    const store = new ControlledStore();
    await persistence(store, { singleFile: false }).markUpdateProcessed(7);
    expect([...store.objects.keys()]).toEqual(['bot/state_bot_data']);
  });
});

describe('S3Persistence refresh of conversations and callback data', () => {
  it('sees a conversation another instance moved on, in the multi-file layout', async () => {
    const store = new ControlledStore();
    const warm = persistence(store, { singleFile: false });
    await warm.updateConversation('survey', [1, 1], 'NAME');
    await persistence(store, { singleFile: false }).updateConversation('survey', [1, 1], 'AGE');
    expect((await warm.getConversations('survey')).get('[1,1]')).toBe('NAME');
    expect((await warm.refreshConversations('survey')).get('[1,1]')).toBe('AGE');
  });

  it('sees callback data another instance stored', async () => {
    const store = new ControlledStore();
    const warm = persistence(store);
    expect(await warm.getCallbackData()).toBeNull();
    await persistence(store).updateCallbackData([[['kb', 1, { b: 1 }]], {}]);
    expect(await warm.refreshCallbackData()).toEqual([[['kb', 1, { b: 1 }]], {}]);
  });
});
