// The objects S3Persistence keeps in the bucket, in both of PTB's layouts, and what a second
// instance (another cold start) reads back from them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey, type CallbackData } from '../../src/index.js';
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { openBucket, type TestBucket } from '../support/persistence.js';

const SECTIONS = ['user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'] as const;
const SUPERGROUP = -1001234567890;

/** PTB's persisted CallbackDataCache: keyboards `[uuid, access time, {button uuid: data}]` and query id to keyboard. */
const callbackData: CallbackData = [
  [
    [
      '4b7f3c1e9d2a4e6f8a0b1c2d3e4f5a6b',
      1718000000.25,
      { '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f': { action: 'vote', option: 2, tags: ['a', 'b'] } },
    ],
  ],
  { '1234567890123456789': '4b7f3c1e9d2a4e6f8a0b1c2d3e4f5a6b' },
];

const buckets: TestBucket[] = [];
async function bucketFor(name: string): Promise<TestBucket> {
  const bucket = await openBucket(name);
  buckets.push(bucket);
  return bucket;
}
afterAll(() => {
  for (const bucket of buckets) bucket.destroy();
});

describe.each([
  { layout: 'single-file', singleFile: true, keysOf: (path: string) => [path] },
  { layout: 'multi-file', singleFile: false, keysOf: (path: string) => SECTIONS.map((section) => `${path}_${section}`).sort() },
])('the $layout layout', ({ layout, singleFile, keysOf }) => {
  const path = 'bots/echo/state';
  let bucket: TestBucket;

  beforeAll(async () => {
    bucket = await bucketFor(`layouts-${layout}`);
    const writer = bucket.open(path, { singleFile });
    await writer.updateUserData(42, { name: 'Ada', visits: 3, seen: new Date('2024-05-01T12:00:00.123Z') });
    await writer.updateUserData(7, { name: 'Grace', tags: ['admin'] });
    await writer.updateChatData(SUPERGROUP, { note: 'release on friday' });
    await writer.updateChatData(99, { note: 'private chat' });
    await writer.updateBotData({ total: 10, greeting: 'hi' });
    await writer.updateCallbackData(callbackData);
    await writer.updateConversation('survey', [1, 2], 'ASK_AGE');
    await writer.updateConversation('survey', ['1', 2], 'ASK_NAME');
    await writer.updateConversation('checkout', [SUPERGROUP, 42], { step: 3 });
  });

  it(`keeps exactly ${singleFile ? 'one object whose key is the path' : "PTB's five objects named after the path"}`, async () => {
    expect(await bucket.keys()).toEqual(keysOf(path));
  });

  it('stores every object as application/cbor', async () => {
    for (const key of keysOf(path)) {
      expect((await bucket.object(key)).contentType, key).toBe('application/cbor');
    }
  });

  it('gives a fresh instance the user data, keyed by numeric user id', async () => {
    const users = await bucket.open(path, { singleFile }).getUserData();
    expect(users).toEqual(
      new Map<number, unknown>([
        [42, { name: 'Ada', visits: 3, seen: new Date('2024-05-01T12:00:00.123Z') }],
        [7, { name: 'Grace', tags: ['admin'] }],
      ]),
    );
  });

  it('gives a fresh instance the chat data, negative supergroup ids included', async () => {
    const chats = await bucket.open(path, { singleFile }).getChatData();
    expect([...chats.keys()].sort((a, b) => a - b)).toEqual([SUPERGROUP, 99]);
    expect(chats.get(SUPERGROUP)).toEqual({ note: 'release on friday' });
    expect(chats.get(99)).toEqual({ note: 'private chat' });
  });

  it('gives a fresh instance the bot data', async () => {
    expect(await bucket.open(path, { singleFile }).getBotData()).toEqual({ total: 10, greeting: 'hi' });
  });

  it("gives a fresh instance PTB's callback data as it was stored", async () => {
    expect(await bucket.open(path, { singleFile }).getCallbackData()).toEqual(callbackData);
  });

  it('gives a fresh instance the conversations, with [1,2] and ["1",2] as different keys', async () => {
    const reader = bucket.open(path, { singleFile });
    const survey = await reader.getConversations('survey');
    expect(survey.size).toBe(2);
    expect(survey.get(conversationKey([1, 2]))).toBe('ASK_AGE');
    expect(survey.get(conversationKey(['1', 2]))).toBe('ASK_NAME');
    expect(await reader.getConversations('checkout')).toEqual(new Map([[conversationKey([SUPERGROUP, 42]), { step: 3 }]]));
    expect(await reader.getConversations('never-started')).toEqual(new Map());
  });
});

