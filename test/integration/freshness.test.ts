// A warm instance between invocations: refresh* revalidates what it holds, and a write finds its way
// when the object changed or vanished behind its back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBucket, type TestBucket } from '../support/persistence.js';

type Counter = { count: number; by?: string };

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('freshness');
});
afterAll(() => bucket.destroy());

describe('refresh*', () => {
  it('updates the passed user data in place after another instance wrote it', async () => {
    const warm = bucket.open<Counter>('refresh-user/bot');
    await warm.updateUserData(1, { count: 1, by: 'warm' });
    const live = (await warm.getUserData()).get(1)!;

    await bucket.open<Counter>('refresh-user/bot').updateUserData(1, { count: 2, by: 'other' });
    const before = { ...warm.metrics };
    await warm.refreshUserData(1, live);

    expect(live).toEqual({ count: 2, by: 'other' });
    expect(warm.metrics.gets - before.gets).toBe(1);
    expect(warm.metrics.notModified - before.notModified).toBe(0);
  });

  it('costs one 304 and leaves the object alone when nothing changed', async () => {
    const warm = bucket.open<Counter>('refresh-unchanged/bot');
    await warm.updateUserData(1, { count: 1 });
    const live = (await warm.getUserData()).get(1)!;

    const before = { ...warm.metrics };
    await warm.refreshUserData(1, live);

    expect(warm.metrics.gets - before.gets).toBe(1);
    expect(warm.metrics.notModified - before.notModified).toBe(1);
    expect(bucket.requestsOf(warm).at(-1)).toMatchObject({ command: 'GetObjectCommand', status: 304 });
    expect(live).toEqual({ count: 1 });
  });

  /** A warm instance holding user 1, a supergroup's chat data and bot data; another instance changes all three. */
  async function changedBehindWarmInstance(path: string, singleFile: boolean) {
    const warm = bucket.open(path, { singleFile, contextTypes: { userData: () => ({ fresh: true }) } });
    await warm.updateUserData(1, { count: 1 });
    await warm.updateChatData(-1001234567890, { note: 'old' });
    await warm.updateBotData({ total: 1 });
    const live = {
      user: (await warm.getUserData()).get(1)!,
      chat: (await warm.getChatData()).get(-1001234567890)!,
      botData: await warm.getBotData(),
    };
    const other = bucket.open(path, { singleFile });
    await other.updateChatData(-1001234567890, { note: 'new' });
    await other.updateBotData({ total: 2, extra: ['x'] });
    await other.dropUserData(1);
    return { warm, live };
  }

  it.each([
    ['multi-file', 'refresh-all-multi/bot', false],
    ['single-file', 'refresh-all-single/bot', true],
  ] as const)('%s: updates chat, bot and user data in place; a user another instance dropped becomes fresh data', async (_layout, path, singleFile) => {
    const { warm, live } = await changedBehindWarmInstance(path, singleFile);

    await warm.refreshBotData(live.botData);
    await warm.refreshChatData(-1001234567890, live.chat);
    await warm.refreshUserData(1, live.user);

    expect(live.botData).toEqual({ total: 2, extra: ['x'] });
    expect(live.chat).toEqual({ note: 'new' });
    expect(live.user).toEqual({ fresh: true });
  });

  it('keeps a bot_data property that a rebase merged in when the warm instance refreshes and updates again', async () => {
    const path = 'refresh-after-rebase/bot';
    const warm = bucket.open(path);
    const live = await warm.getBotData(); // cold start: nothing stored yet

    await bucket.open(path).updateBotData({ theirs: 1 }); // lands between the read and the write
    live.mine = 1;
    await warm.updateBotData(live); // 412, re-read, rebased: { theirs: 1, mine: 1 }
    expect(warm.metrics.preconditionsLost).toBe(1);

    // The next invocation on the warm instance, as PTB's Application drives it.
    await warm.refreshBotData(live);
    live.mine = 2;
    await warm.updateBotData(live);

    expect(await bucket.open(path).getBotData()).toEqual({ mine: 2, theirs: 1 });
  });

  it('keeps a merged counter when the warm instance refreshes and increments again', async () => {
    const path = 'refresh-after-merge/bot';
    const merge = ({ base, ours, theirs }: { base: unknown; ours: unknown; theirs: unknown }) => ({
      count: (theirs as Counter).count + (ours as Counter).count - ((base as Counter | undefined)?.count ?? 0),
    });
    const warm = bucket.open<Counter>(path, { merge });
    await warm.getUserData();

    await bucket.open<Counter>(path).updateUserData(1, { count: 2 });
    const live: Counter = { count: 1 };
    await warm.updateUserData(1, live); // conflict: merged to 2 + 1 = 3
    expect(warm.metrics.conflicts).toBe(1);

    await warm.refreshUserData(1, live);
    live.count += 1;
    await warm.updateUserData(1, live);

    expect((await bucket.open<Counter>(path).getUserData()).get(1)).toEqual({ count: 4 });
  });
});

describe('an object deleted behind a warm instance', () => {
  it('is re-created by the next write with that write, without an error', async () => {
    const path = 'deleted/bot';
    const warm = bucket.open(path);
    await warm.updateUserData(1, { a: 1 });
    const { etag } = await bucket.object(path);

    await bucket.remove(path);
    await warm.updateUserData(2, { b: 2 });

    // The If-Match PUT finds no object (404), the re-read finds none either, the create-only PUT wins.
    expect(
      bucket
        .requestsOf(warm)
        .slice(-3)
        .map(({ command, ifMatch, ifNoneMatch, status }) => ({ command, ifMatch, ifNoneMatch, status })),
    ).toEqual([
      { command: 'PutObjectCommand', ifMatch: etag, ifNoneMatch: undefined, status: 404 },
      { command: 'GetObjectCommand', ifMatch: undefined, ifNoneMatch: undefined, status: 404 },
      { command: 'PutObjectCommand', ifMatch: undefined, ifNoneMatch: '*', status: 200 },
    ]);
    expect(warm.metrics.preconditionsLost).toBe(1);
    // The deletion counts as another writer's change: the fresh (empty) state plus this write's change.
    expect(await bucket.open(path).getUserData()).toEqual(new Map([[2, { b: 2 }]]));
  });

  it('is re-created in the multi-file layout too, leaving the other objects alone', async () => {
    const path = 'deleted-multi/bot';
    const warm = bucket.open(path, { singleFile: false });
    await warm.updateUserData(1, { a: 1 });
    await warm.updateBotData({ total: 1 });

    await bucket.remove(`${path}_user_data`);
    await warm.updateUserData(1, { a: 2 });

    expect(await bucket.keys('deleted-multi/')).toEqual([`${path}_bot_data`, `${path}_user_data`]);
    const reader = bucket.open(path, { singleFile: false });
    expect(await reader.getUserData()).toEqual(new Map([[1, { a: 2 }]]));
    expect(await reader.getBotData()).toEqual({ total: 1 });
  });
});
