import type { StorageAdapter } from 'grammy';
import type { SessionStore } from 'telegraf';
import { describe, expect, it } from 'vitest';
import {
  grammyStorage,
  S3KeyValueStore,
  telegrafSessionStore,
  type S3KeyValueStoreOptions,
  type ValueConflict,
} from '../../src/adapters/index.js';
import { keyOfObject, objectKeyOf } from '../../src/adapters/key-value-store.js';
import { encodeSnapshot } from '../../src/snapshot/codec.js';
import { PreconditionLostError, type WriteCondition } from '../../src/store/object-store.js';
import { grammyCountingBot, telegrafCountingBot, textUpdate, type CountSession } from '../support/adapter-bots.js';
import { ControlledStore } from '../support/stores.js';

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 2 } };

function kv<T = CountSession>(store: ControlledStore, options: Partial<S3KeyValueStoreOptions<T>> = {}): S3KeyValueStore<T> {
  return new S3KeyValueStore<T>({ prefix: 's3://bucket/sessions', store, ...fast, ...options });
}

describe('S3KeyValueStore', () => {
  it('keeps each key in its own object under the prefix, written If-None-Match: * then If-Match', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    expect(await sessions.get('42')).toBeUndefined();
    await sessions.set('42', { count: 1 });
    const session = (await sessions.get('42'))!;
    session.count++;
    await sessions.set('42', session);
    expect(store.requests).toEqual([
      'GET sessions/42',
      'PUT sessions/42 if-none-match',
      'GET sessions/42 if-none-match',
      'PUT sessions/42 if-match',
    ]);
    expect(await kv(store).get('42')).toEqual({ count: 2 });
  });

  it('writes nothing for a value equal to the one it was read as', async () => {
    const store = new ControlledStore();
    await kv(store).set('42', { count: 1 });
    const sessions = kv(store);
    const session = (await sessions.get('42'))!;
    await sessions.set('42', session);
    await sessions.set('42', { count: 1 });
    expect(store.count('PUT')).toBe(1);
  });

  it('answers a repeated read from a 304 without a body', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    await sessions.set('42', { count: 1 });
    expect(await sessions.get('42')).toEqual({ count: 1 });
    expect(sessions.metrics).toMatchObject({ gets: 1, notModified: 1, puts: 1 });
  });

  it('returns a fresh copy on every read', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    await sessions.set('42', { count: 1 });
    const first = (await sessions.get('42'))!;
    first.count = 99;
    expect(await sessions.get('42')).toEqual({ count: 1 });
  });

  it('deletes with a conditional tombstone that reads as absent and is left out of the keys', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    await sessions.set('1', { count: 1 });
    await sessions.set('2', { count: 2 });
    await sessions.get('1');
    await sessions.delete('1');
    expect(store.requests.at(-1)).toBe('PUT sessions/1 if-match');
    expect(await kv(store).get('1')).toBeUndefined();
    expect(await kv(store).has('1')).toBe(false);
    expect(await kv(store).has('2')).toBe(true);
    const keys: string[] = [];
    for await (const key of kv(store).keys()) keys.push(key);
    expect(keys).toEqual(['2']);
  });

  it('deletes nothing that is not there', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    await sessions.get('1');
    await sessions.delete('1');
    expect(store.count('PUT')).toBe(0);
  });

  it('lists every key with its value, whatever characters the key holds', async () => {
    const store = new ControlledStore();
    const sessions = kv<number>(store);
    const keys = ['42', '-100123:7', 'a/b', '..', 'ключ', '50%'];
    for (const [index, key] of keys.entries()) await sessions.set(key, index);
    const entries: Array<[string, number]> = [];
    for await (const entry of kv<number>(store).entries()) entries.push(entry);
    expect(new Map(entries)).toEqual(new Map(keys.map((key, index) => [key, index])));
    expect(objectKeyOf('p', '-100123:7')).toBe('p/-100123:7');
    expect(objectKeyOf('p', 'a/b')).toBe('p/a%2Fb');
    expect(objectKeyOf('p', '..')).toBe('p/%2E%2E');
    expect(keyOfObject('p', 'p/x/y')).toBeUndefined();
  });

  it('refuses a value it cannot store, naming the place, before any request', async () => {
    const store = new ControlledStore();
    await expect(kv<unknown>(store).set('42', { handler: () => 1 })).rejects.toMatchObject({
      code: 'UNSERIALIZABLE',
      path: 'sessions["42"].handler',
    });
    expect(store.requests).toEqual([]);
  });

  it('refuses an empty key', async () => {
    await expect(kv(new ControlledStore()).set('', { count: 1 })).rejects.toThrow(/non-empty string/);
  });

  it('refuses to read, and never overwrites, an object that is not a value of this format', async () => {
    const store = new ControlledStore();
    store.writeDirectly('sessions/42', new Map([['user_data', new Map()]]));
    const sessions = kv(store);
    await expect(sessions.get('42')).rejects.toMatchObject({ code: 'SNAPSHOT_UNREADABLE', key: 'sessions/42' });
    await expect(sessions.set('42', { count: 1 })).rejects.toMatchObject({ code: 'SNAPSHOT_UNREADABLE' });
    expect(store.fields('sessions/42').has('user_data')).toBe(true);
  });

  it('names the prefix in a bad option', () => {
    expect(() => new S3KeyValueStore({ prefix: 's3:///sessions' })).toThrow(/^prefix "s3:\/\/\/sessions" names no bucket/);
    expect(() => new S3KeyValueStore({ prefix: 'sessions' })).toThrow(/has no bucket/);
  });

  describe('two instances writing the same key', () => {
    it('reports the conflict and lets the later write win, never silently', async () => {
      const store = new ControlledStore();
      const conflicts: unknown[] = [];
      const a = kv(store);
      const b = kv(store, { onConflict: (conflict) => conflicts.push(conflict) });
      await a.set('42', { count: 1 });
      const seenByA = (await a.get('42'))!;
      const seenByB = (await b.get('42'))!;
      seenByA.count = 2;
      seenByB.count = 10;
      await a.set('42', seenByA);
      await b.set('42', seenByB);
      expect(conflicts).toEqual([{ key: '42', base: { count: 1 }, ours: { count: 10 }, theirs: { count: 2 }, resolution: { count: 10 } }]);
      expect(b.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 1 });
      expect(await kv(store).get('42')).toEqual({ count: 10 });
    });

    it('lets a merge function decide', async () => {
      const store = new ControlledStore();
      const merge = ({ base, ours, theirs }: ValueConflict<CountSession>) => ({
        count: (theirs?.count ?? 0) + (ours?.count ?? 0) - (base?.count ?? 0),
      });
      const a = kv(store, { merge });
      const b = kv(store, { merge });
      await a.set('42', { count: 1 });
      const seenByA = (await a.get('42'))!;
      const seenByB = (await b.get('42'))!;
      seenByA.count++;
      seenByB.count++;
      await Promise.all([a.set('42', seenByA), b.set('42', seenByB)]);
      expect(await kv(store).get('42')).toEqual({ count: 3 });
    });

    it('merges again, without counting twice, an object written again after a merge', async () => {
      const store = new ControlledStore();
      const merge = ({ base, ours, theirs }: ValueConflict<CountSession>) => ({
        count: (theirs?.count ?? 0) + (ours?.count ?? 0) - (base?.count ?? 0),
      });
      const a = kv(store, { merge });
      const b = kv(store, { merge });
      await b.set('42', { count: 5 });
      const shared = (await a.get('42'))!; // Telegraf shares one object among concurrent updates of a key
      const other = (await b.get('42'))!;
      other.count++;
      await b.set('42', other);
      shared.count++;
      await a.set('42', shared); // lost to b: merged into 7
      shared.count++;
      await a.set('42', shared); // holds 7 but is based on 6: one more, not 7 more
      expect(await kv(store).get('42')).toEqual({ count: 8 });
      expect(a.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 1 });
    });

    it('reports a write over a value this instance never read', async () => {
      const store = new ControlledStore();
      await kv(store).set('42', { count: 5 });
      const conflicts: Array<ValueConflict<CountSession>> = [];
      await kv(store, { onConflict: (conflict) => conflicts.push(conflict) }).set('42', { count: 1 });
      expect(conflicts).toMatchObject([{ base: undefined, ours: { count: 1 }, theirs: { count: 5 } }]);
    });

    it('retries without a conflict when the other writer changed nothing this one relies on', async () => {
      const store = new ControlledStore();
      const a = kv(store);
      const b = kv(store);
      await a.set('1', { count: 1 });
      await b.get('1');
      await a.delete('1'); // gone, then back with the same value: only the ETag moved
      await a.set('1', { count: 1 });
      await b.set('1', { count: 2 });
      expect(b.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 0 });
      expect(await kv(store).get('1')).toEqual({ count: 2 });
    });

    it('gives up after the configured attempts with a WriteConflictError, having written nothing', async () => {
      const store = new ControlledStore();
      const sessions = kv(store, { retry: { maxAttempts: 3, baseDelayMs: 1 } });
      await sessions.get('42');
      let other = 0;
      store.beforePut = (key) => store.writeDirectly(key, new Map([['value', { count: 100 + ++other }]]));
      const failure = sessions.set('42', { count: 1 });
      await expect(failure).rejects.toMatchObject({ code: 'WRITE_CONFLICT', attempts: 3 });
      await expect(failure).rejects.toThrow(/nothing was written \(s3:\/\/bucket\/sessions\/42\)/);
      store.beforePut = undefined;
      expect(await kv(store).get('42')).toEqual({ count: 103 });
    });
  });

  it('tells apart two updates of one process that each read the key', async () => {
    const store = new ControlledStore();
    const conflicts: unknown[] = [];
    const sessions = kv(store, { onConflict: (conflict) => conflicts.push(conflict) });
    await sessions.set('42', { count: 1 });
    const first = (await sessions.get('42'))!;
    const second = (await sessions.get('42'))!;
    first.count = 2;
    second.count = 3;
    await sessions.set('42', first);
    await sessions.set('42', second);
    expect(conflicts).toMatchObject([{ base: { count: 1 }, ours: { count: 3 }, theirs: { count: 2 } }]);
  });

  it('writes one shared object again without a conflict with its own earlier write', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    const shared = { count: 1 };
    const gate = store.holdNextPut();
    const first = sessions.set('42', shared);
    await gate.reached;
    shared.count = 2;
    const second = sessions.set('42', shared);
    gate.release();
    await Promise.all([first, second]);
    expect(sessions.metrics).toMatchObject({ puts: 2, preconditionsLost: 0, conflicts: 0 });
    expect(await kv(store).get('42')).toEqual({ count: 2 });
  });

  it('recognises its own write whose answer was lost', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    await sessions.get('42');
    const put = store.put.bind(store);
    let lost = false;
    store.put = async (key: string, body: Uint8Array, condition: WriteCondition) => {
      const result = await put(key, body, condition);
      if (lost) return result;
      lost = true; // the PUT landed; the SDK's retry of it then lost its condition
      throw new PreconditionLostError(key, 412);
    };
    await sessions.set('42', { count: 1 });
    expect(sessions.metrics).toMatchObject({ puts: 1, preconditionsLost: 1, conflicts: 0 });
    expect(await kv(store).get('42')).toEqual({ count: 1 });
  });

  it('keeps to cacheSize keys, and a forgotten key still writes conditionally', async () => {
    const store = new ControlledStore();
    const sessions = kv<number>(store, { cacheSize: 1 });
    await sessions.set('1', 1);
    await sessions.set('2', 2);
    await sessions.set('1', 10); // '1' was forgotten: If-None-Match, lost, re-read, retried
    expect(sessions.metrics).toMatchObject({ preconditionsLost: 1, conflicts: 1 });
    expect(await kv<number>(store).get('1')).toBe(10);
  });

  it('reads a snapshot-format value object written by hand', async () => {
    const store = new ControlledStore();
    store.objects.set('sessions/7', { body: encodeSnapshot(new Map([['value', { count: 7 }]])), etag: '"x"' });
    expect(await kv(store).get('7')).toEqual({ count: 7 });
  });
});

