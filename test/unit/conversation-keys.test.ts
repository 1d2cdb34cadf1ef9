// A conversation keyed by something else than [chatId, userId] (issue 14's question): in the
// single-file layout the runtime reads every key of a conversation before the handler; in the
// sharded layout it reads only the update's own key, so a key of one's own is read explicitly
// (scope.loadConversation) and an unread one is refused instead of reading empty.
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, PersistenceRuntime, S3Persistence, type LayoutName } from '../../src/index.js';
import { ControlledStore } from '../support/stores.js';

const ROOM: readonly (string | number)[] = ['room', 7];

function runtime(store: ControlledStore, layout: LayoutName) {
  const persistence = new S3Persistence({ filepath: 's3://bucket/bot', store, layout, retry: { baseDelayMs: 0, maxDelayMs: 0 } });
  const driver = new PersistenceRuntime(persistence, { logger: false });
  driver.registerConversation('game');
  return driver;
}

describe.each(['single-file', 'multi-file', 'sharded'] as const)('%s: a conversation with a key of its own', (layout) => {
  it('reads the state another instance stored, through loadConversation', async () => {
    const store = new ControlledStore();
    await runtime(store, layout).run({ updateId: 1, userId: 1, chatId: 1 }, async (scope) => {
      (await scope.loadConversation('game', ROOM)).set('started');
    });
    const seen = await runtime(store, layout).run({ updateId: 2, userId: 2, chatId: 2 }, async (scope) => (await scope.loadConversation('game', ROOM)).state);
    expect(seen).toEqual({ status: 'handled', result: 'started' });
  });
});

describe('a conversation key of its own, read without loadConversation', () => {
  it('reads the stored state in the single-file layout, where every key is read before the handler', async () => {
    const store = new ControlledStore();
    await runtime(store, 'single-file').run({ updateId: 1, userId: 1, chatId: 1 }, (scope) => scope.conversation('game', ROOM).set('started'));
    const seen = await runtime(store, 'single-file').run({ updateId: 2, userId: 2, chatId: 2 }, (scope) => scope.conversation('game', ROOM).state);
    expect(seen).toEqual({ status: 'handled', result: 'started' });
  });

  it('is refused in the sharded layout with a typed error that says to load it, instead of reading empty', async () => {
    const store = new ControlledStore();
    await runtime(store, 'sharded').run({ updateId: 1, userId: 1, chatId: 1 }, async (scope) => {
      (await scope.loadConversation('game', ROOM)).set('started');
    });
    const outcome = runtime(store, 'sharded').run({ updateId: 2, userId: 2, chatId: 2 }, (scope) => scope.conversation('game', ROOM).state);
    await expect(outcome).rejects.toThrow(InvalidOptionsError);
    await expect(outcome).rejects.toThrow(/loadConversation/);
  });

  it("reads the update's own [chatId, userId] key in every layout without loading", async () => {
    const store = new ControlledStore();
    await runtime(store, 'sharded').run({ updateId: 1, userId: 1, chatId: 1 }, (scope) => scope.conversation('game').set('asked'));
    const seen = await runtime(store, 'sharded').run({ updateId: 2, userId: 1, chatId: 1 }, (scope) => scope.conversation('game', [1, 1]).state);
    expect(seen).toEqual({ status: 'handled', result: 'asked' });
  });
});
