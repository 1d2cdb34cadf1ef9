// The fake Bot API's helpers for the end-to-end tests: long polling, failing a call on request,
// waiting for calls, and the messages as they stand.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageUpdate, startFakeBotApi, type FakeBotApi, type Update } from '../support/fake-bot-api.js';

const TOKEN = '123456:TEST-token_abc';

async function call(api: FakeBotApi, method: string, payload: Record<string, unknown> = {}, signal?: AbortSignal) {
  const response = await fetch(`${api.apiRoot}/bot${TOKEN}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    signal,
  });
  return { status: response.status, body: (await response.json()) as { ok: boolean; result?: unknown; description?: string } };
}

let api: FakeBotApi;
beforeEach(async () => {
  api = await startFakeBotApi({ token: TOKEN });
});
afterEach(async () => {
  await api.close();
});

describe('getUpdates', () => {
  it('returns the queued updates from the offset on, and forgets those below it', async () => {
    for (const updateId of [1, 2, 3]) api.pushUpdate(messageUpdate({ updateId, userId: 42, text: `#${updateId}` }));

    const all = await call(api, 'getUpdates', {});
    const fromTwo = await call(api, 'getUpdates', { offset: 2, limit: 1 });
    const afterConfirm = await call(api, 'getUpdates', { offset: 0 });

    expect((all.body.result as Update[]).map((update) => update.update_id)).toEqual([1, 2, 3]);
    expect((fromTwo.body.result as Update[]).map((update) => update.update_id)).toEqual([2]);
    expect((afterConfirm.body.result as Update[]).map((update) => update.update_id)).toEqual([2, 3]);
  });

  it('holds a long poll until an update is pushed', async () => {
    const poll = call(api, 'getUpdates', { offset: 1, timeout: 30 });
    await api.waitForCalls('getUpdates', 1);

    api.pushUpdate(messageUpdate({ updateId: 1, userId: 42, text: '/start' }));

    expect(((await poll).body.result as Update[]).map((update) => update.update_id)).toEqual([1]);
  });

  it('ends a long poll whose client went away, and keeps the update for the next one', async () => {
    const abort = new AbortController();
    const poll = call(api, 'getUpdates', { timeout: 30 }, abort.signal);
    await api.waitForCalls('getUpdates', 1);

    abort.abort();
    await expect(poll).rejects.toThrow();
    api.pushUpdate(messageUpdate({ updateId: 7, userId: 42, text: 'hi' }));

    expect(((await call(api, 'getUpdates', {})).body.result as Update[]).map((update) => update.update_id)).toEqual([7]);
  });
});

describe('failNext', () => {
  it('fails the next calls to a method with the given statuses, records them, then answers normally', async () => {
    api.failNext('sendMessage', 500);
    api.failNext('sendMessage', 429);

    const first = await call(api, 'sendMessage', { chat_id: 42, text: 'one' });
    const second = await call(api, 'sendMessage', { chat_id: 42, text: 'two' });
    const third = await call(api, 'sendMessage', { chat_id: 42, text: 'three' });
    const other = await call(api, 'getMe');

    expect([first.status, second.status, third.status, other.status]).toEqual([500, 429, 200, 200]);
    expect(first.body).toEqual({ ok: false, error_code: 500, description: 'Internal Server Error' });
    expect(api.callsTo('sendMessage')).toHaveLength(3);
    expect(api.messagesIn(42).map((message) => message.text)).toEqual(['three']);
  });
});

describe('waitForCalls and messagesIn', () => {
  it('resolves once the calls arrived, and shows messages with their edits applied', async () => {
    const waiting = api.waitForCalls('sendMessage', 2);
    await call(api, 'sendMessage', { chat_id: 42, text: 'one' });
    await call(api, 'sendMessage', { chat_id: 42, text: 'two' });
    await call(api, 'editMessageText', { chat_id: 42, message_id: 1, text: 'one, edited' });

    expect((await waiting).map((recorded) => recorded.payload.text)).toEqual(['one', 'two']);
    expect(api.messagesIn(42).map((message) => message.text)).toEqual(['one, edited', 'two']);
    expect(api.messagesIn(7)).toEqual([]);
  });
});