describe('storeData: { chatData: false }', () => {
  it('multi-file: writes no _chat_data object, and getChatData is empty', async () => {
    const bucket = await bucketFor('no-chat-multi');
    const writer = bucket.open('bot', { singleFile: false, storeData: { chatData: false } });
    await writer.updateUserData(1, { a: 1 });
    await writer.updateChatData(SUPERGROUP, { note: 'not stored' });
    await writer.updateBotData({ b: 2 });
    await writer.updateCallbackData(callbackData);
    await writer.updateConversation('survey', [1, 1], 'ASK_NAME');

    expect(await bucket.keys()).toEqual(['bot_bot_data', 'bot_callback_data', 'bot_conversations', 'bot_user_data']);
    expect(await writer.getChatData()).toEqual(new Map());
    expect(await bucket.open('bot', { singleFile: false, storeData: { chatData: false } }).getChatData()).toEqual(new Map());
    // Even an instance that would store chat data finds none.
    expect(await bucket.open('bot', { singleFile: false }).getChatData()).toEqual(new Map());
  });

  it('single-file: the snapshot has no chat_data field, and getChatData is empty', async () => {
    const bucket = await bucketFor('no-chat-single');
    const writer = bucket.open('bot', { storeData: { chatData: false } });
    await writer.updateChatData(SUPERGROUP, { note: 'not stored' });
    await writer.updateUserData(1, { a: 1 });

    expect(await bucket.keys()).toEqual(['bot']);
    const fields = decodeSnapshot((await bucket.object('bot')).body);
    expect(fields.has('chat_data')).toBe(false);
    expect(fields.get('user_data')).toEqual(new Map([[1, { a: 1 }]]));
    expect(await writer.getChatData()).toEqual(new Map());
    expect(await bucket.open('bot').getChatData()).toEqual(new Map());
  });
});

describe('writing', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    bucket = await bucketFor('layouts-writing');
  });

  it('with onFlush: true, keeps updates from other instances (no PUT) until flush()', async () => {
    const writer = bucket.open('on-flush/bot', { onFlush: true });
    await writer.updateUserData(1, { count: 1 });
    await writer.updateChatData(SUPERGROUP, { note: 'n' });
    await writer.updateBotData({ total: 1 });
    await writer.updateConversation('survey', [1, 1], 'ASK_AGE');

    expect(writer.metrics.puts).toBe(0);
    expect(bucket.requestsOf(writer).filter((request) => request.command !== 'GetObjectCommand')).toEqual([]);
    expect(await bucket.keys('on-flush/')).toEqual([]);
    expect(await bucket.open('on-flush/bot').getUserData()).toEqual(new Map());

    await writer.flush();

    expect(writer.metrics.puts).toBe(1);
    const reader = bucket.open('on-flush/bot');
    expect(await reader.getUserData()).toEqual(new Map([[1, { count: 1 }]]));
    expect(await reader.getChatData()).toEqual(new Map([[SUPERGROUP, { note: 'n' }]]));
    expect(await reader.getBotData()).toEqual({ total: 1 });
    expect(await reader.getConversations('survey')).toEqual(new Map([[conversationKey([1, 1]), 'ASK_AGE']]));
  });

  it('dropUserData removes the user for a fresh reader, and leaves the others', async () => {
    const writer = bucket.open('drop/bot');
    await writer.updateUserData(1, { a: 1 });
    await writer.updateUserData(2, { b: 2 });
    await writer.dropUserData(1);

    expect(await bucket.open('drop/bot').getUserData()).toEqual(new Map([[2, { b: 2 }]]));
  });

  it('dropChatData removes the chat for a fresh reader', async () => {
    const writer = bucket.open('drop-chat/bot');
    await writer.updateChatData(SUPERGROUP, { a: 1 });
    await writer.updateChatData(5, { b: 2 });
    await writer.dropChatData(SUPERGROUP);

    expect(await bucket.open('drop-chat/bot').getChatData()).toEqual(new Map([[5, { b: 2 }]]));
  });

  it('sends no PUT for an update with data equal to what is stored', async () => {
    const writer = bucket.open('equal/bot');
    await writer.updateUserData(1, { name: 'Ada', tags: ['x'], seen: new Date(0) });
    await writer.updateBotData({ total: 1 });
    expect(writer.metrics.puts).toBe(2);

    await writer.updateUserData(1, { tags: ['x'], seen: new Date(0), name: 'Ada' }); // equal, another object
    await writer.updateBotData({ total: 1 });
    expect(writer.metrics.puts).toBe(2);

    // A cold instance that reads the same data and writes it back unchanged writes nothing either.
    const other = bucket.open('equal/bot');
    const users = await other.getUserData();
    await other.updateUserData(1, users.get(1) ?? {});
    await other.updateBotData(await other.getBotData());
    expect(other.metrics.puts).toBe(0);
    expect(bucket.requestsOf(other).map((request) => request.command)).toEqual(['GetObjectCommand']);
  });
});
