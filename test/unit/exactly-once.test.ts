// The two defects of issue 11, as specifications: a write's base is what the caller saw, and one
// update's changes are stored once however its deliveries overlap. Each of these failed on the
// code before the fix (the deterministic simulation found them first: seeds 3, 7 and 17).
import { describe, expect, it } from 'vitest';
import { PersistenceRuntime, S3Persistence, type EntryConflict, type LayoutName, type S3PersistenceOptions } from '../../src/index.js';
import { ControlledStore } from '../support/stores.js';

type Counter = { count?: number };
const LAYOUTS: LayoutName[] = ['single-file', 'multi-file', 'sharded'];

/** Counters add up: theirs plus what ours added to the base. */
function summing(conflict: EntryConflict): unknown {
  const count = (value: unknown) => (value as Counter | undefined)?.count ?? 0;
  if (conflict.section !== 'user_data' && conflict.section !== 'chat_data' && conflict.entry !== 'bot_data.count') return conflict.ours;
  if (conflict.entry === 'bot_data.count') return ((conflict.theirs as number | undefined) ?? 0) + ((conflict.ours as number) ?? 0) - ((conflict.base as number | undefined) ?? 0);
  return { count: count(conflict.theirs) + count(conflict.ours) - count(conflict.base) };
}

function instance(store: ControlledStore, layout: LayoutName, options: Partial<S3PersistenceOptions<Counter, Counter, Counter>> = {}) {
  return new S3Persistence<Counter, Counter, Counter>({
    filepath: 's3://bucket/bot',
    store,
    layout,
    merge: summing,
    retry: { baseDelayMs: 0, maxDelayMs: 0 },
    ...options,
  });
}

describe.each(LAYOUTS)('%s: the base of a write is what the caller saw', (layout) => {
  it('an entry missing from what the caller read, created meanwhile by another instance, is a conflict', async () => {
    const store = new ControlledStore();
    const conflicts: EntryConflict[] = [];
    const a = instance(store, layout, { onConflict: (conflict) => conflicts.push(conflict) });
    const b = instance(store, layout);
    expect((await a.getUserData()).has(1)).toBe(false);
    await b.updateUserData(1, { count: 5 });
    await a.updateUserData(1, { count: 1 });

    expect((await instance(store, layout).getUserData()).get(1)).toEqual({ count: 6 });
    expect(a.metrics.conflicts).toBe(1);
    expect(conflicts).toMatchObject([{ entry: 'user_data[1]', base: undefined, ours: { count: 1 }, theirs: { count: 5 } }]);
  });

  it('another instance writing the very value this one writes is still a conflict, and written', async () => {
    const store = new ControlledStore();
    const a = instance(store, layout);
    const b = instance(store, layout);
    await a.getUserData();
    await b.updateUserData(1, { count: 1 });
    await a.updateUserData(1, { count: 1 });
    expect(a.metrics.conflicts).toBe(1);
    expect((await instance(store, layout).getUserData()).get(1)).toEqual({ count: 2 });
  });

  it('with onFlush, every increment of instances that all read before any flushed adds up', async () => {
    const store = new ControlledStore();
    const writers = Array.from({ length: 4 }, () => instance(store, layout, { onFlush: true }));
    const views = await Promise.all(writers.map((writer) => writer.getUserData()));
    for (const [index, writer] of writers.entries()) {
      for (let n = 0; n < 3; n++) {
        const next = { count: (views[index]!.get(7)?.count ?? 0) + 1 };
        views[index]!.set(7, next);
        await writer.updateUserData(7, next);
      }
      await writer.flush();
    }
    expect((await instance(store, layout).getUserData()).get(7)).toEqual({ count: 12 });
  });

  it('a merged value the caller was never handed is merged onto again by its next write, not overwritten', async () => {
    const store = new ControlledStore();
    const a = instance(store, layout);
    const b = instance(store, layout);
    const users = await a.getUserData();
    await b.updateUserData(1, { count: 10 });
    await a.updateUserData(1, { count: 1 }); // merged: 11 stored, the caller still holds 1
    await a.updateUserData(1, { count: (users.get(1)?.count ?? 1) + 1 }); // 2, built on its own 1
    expect((await instance(store, layout).getUserData()).get(1)).toEqual({ count: 12 });
    expect(a.metrics.conflicts).toBe(1);
  });
});

describe.each(LAYOUTS)('%s: one update stored once, however its deliveries overlap', (layout) => {
  const handler = (scope: { userData: Counter; chatData: Counter; botData: Counter }) => {
    scope.userData.count = (scope.userData.count ?? 0) + 1;
    scope.chatData.count = (scope.chatData.count ?? 0) + 1;
    scope.botData.count = (scope.botData.count ?? 0) + 1;
  };

  it('two instances running one update at once store its effect once', async () => {
    const store = new ControlledStore();
    const [a, b] = [new PersistenceRuntime(instance(store, layout)), new PersistenceRuntime(instance(store, layout))];
    const keys = { updateId: 100, userId: 1, chatId: 1 };
    // Both read the state before either writes.
    const gate = store.holdNextPut();
    const first = a.run(keys, handler);
    await gate.reached;
    const second = b.run(keys, handler);
    await new Promise((resolve) => setImmediate(resolve));
    gate.release();
    await Promise.all([first, second]);

    const reader = instance(store, layout);
    expect((await reader.getUserData()).get(1)).toEqual({ count: 1 });
    expect((await reader.getChatData()).get(1)).toEqual({ count: 1 });
    expect(await reader.getBotData()).toEqual({ count: 1 });
  });

  it('a stale duplicate never writes older state over newer', async () => {
    const store = new ControlledStore();
    const [a, b] = [new PersistenceRuntime(instance(store, layout)), new PersistenceRuntime(instance(store, layout))];
    // b is warm and has read the state before update 100 was stored.
    await b.run({ updateId: 99, userId: 1, chatId: 1 }, handler);
    const gate = store.holdNextPut();
    const stale = b.run({ updateId: 100, userId: 1, chatId: 1 }, handler);
    await gate.reached;
    // Meanwhile a handles 100 and then 101.
    const held = gate;
    const ahead = (async () => {
      await a.run({ updateId: 100, userId: 1, chatId: 1 }, handler);
      await a.run({ updateId: 101, userId: 1, chatId: 1 }, handler);
    })();
    await ahead;
    held.release();
    await stale;

    const reader = instance(store, layout);
    expect((await reader.getUserData()).get(1)).toEqual({ count: 3 });
    expect(await reader.getBotData()).toEqual({ count: 3 });
  });
});
