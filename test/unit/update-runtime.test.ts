import { describe, expect, it, vi } from 'vitest';
import { conversationKey, END, PersistenceRuntime, S3Persistence, runConversation, type ConversationDefinition } from '../../src/index.js';
import { ControlledStore } from '../support/stores.js';

type Data = Record<string, unknown>;

function setup(store = new ControlledStore(), singleFile = true) {
  const persistence = new S3Persistence<Data, Data, Data>({
    filepath: 's3://bucket/bot',
    store,
    onFlush: true,
    singleFile,
    retry: { baseDelayMs: 0, maxDelayMs: 0 },
  });
  return { store, persistence, runtime: new PersistenceRuntime(persistence) };
}

const counted = (scope: { userData: Data }) => {
  scope.userData.count = Number(scope.userData.count ?? 0) + 1;
  return scope.userData.count;
};

describe('PersistenceRuntime', () => {
  it('loads once on the first update, then revalidates with one conditional GET and writes one PUT per update', async () => {
    const { store, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7, chatId: 7 }, counted);
    await runtime.run({ updateId: 2, userId: 7, chatId: 7 }, counted);
    expect(store.requests).toEqual([
      'GET bot',
      'PUT bot if-none-match',
      'GET bot if-none-match',
      'PUT bot if-match',
    ]);
  });

  it('hands the handler live data that survives a new runtime on the same bucket (a cold start)', async () => {
    const { store, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7, chatId: -100 }, (scope) => {
      counted(scope);
      scope.chatData.note = 'milk';
      scope.botData.total = 1;
    });
    const cold = setup(store).runtime;
    const seen = await cold.run({ updateId: 2, userId: 7, chatId: -100 }, (scope) => [counted(scope), scope.chatData.note, scope.botData.total]);
    expect(seen).toEqual({ status: 'handled', result: [2, 'milk', 1] });
  });

  it('sees what another instance wrote since its last update', async () => {
    const store = new ControlledStore();
    const a = setup(store).runtime;
    const b = setup(store).runtime;
    await a.run({ updateId: 1, userId: 7 }, counted);
    await b.run({ updateId: 2, userId: 7 }, counted);
    const outcome = await a.run({ updateId: 3, userId: 7 }, counted);
    expect(outcome).toEqual({ status: 'handled', result: 3 });
  });

  it('acknowledges a redelivered update without running the handler again, on any instance', async () => {
    const store = new ControlledStore();
    const a = setup(store).runtime;
    await a.run({ updateId: 10, userId: 7 }, counted);
    let ran = false;
    const again = await setup(store).runtime.run({ updateId: 10, userId: 7 }, () => (ran = true));
    expect(again).toEqual({ status: 'duplicate' });
    expect(ran).toBe(false);
  });

  it('writes nothing of an update whose handler throws, and reloads the live state', async () => {
    const { store, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    await expect(
      runtime.run({ updateId: 2, userId: 7 }, (scope) => {
        counted(scope);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(store.count('PUT')).toBe(1);
    expect(await runtime.run({ updateId: 3, userId: 7 }, counted)).toEqual({ status: 'handled', result: 2 });
  });

  it('drops the user’s data when the handler asks', async () => {
    const { store, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    await runtime.run({ updateId: 2, userId: 7 }, (scope) => scope.dropUserData());
    expect(await setup(store).persistence.getUserData()).toEqual(new Map());
  });

  it('refuses user data for an update without a user, with a clear error', async () => {
    const { runtime } = setup();
    await expect(runtime.run({ updateId: 1 }, (scope) => scope.userData)).rejects.toThrow(/no user, so it has no user data/);
  });

  it('runs updates one at a time', async () => {
    const { runtime } = setup();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = runtime.run({ updateId: 1, userId: 1 }, async () => {
      order.push('first start');
      await firstHeld;
      order.push('first end');
    });
    const second = runtime.run({ updateId: 2, userId: 2 }, () => {
      order.push('second');
    });
    await Promise.resolve();
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first start', 'first end', 'second']);
  });

  it('persists arbitrary callback data, and another instance resolves the button', async () => {
    const store = new ControlledStore();
    const a = setup(store).runtime;
    const sent = await a.run({ updateId: 1, userId: 7, chatId: 7 }, (scope) =>
      scope.callbackData!.processKeyboard([[{ text: 'A', callbackData: { pick: 'A', at: new Date(0) } }]]),
    );
    const data = (sent as { result: Array<Array<{ callback_data: string }>> }).result[0]![0]!.callback_data;
    const b = setup(store).runtime;
    await b.run({ updateId: 2, userId: 8, chatId: 8 }, () => undefined); // warm, before the press
    const pressed = await b.run({ updateId: 3, userId: 7, chatId: 7, callbackQuery: true }, (scope) =>
      scope.callbackData!.resolve('query-1', data),
    );
    expect(pressed).toEqual({ status: 'handled', result: { ok: true, value: { pick: 'A', at: new Date(0) } } });
  });

  it('moves a persistent conversation on across instances, in the multi-file layout too', async () => {
    for (const singleFile of [true, false]) {
      const store = new ControlledStore();
      const survey: ConversationDefinition<string> = {
        name: 'survey',
        entryPoints: [{ match: (text) => text === '/survey', handle: () => 'NAME' }],
        states: { NAME: [{ match: () => true, handle: () => 'AGE' }], AGE: [{ match: () => true, handle: () => END }] },
      };
      const runtimes = [setup(store, singleFile).runtime, setup(store, singleFile).runtime];
      for (const runtime of runtimes) runtime.registerConversation('survey');
      const states: unknown[] = [];
      const step = async (runtime: PersistenceRuntime<Data, Data, Data>, updateId: number, text: string) =>
        runtime.run({ updateId, userId: 7, chatId: 7 }, async (scope) => {
          const access = scope.conversation('survey');
          await runConversation(survey, text, access);
          states.push(access.state);
        });
      await step(runtimes[0]!, 1, '/survey');
      await step(runtimes[1]!, 2, 'Ada');
      await step(runtimes[0]!, 3, '36');
      expect(states).toEqual(['NAME', 'AGE', undefined]);
      expect(await setup(store, singleFile).persistence.getConversations('survey')).toEqual(new Map());
    }
  });

  it('writes a conversation under the key it was given when its state was set, even if that array changes later', async () => {
    const { persistence, runtime } = setup();
    runtime.registerConversation('game');
    const writes = vi.spyOn(persistence, 'updateConversation');
    await runtime.run({ updateId: 1, userId: 7, chatId: 7 }, async (scope) => {
      const key: Array<number | string> = ['room', 7];
      (await scope.loadConversation('game', key)).set('PLAYING');
      key[1] = 8;
    });
    expect(writes.mock.calls.map(([name, key, state]) => [name, key, state])).toEqual([['game', ['room', 7], 'PLAYING']]);
    expect(await persistence.getConversations('game')).toEqual(new Map([[conversationKey(['room', 7]), 'PLAYING']]));
  });

  it('refuses two conversations with one name', () => {
    const { runtime } = setup();
    runtime.registerConversation('survey');
    expect(() => runtime.registerConversation('survey')).toThrow(/two persistent conversations are named "survey"/);
  });
});
