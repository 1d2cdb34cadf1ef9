// A fake Telegram Bot API on 127.0.0.1 for the end-to-end tests and the local demo: it answers the
// few methods the sample bot calls the way Telegram does, records every call, and builds the updates
// the tests send to the bot. grammY talks to it through `client: { apiRoot }`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Telegram types, only the fields this fake reads or writes (grammY is not a dependency here)

/** A Telegram user or bot. */
export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

/** What `getMe` returns: the bot itself, with the capabilities Telegram reports for it. */
export interface BotUser extends User {
  is_bot: true;
  username: string;
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
  can_connect_to_business: boolean;
  has_main_web_app: boolean;
}

export interface Chat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  first_name?: string;
  title?: string;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

export interface Message {
  message_id: number;
  date: number;
  chat: Chat;
  from?: User;
  text?: string;
  entities?: MessageEntity[];
  edit_date?: number;
  reply_markup?: InlineKeyboardMarkup;
}

export interface CallbackQuery {
  id: string;
  from: User;
  chat_instance: string;
  data?: string;
  message?: Message;
}

/** An incoming update, as Telegram posts it to the bot's webhook. */
export interface Update {
  update_id: number;
  message?: Message;
  callback_query?: CallbackQuery;
}

// ---------------------------------------------------------------------------------------------
// The server

/** One request the bot made with the right token, in the order it arrived. */
export interface RecordedCall {
  method: string;
  payload: Record<string, unknown>;
}

export interface FakeBotApiOptions {
  /** The token the bot uses; requests for any other token get 401 like Telegram. */
  token: string;
  /** Overrides for what `getMe` returns; the id defaults to the token's numeric prefix. */
  botInfo?: Partial<BotUser>;
}

export interface FakeBotApi {
  /** Pass as grammY's `client: { apiRoot }`, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly apiRoot: string;
  /** What `getMe` answers. */
  readonly botInfo: BotUser;
  /** Every call with the right token, oldest first; emptied by `reset()`. */
  readonly calls: readonly RecordedCall[];
  /** The recorded calls to `method`, oldest first. */
  callsTo(method: string): RecordedCall[];
  /** Forgets the recorded calls and the sent messages, so message ids start again at 1. */
  reset(): void;
  /** Stops listening and drops open keep-alive connections. */
  close(): Promise<void>;
}

/**
 * Starts a fake Bot API on 127.0.0.1 at a free port.
 *
 * @example
 * const api = await startFakeBotApi({ token: '123456:TEST' });
 * const bot = new Bot('123456:TEST', { client: { apiRoot: api.apiRoot } });
 * // ... deliver messageUpdate({ updateId: 1, userId: 42, text: '/start' }) to the bot ...
 * expect(api.callsTo('sendMessage')[0]?.payload).toMatchObject({ chat_id: 42 });
 * await api.close();
 */
