// A fake Telegram Bot API on 127.0.0.1 for the end-to-end tests and the local demo: it answers the
// few methods the sample bot calls the way Telegram does (getUpdates long polling included), records
// every call, fails a call on request, and builds the updates the tests send to the bot. grammY talks
// to it through `client: { apiRoot }`.
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

/** An incoming update, as Telegram posts it to the bot's webhook or returns it from getUpdates. */
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
  /** The messages the bot sent to `chatId`, as they are now (edits applied), oldest first. */
  messagesIn(chatId: number): Message[];
  /**
   * Resolves once `count` calls to `method` have been recorded (at once if they already have), so a
   * test waits for the bot's reply instead of sleeping.
   */
  waitForCalls(method: string, count: number): Promise<RecordedCall[]>;
  /**
   * Makes the next call to `method` fail with `status` (e.g. 500), recorded like any other call;
   * queue several to fail several calls.
   *
   * @example
   * api.failNext('sendMessage', 500); // the bot's next reply gets "500: Internal Server Error"
   */
  failNext(method: string, status: number): void;
  /**
   * Queues an update for long polling: `getUpdates` returns it, and a pending long poll wakes up.
   * Telegram forgets an update once a later `getUpdates` passes an `offset` above its id.
   */
  pushUpdate(update: Update): void;
  /** Forgets the recorded calls, the sent messages, queued failures and updates, so message ids start again at 1. */
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
    failures: new Map(),
    pendingUpdates: [],
    callListeners: new Set(),
    updateListeners: new Set(),
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
    callsTo: (method) => callsTo(state, method),
    messagesIn: (chatId) =>
      [...state.sentMessages.values()]
        .filter((message) => message.chat.id === chatId)
        .sort((a, b) => a.message_id - b.message_id),
    waitForCalls: (method, count) =>
      new Promise((resolve) => {
        const check = () => {
          const calls = callsTo(state, method);
          if (calls.length < count) return;
          state.callListeners.delete(check);
          resolve(calls);
        };
        state.callListeners.add(check);
        check();
      }),
    failNext(method, status) {
      const queued = state.failures.get(method) ?? [];
      state.failures.set(method, [...queued, status]);
    },
    pushUpdate(update) {
      state.pendingUpdates.push(update);
      for (const wake of [...state.updateListeners]) wake();
    },
    reset() {
      state.calls.length = 0;
      state.lastMessageIdByChat.clear();
      state.sentMessages.clear();
      state.failures.clear();
      state.pendingUpdates.length = 0;
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
  /** Statuses the next calls to a method fail with, by method, first one next. */
  failures: Map<string, number[]>;
  /** Updates for getUpdates, oldest first, until an offset above their id confirms them. */
  pendingUpdates: Update[];
  /** Run after every recorded call. */
  callListeners: Set<() => void>;
  /** Run when an update is pushed, waking pending long polls. */
  updateListeners: Set<() => void>;
}

function callsTo(state: ApiState, method: string): RecordedCall[] {
  return state.calls.filter((call) => call.method === method);
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
  const answer = await answerCall(state, method, request.headers['content-type'] ?? '', body, request);
  reply(response, answer.status, answer.body);
}

async function answerCall(
  state: ApiState,
  method: string,
  contentType: string,
  body: string,
  request: IncomingMessage,
): Promise<Answer> {
  try {
    const payload = parsePayload(contentType, body);
    state.calls.push({ method, payload });
    for (const listener of [...state.callListeners]) listener();
    const failure = state.failures.get(method)?.shift();
    if (failure !== undefined) throw new BotApiError(failure, STATUS_DESCRIPTIONS[failure] ?? `Error ${failure}`);
    if (method === 'getUpdates') return { status: 200, body: { ok: true, result: await getUpdates(payload, state, request) } };
    if (!Object.hasOwn(methods, method)) throw new BotApiError(404, 'Not Found: method not found');
    return { status: 200, body: { ok: true, result: methods[method]!(payload, state) } };
  } catch (error) {
    if (!(error instanceof BotApiError)) throw error;
    const { errorCode, description } = error;
    return { status: errorCode, body: { ok: false, error_code: errorCode, description } };
  }
}

/** Telegram's descriptions of the statuses a test is likely to fail a call with. */
const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden: bot was blocked by the user',
  429: 'Too Many Requests: retry after 1',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

/**
 * Long polling as Telegram does it: an `offset` confirms (forgets) every update below it; the
 * updates from `offset` on are returned at once, or the call waits up to `timeout` seconds for one
 * (the client closing the connection ends the wait).
 */
async function getUpdates(payload: Record<string, unknown>, state: ApiState, request: IncomingMessage): Promise<Update[]> {
  const offset = typeof payload.offset === 'number' ? payload.offset : 0;
  const limit = typeof payload.limit === 'number' && payload.limit > 0 ? Math.min(payload.limit, 100) : 100;
  const timeout = typeof payload.timeout === 'number' && payload.timeout > 0 ? payload.timeout : 0;
  const confirmed = state.pendingUpdates.filter((update) => update.update_id < offset).length;
  state.pendingUpdates.splice(0, confirmed);
  if (state.pendingUpdates.length === 0 && timeout > 0) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        state.updateListeners.delete(done);
        request.socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, timeout * 1000);
      state.updateListeners.add(done);
      request.socket.once('close', done);
    });
  }
  return state.pendingUpdates.slice(0, limit);
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
