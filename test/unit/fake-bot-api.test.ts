/**
 * The fake Telegram Bot API the end-to-end tests and the demo point grammY at: it answers like Telegram,
 * records the calls, refuses other tokens, and builds the updates Telegram would post to the webhook.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  callbackQueryUpdate,
  messageUpdate,
  startFakeBotApi,
  type FakeBotApi,
  type Message,
} from '../support/fake-bot-api.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const TOKEN = '123456:TEST-token_abc';

/** The JSON body of a Bot API response. */
interface ApiResponse {
  ok: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
}

/** Calls `method` the way grammY does (POST, JSON body) and returns the status and parsed body. */
async function call(
  api: FakeBotApi,
  method: string,
  payload: Record<string, unknown> = {},
  token = TOKEN,
): Promise<{ status: number; body: ApiResponse }> {
  const response = await fetch(`${api.apiRoot}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as ApiResponse };
}

/** The Message a successful sendMessage or edit returned. */
async function sentMessage(api: FakeBotApi, method: string, payload: Record<string, unknown>): Promise<Message> {
  const { status, body } = await call(api, method, payload);
  expect(status).toBe(200);
  expect(body.ok).toBe(true);
  return body.result as Message;
}

let api: FakeBotApi;
beforeEach(async () => {
  api = await startFakeBotApi({ token: TOKEN });
});
afterEach(async () => {
  await api.close();
});

// ---------------------------------------------------------------------------------------------
// The server

describe('startFakeBotApi', () => {
  it('listens on 127.0.0.1 and gives an apiRoot without a trailing slash, as grammY requires', () => {
    expect(api.apiRoot).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers getMe with a bot user whose id is the numeric prefix of the token', async () => {
    const { status, body } = await call(api, 'getMe');

    expect(status).toBe(200);
    expect(body).toEqual({ ok: true, result: api.botInfo });
    expect(body.result).toMatchObject({
      id: 123456,
      is_bot: true,
      first_name: expect.any(String),
      username: expect.any(String),
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    });
  });

  it('answers getMe with the botInfo it was given', async () => {
    const custom = await startFakeBotApi({ token: TOKEN, botInfo: { username: 'survey_bot', first_name: 'Survey' } });
    try {
      const { body } = await call(custom, 'getMe');
      expect(body.result).toMatchObject({ id: 123456, username: 'survey_bot', first_name: 'Survey' });
    } finally {
      await custom.close();
    }
  });

  it('refuses a token without a numeric bot id, naming the token', async () => {
    await expect(startFakeBotApi({ token: 'not-a-token' })).rejects.toThrow(/'not-a-token'.*numeric bot id/);
  });

  it('records a sendMessage call and answers with increasing message ids per chat', async () => {
    const first = await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'one' });
    const second = await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'two' });
    const otherChat = await sentMessage(api, 'sendMessage', { chat_id: 7, text: 'elsewhere' });

    expect(first).toMatchObject({
      message_id: 1,
      chat: { id: 42, type: 'private' },
      from: { id: 123456, is_bot: true },
      text: 'one',
      date: expect.any(Number),
    });
    expect(first).not.toHaveProperty('reply_markup');
    expect(second.message_id).toBe(2);
    expect(otherChat.message_id).toBe(1);
    expect(api.calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: 42, text: 'one' } },
      { method: 'sendMessage', payload: { chat_id: 42, text: 'two' } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'elsewhere' } },
    ]);
  });

  it('echoes an inline keyboard in the sent message', async () => {
    const reply_markup = { inline_keyboard: [[{ text: 'Press', callback_data: 'abc' }]] };

    const message = await sentMessage(api, 'sendMessage', { chat_id: '42', text: 'menu', reply_markup });

    expect(message.chat).toEqual({ id: 42, type: 'private', first_name: 'Tester' });
    expect(message.reply_markup).toEqual(reply_markup);
  });

  it('answers sendMessage without text or chat_id with 400, as Telegram does', async () => {
    expect(await call(api, 'sendMessage', { chat_id: 42 })).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: 'Bad Request: message text is empty' },
    });
    expect((await call(api, 'sendMessage', { text: 'hi' })).body.description).toBe('Bad Request: chat_id is empty');
  });

  it('edits a sent message: new text, same chat and id, and the keyboard removed unless repeated', async () => {
    const keyboard = { inline_keyboard: [[{ text: 'Press', callback_data: 'abc' }]] };
    const sent = await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'menu', reply_markup: keyboard });

    const edited = await sentMessage(api, 'editMessageText', { chat_id: 42, message_id: sent.message_id, text: 'pressed' });

    expect(edited).toMatchObject({ message_id: sent.message_id, chat: sent.chat, text: 'pressed' });
    expect(edited.edit_date).toEqual(expect.any(Number));
    expect(edited).not.toHaveProperty('reply_markup');
  });

  it('replaces only the keyboard on editMessageReplyMarkup', async () => {
    const sent = await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'menu' });
    const keyboard = { inline_keyboard: [[{ text: 'Again', callback_data: 'xyz' }]] };

    const edited = await sentMessage(api, 'editMessageReplyMarkup', {
      chat_id: 42,
      message_id: sent.message_id,
      reply_markup: keyboard,
    });

    expect(edited).toMatchObject({ message_id: sent.message_id, text: 'menu', reply_markup: keyboard });
  });

  it('answers answerCallbackQuery, setWebhook, deleteWebhook and setMyCommands with true', async () => {
    for (const [method, payload] of [
      ['answerCallbackQuery', { callback_query_id: 'query-1' }],
      ['setWebhook', { url: 'https://example.test/hook', secret_token: 's' }],
      ['deleteWebhook', {}],
      ['setMyCommands', { commands: [{ command: 'start', description: 'Start' }] }],
    ] as const) {
      expect(await call(api, method, payload)).toEqual({ status: 200, body: { ok: true, result: true } });
    }
    expect(api.calls.map((recorded) => recorded.method)).toEqual([
      'answerCallbackQuery',
      'setWebhook',
      'deleteWebhook',
      'setMyCommands',
    ]);
  });

  it('answers a request for another token with 401 Unauthorized and does not record it', async () => {
    const answer = await call(api, 'getMe', {}, '654321:OTHER');

    expect(answer).toEqual({ status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
    expect(api.calls).toEqual([]);
  });

  it('answers an unknown method with 404 method not found', async () => {
    const answer = await call(api, 'sendTelepathy', { chat_id: 42 });

    expect(answer).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
  });

  it('answers a multipart/form-data upload with 400 saying to send JSON', async () => {
    const form = new FormData();
    form.set('chat_id', '42');
    form.set('photo', new Blob([new Uint8Array([1, 2, 3])]), 'photo.jpg');

    const response = await fetch(`${api.apiRoot}/bot${TOKEN}/sendPhoto`, { method: 'POST', body: form });
    const body = (await response.json()) as ApiResponse;

    expect(response.status).toBe(400);
    expect(body.ok).toBe(false);
    expect(body.description).toMatch(/multipart\/form-data.*JSON/);
  });

  it('lists the calls to one method with callsTo, and forgets calls and message ids on reset', async () => {
    await call(api, 'getMe');
    await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'one' });
    await call(api, 'answerCallbackQuery', { callback_query_id: 'q' });

    expect(api.callsTo('sendMessage')).toEqual([{ method: 'sendMessage', payload: { chat_id: 42, text: 'one' } }]);

    api.reset();

    expect(api.calls).toEqual([]);
    expect((await sentMessage(api, 'sendMessage', { chat_id: 42, text: 'again' })).message_id).toBe(1);
  });

  it('closes even while a keep-alive connection is open', async () => {
    await call(api, 'getMe');

    await api.close();

    await expect(call(api, 'getMe')).rejects.toThrow();
    api = await startFakeBotApi({ token: TOKEN }); // for afterEach
  });
});

// ---------------------------------------------------------------------------------------------
// Update builders

describe('messageUpdate', () => {
  it('marks a leading /command with a bot_command entity as long as the command', () => {
    const update = messageUpdate({ updateId: 7, userId: 42, text: '/note buy milk' });

    expect(update).toMatchObject({
      update_id: 7,
      message: {
        message_id: 7,
        from: { id: 42, is_bot: false, first_name: 'Tester' },
        chat: { id: 42, type: 'private' },
        text: '/note buy milk',
        entities: [{ type: 'bot_command', offset: 0, length: 5 }],
      },
    });
  });

  it('includes the @username of a /command@bot in the entity', () => {
    const update = messageUpdate({ updateId: 1, userId: 42, text: '/start@fake_test_bot hello' });

    expect(update.message?.entities).toEqual([{ type: 'bot_command', offset: 0, length: '/start@fake_test_bot'.length }]);
  });

  it('adds no entities to plain text, and uses the given chat and first name', () => {
    const update = messageUpdate({ updateId: 2, userId: 42, chatId: -100, text: 'Alice', firstName: 'Al' });

    expect(update.message).not.toHaveProperty('entities');
    expect(update.message?.from?.first_name).toBe('Al');
    expect(update.message?.chat).toEqual({ id: -100, type: 'group', title: 'Test group' });
  });
});

describe('callbackQueryUpdate', () => {
  it('presses a button of the bot message in the private chat with the user', () => {
    const update = callbackQueryUpdate({ updateId: 9, userId: 42, data: 'c1a2', messageId: 3 });

    expect(update).toMatchObject({
      update_id: 9,
      callback_query: {
        id: expect.any(String),
        from: { id: 42, is_bot: false },
        chat_instance: expect.any(String),
        data: 'c1a2',
        message: { message_id: 3, chat: { id: 42, type: 'private' }, date: expect.any(Number) },
      },
    });
  });

  it('uses the given query id and chat', () => {
    const update = callbackQueryUpdate({ updateId: 9, userId: 42, chatId: 5, data: 'x', messageId: 3, queryId: 'q-1' });

    expect(update.callback_query).toMatchObject({ id: 'q-1', message: { chat: { id: 5 } } });
  });
});