describe('grammyStorage', () => {
  it('is a grammY StorageAdapter and a Telegraf SessionStore, with no framework imported', () => {
    const store = new ControlledStore();
    const grammy: StorageAdapter<CountSession> = grammyStorage(kv(store));
    const telegraf: SessionStore<CountSession> = telegrafSessionStore(kv(store));
    expect(Object.keys(grammy).sort()).toEqual(['delete', 'has', 'read', 'readAllEntries', 'readAllKeys', 'readAllValues', 'write']);
    expect(Object.keys(telegraf).sort()).toEqual(['delete', 'get', 'set']);
  });

  it("keeps grammY's session across bot instances (cold starts), one GET and one PUT per changing update", async () => {
    const store = new ControlledStore();
    const first = grammyCountingBot(grammyStorage(kv(store)));
    await first.handle(textUpdate(1, 42, '/count'));
    await first.handle(textUpdate(2, 42, '/count'));
    const cold = grammyCountingBot(grammyStorage({ prefix: 's3://bucket/sessions', store }));
    await cold.handle(textUpdate(3, 42, '/count'));
    await cold.handle(textUpdate(4, 7, '/count'));
    expect([...first.replies, ...cold.replies]).toEqual(['1', '2', '3', '1']);
    expect(store.requests.slice(0, 4)).toEqual([
      'GET sessions/42',
      'PUT sessions/42 if-none-match',
      'GET sessions/42 if-none-match',
      'PUT sessions/42 if-match',
    ]);
  });

  it('writes nothing for an update that only reads the session', async () => {
    const store = new ControlledStore();
    const { handle, replies } = grammyCountingBot(grammyStorage(kv(store)));
    await handle(textUpdate(1, 42, '/count'));
    await handle(textUpdate(2, 42, 'hello'));
    expect(replies).toEqual(['1', 'count is 1']);
    expect(store.count('PUT')).toBe(1);
  });

  it('deletes a session set to null, and starts again from the initial value', async () => {
    const store = new ControlledStore();
    const { handle, replies } = grammyCountingBot(grammyStorage(kv(store)));
    await handle(textUpdate(1, 42, '/count'));
    await handle(textUpdate(2, 42, '/reset'));
    await handle(textUpdate(3, 42, '/count'));
    expect(replies).toEqual(['1', 'reset', '1']);
    const keys: string[] = [];
    for await (const key of grammyStorage(kv(store)).readAllKeys()) keys.push(key);
    expect(keys).toEqual(['42']);
  });

  it('merges two instances handling the same chat at once when given a merge function', async () => {
    const store = new ControlledStore();
    const merge = ({ base, ours, theirs }: ValueConflict<CountSession>) => ({
      count: (theirs?.count ?? 0) + (ours?.count ?? 0) - (base?.count ?? 0),
    });
    const a = grammyCountingBot(grammyStorage(kv(store, { merge })));
    const b = grammyCountingBot(grammyStorage(kv(store, { merge })));
    await Promise.all([a.handle(textUpdate(1, 42, '/count')), b.handle(textUpdate(2, 42, '/count'))]);
    const after = grammyCountingBot(grammyStorage(kv(store)));
    await after.handle(textUpdate(3, 42, 'hello'));
    expect(after.replies).toEqual(['count is 2']);
  });
});

