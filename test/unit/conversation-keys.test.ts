// A conversation keyed by something else than [chatId, userId] (issue 14's question): in every
// layout the runtime reads only the update's own key before the handler, so a key of one's own is
// read explicitly (scope.loadConversation) and an unread one is refused instead of reading empty or
// stale state. A bot therefore behaves the same in every layout, also after a migration.
import { describe, expect, it } from 'vitest';
import { InvalidUseError, PersistenceRuntime, S3Persistence, type LayoutName } from '../../src/index.js';
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

describe.each(['single-file', 'multi-file', 'sharded'] as const)('%s: a conversation key of its own, read without loadConversation', (layout) => {
  it('is refused with a typed error that says to load it, instead of reading empty or stale state', async () => {
    const store = new ControlledStore();
    await runtime(store, layout).run({ updateId: 1, userId: 1, chatId: 1 }, async (scope) => {
      (await scope.loadConversation('game', ROOM)).set('started');
    });
    const outcome = runtime(store, layout).run({ updateId: 2, userId: 2, chatId: 2 }, (scope) => scope.conversation('game', ROOM).state);
    await expect(outcome).rejects.toThrow(InvalidUseError);
    await expect(outcome).rejects.toThrow(/loadConversation/);
  });

  it('is refused even when set before it is read, so that no write is based on state never seen', async () => {
    const store = new ControlledStore();
    const outcome = runtime(store, layout).run({ updateId: 1, userId: 1, chatId: 1 }, (scope) => scope.conversation('game', ROOM).set('started'));
    await expect(outcome).rejects.toThrow(InvalidUseError);
    const seen = await runtime(store, layout).run({ updateId: 2, userId: 2, chatId: 2 }, async (scope) => (await scope.loadConversation('game', ROOM)).state);
    expect(seen).toEqual({ status: 'handled', result: undefined });
  });

  it("reads the update's own [chatId, userId] key without loading", async () => {
    const store = new ControlledStore();
    await runtime(store, layout).run({ updateId: 1, userId: 1, chatId: 1 }, (scope) => scope.conversation('game').set('asked'));
    const seen = await runtime(store, layout).run({ updateId: 2, userId: 1, chatId: 1 }, (scope) => scope.conversation('game', [1, 1]).state);
    expect(seen).toEqual({ status: 'handled', result: 'asked' });
  });
});