export async function startFakeBotApi(options: FakeBotApiOptions): Promise<FakeBotApi> {
  const state: ApiState = {
    token: options.token,
    bot: botUserFor(options.token, options.botInfo),
    calls: [],
    lastMessageIdByChat: new Map(),
    sentMessages: new Map(),
  };
  const server = createServer((request, response) => {
    handleRequest(state, request, response).catch((error: unknown) => {
      reply(response, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    botInfo: state.bot,
    calls: state.calls,
    callsTo: (method) => state.calls.filter((call) => call.method === method),
    reset() {
      state.calls.length = 0;
      state.lastMessageIdByChat.clear();
      state.sentMessages.clear();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // grammY and fetch keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

interface ApiState {
  token: string;
  bot: BotUser;
  calls: RecordedCall[];
  lastMessageIdByChat: Map<number, number>;
  /** Messages the bot sent or edited, by `${chatId}:${messageId}`, so edits keep the other fields. */
  sentMessages: Map<string, Message>;
}

/** Telegram's answer to a method call: the HTTP status and the JSON body. */
interface Answer {
  status: number;
  body: { ok: true; result: unknown } | { ok: false; error_code: number; description: string };
}

/** Thrown by a method to answer with an error, e.g. `new BotApiError(400, 'Bad Request: chat not found')`. */
class BotApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
  ) {
    super(description);
  }
}

function botUserFor(token: string, overrides: Partial<BotUser> = {}): BotUser {
  const idPrefix = /^(\d+):/.exec(token)?.[1];
  if (idPrefix === undefined && overrides.id === undefined) {
    throw new Error(
      `startFakeBotApi: the token '${token}' has no numeric bot id before ':' (Telegram tokens look like ` +
        `'123456:ABC...'); use such a token or pass botInfo.id.`,
    );
  }
  return {
    id: Number(idPrefix),
    is_bot: true,
    first_name: 'Fake Bot',
    username: 'fake_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    ...overrides,
  };
}

async function handleRequest(state: ApiState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  const route = /^\/bot([^/]+)\/([^/]+)$/.exec(path);
  if (route === null) return reply(response, 404, { ok: false, error_code: 404, description: 'Not Found' });
  const [, token, method = ''] = route;
  if (token !== state.token) {
    return reply(response, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
  }

  const body = await readBody(request);
  const answer = answerCall(state, method, request.headers['content-type'] ?? '', body);
  reply(response, answer.status, answer.body);
}

function answerCall(state: ApiState, method: string, contentType: string, body: string): Answer {
  try {
    const payload = parsePayload(contentType, body);
    state.calls.push({ method, payload });
    if (!Object.hasOwn(methods, method)) throw new BotApiError(404, 'Not Found: method not found');
    return { status: 200, body: { ok: true, result: methods[method]!(payload, state) } };
  } catch (error) {
    if (!(error instanceof BotApiError)) throw error;
    const { errorCode, description } = error;
    return { status: errorCode, body: { ok: false, error_code: errorCode, description } };
  }
}

function parsePayload(contentType: string, body: string): Record<string, unknown> {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'multipart/form-data') {
    throw new BotApiError(
      400,
      'Bad Request: the fake Bot API does not accept multipart/form-data (file uploads); send the call as JSON',
    );
  }
  if (body.trim() === '') return {};
  if (mediaType !== 'application/json') {
    throw new BotApiError(400, `Bad Request: the fake Bot API accepts only application/json bodies, got '${contentType}'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BotApiError(400, "Bad Request: can't parse JSON object");
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BotApiError(400, 'Bad Request: the JSON body must be an object of parameters');
  }
  return parsed as Record<string, unknown>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: Answer['body']): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

// ---------------------------------------------------------------------------------------------
// The methods, one small function each

type Method = (payload: Record<string, unknown>, state: ApiState) => unknown;

const methods: Record<string, Method> = {
  getMe: (_payload, state) => state.bot,

  sendMessage(payload, state) {
    const chat = chatFor(payload.chat_id);
    const text = messageText(payload.text);
    const messageId = (state.lastMessageIdByChat.get(chat.id) ?? 0) + 1;
    state.lastMessageIdByChat.set(chat.id, messageId);
    const message: Message = { message_id: messageId, from: state.bot, chat, date: unixNow(), text };
    const keyboard = inlineKeyboard(payload.reply_markup);
    if (keyboard !== undefined) message.reply_markup = keyboard;
    state.sentMessages.set(messageKey(chat.id, messageId), message);
    return message;
  },

  editMessageText(payload, state) {
    const text = messageText(payload.text);
    const keyboard = inlineKeyboard(payload.reply_markup);
    // Telegram removes the inline keyboard when an edit does not repeat it.
    return editMessage(payload, state, (message) => ({ ...message, text, reply_markup: keyboard }));
  },

  editMessageReplyMarkup(payload, state) {
    const keyboard = inlineKeyboard(payload.reply_markup);
    return editMessage(payload, state, (message) => ({ ...message, reply_markup: keyboard }));
  },

  answerCallbackQuery(payload) {
    requireParameter(payload, 'callback_query_id');
    return true;
  },

  setWebhook: () => true,
  deleteWebhook: () => true,
  setMyCommands: () => true,
};

/** Applies `change` to the message the payload names; an inline message's edit returns true, like Telegram. */
function editMessage(
  payload: Record<string, unknown>,
  state: ApiState,
  change: (message: Message) => Message,
): Message | true {
  if (payload.inline_message_id !== undefined) return true;
  const chat = chatFor(payload.chat_id);
  const messageId = payload.message_id;
  if (typeof messageId !== 'number' || !Number.isInteger(messageId)) {
    throw new BotApiError(400, 'Bad Request: message identifier is not specified');
  }
  const key = messageKey(chat.id, messageId);
  // A message the fake did not send (e.g. one named by a built callback query) is edited as if it had.
  const before = state.sentMessages.get(key) ?? { message_id: messageId, from: state.bot, chat, date: unixNow() };
  const after = change(before);
  after.edit_date = unixNow();
  if (after.reply_markup === undefined) delete after.reply_markup;
  state.sentMessages.set(key, after);
  return after;
}

function requireParameter(payload: Record<string, unknown>, name: string): unknown {
  const value = payload[name];
  if (value === undefined || value === '') throw new BotApiError(400, `Bad Request: parameter "${name}" is required`);
  return value;
}

function chatFor(chatId: unknown): Chat {
  if (chatId === undefined || chatId === '') throw new BotApiError(400, 'Bad Request: chat_id is empty');
  const id = typeof chatId === 'string' && /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new BotApiError(400, 'Bad Request: chat not found');
  return chatWithId(id);
}

function messageText(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw new BotApiError(400, 'Bad Request: message text is empty');
  if (text.length > 4096) throw new BotApiError(400, 'Bad Request: message is too long');
  return text;
}

/** The inline keyboard a Message carries back; Telegram echoes no other kind, nor an empty one. */
function inlineKeyboard(replyMarkup: unknown): InlineKeyboardMarkup | undefined {
  // Bot API clients may send reply_markup as a JSON-serialized string, as in form data.
  const markup: unknown =
    typeof replyMarkup === 'string' ? parseJsonParameter('reply_markup', replyMarkup) : replyMarkup;
  if (typeof markup !== 'object' || markup === null || !('inline_keyboard' in markup)) return undefined;
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows)) {
    throw new BotApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
  }
  return rows.length === 0 ? undefined : (markup as InlineKeyboardMarkup);
}

function parseJsonParameter(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BotApiError(400, `Bad Request: can't parse ${name} JSON object`);
  }
}

function messageKey(chatId: number, messageId: number): string {
  return `${chatId}:${messageId}`;
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------------
// Incoming updates

/** A chat as Telegram describes it: positive ids are private chats, -100… supergroups, other negatives groups. */
function chatWithId(id: number, firstName = 'Tester'): Chat {
  if (id > 0) return { id, type: 'private', first_name: firstName };
  return { id, type: id <= -1_000_000_000_000 ? 'supergroup' : 'group', title: 'Test group' };
}

function userWithId(id: number, firstName: string): User {
  return { id, is_bot: false, first_name: firstName, language_code: 'en' };
}

export interface MessageUpdateOptions {
  updateId: number;
  userId: number;
  /** Defaults to `userId`: the private chat with that user. */
  chatId?: number;
  text: string;
  firstName?: string;
}

/**
 * A text message from a user; a leading `/command` (or `/command@bot_username`) gets the bot_command
 * entity Telegram adds, which grammY's `bot.command()` matches on. The message id is the update id.
 *
 * @example
 * messageUpdate({ updateId: 7, userId: 42, text: '/note buy milk' });
 * // message.entities: [{ type: 'bot_command', offset: 0, length: 5 }]
 */
export function messageUpdate(options: MessageUpdateOptions): Update {
  const firstName = options.firstName ?? 'Tester';
  const message: Message = {
    message_id: options.updateId,
    from: userWithId(options.userId, firstName),
    chat: chatWithId(options.chatId ?? options.userId, firstName),
    date: unixNow(),
    text: options.text,
  };
  // Telegram's command syntax: up to 32 letters, digits or underscores, optionally @ and a username.
  const command = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?/.exec(options.text)?.[0];
  if (command !== undefined) message.entities = [{ type: 'bot_command', offset: 0, length: command.length }];
  return { update_id: options.updateId, message };
}

export interface CallbackQueryUpdateOptions {
  updateId: number;
  userId: number;
  /** Defaults to `userId`: the private chat with that user. */
  chatId?: number;
  /** The callback_data of the pressed button. */
  data: string;
  /** The bot's message that carries the button. */
  messageId: number;
  /** Defaults to a string derived from the update id. */
  queryId?: string;
}

/**
 * A press on an inline button of the bot's message `messageId`.
 *
 * @example
 * callbackQueryUpdate({ updateId: 8, userId: 42, data: 'c1a2', messageId: 3 });
 */
export function callbackQueryUpdate(options: CallbackQueryUpdateOptions): Update {
  const chatId = options.chatId ?? options.userId;
  return {
    update_id: options.updateId,
    callback_query: {
      id: options.queryId ?? `query-${options.updateId}`,
      from: userWithId(options.userId, 'Tester'),
      chat_instance: `instance-${chatId}`,
      data: options.data,
      message: { message_id: options.messageId, chat: chatWithId(chatId), date: unixNow() },
    },
  };
}