describe('telegrafSessionStore', () => {
  it("keeps Telegraf's session across bot instances (cold starts)", async () => {
    const store = new ControlledStore();
    const first = telegrafCountingBot(telegrafSessionStore(kv(store)));
    await first.handle(textUpdate(1, 42, '/count'));
    await first.handle(textUpdate(2, 42, '/count'));
    const cold = telegrafCountingBot(telegrafSessionStore({ prefix: 's3://bucket/sessions', store }));
    await cold.handle(textUpdate(3, 42, '/count'));
    await cold.handle(textUpdate(4, 42, 'hello'));
    expect([...first.replies, ...cold.replies]).toEqual(['1', '2', '3', 'count is 3']);
    // Telegraf's default key is `${from.id}:${chat.id}`; the read-only update wrote nothing.
    expect(store.requests.filter((request) => request.startsWith('PUT'))).toEqual([
      'PUT sessions/42:42 if-none-match',
      'PUT sessions/42:42 if-match',
      'PUT sessions/42:42 if-match',
    ]);
  });

  it('deletes a session set to undefined', async () => {
    const store = new ControlledStore();
    const { handle, replies } = telegrafCountingBot(telegrafSessionStore(kv(store)));
    await handle(textUpdate(1, 42, '/count'));
    await handle(textUpdate(2, 42, '/reset'));
    expect(await kv(store).get('42:42')).toBeUndefined();
    await handle(textUpdate(3, 42, '/count'));
    expect(replies).toEqual(['1', 'reset', '1']);
  });

  it('stores both of two concurrent updates of one chat in one process, without a conflict', async () => {
    const store = new ControlledStore();
    const sessions = kv(store);
    const { handle, replies } = telegrafCountingBot(telegrafSessionStore(sessions));
    await Promise.all([handle(textUpdate(1, 42, '/count')), handle(textUpdate(2, 42, '/count'))]);
    expect(replies.sort()).toEqual(['1', '2']);
    expect(await kv(store).get('42:42')).toEqual({ count: 2 });
    expect(sessions.metrics.conflicts).toBe(0);
  });
});
