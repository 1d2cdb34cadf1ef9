/**
 * python-telegram-bot's `PicklePersistence` files, read into the sections of a snapshot.
 *
 * Single file: one pickle of `{'user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'}`.
 * Multi-file (`single_file=False`): `<filepath>_user_data`, `_chat_data`, `_bot_data`,
 * `_callback_data`, `_conversations`, each a pickle of that section; a missing file is a missing section.
 *
 * As in PTB, the bot inside the data (pickled as a persistent id) becomes the bot placeholder,
 * which `S3Persistence` restores as the live bot, and an unknown bot becomes `null`.
 */
import { readFile, stat } from 'node:fs/promises';
import type { CallbackData } from '../contract.js';
import { SerializationError } from '../errors.js';
import type { SnapshotFields } from '../snapshot/codec.js';
import { BOT_PLACEHOLDER, isPlainObject } from '../snapshot/values.js';
import { describe, PyDict, PyObject, PyTuple, readPickle, type PyValue } from './pickle.js';
import { PythonValueMapper, type PythonMappingOptions } from './python-values.js';

/** PTB's five kinds of data, as its single file and its multi-file suffixes name them. */
export const PTB_SECTIONS = ['user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'] as const;
export type PtbSection = (typeof PTB_SECTIONS)[number];

/** What a PTB persistence held, in this library's types. A section absent from the files is `undefined`. */
export interface PtbPersistenceData {
  userData?: Map<number, unknown>;
  chatData?: Map<number, unknown>;
  botData?: unknown;
  callbackData?: CallbackData | null;
  /** Conversation name to `conversationKey(key)` to state. Ended conversations (state `None`) are left out. */
  conversations?: Map<string, Map<string, unknown>>;
}

export interface ReadPtbOptions {
  /** Drop microseconds that a Date cannot hold instead of refusing such a datetime. Default false. */
  truncateMicroseconds?: boolean;
}

// The persistent ids PTB's _BotPickler writes for the bot (telegram/ext/_picklepersistence.py).
const KNOWN_BOT = "a known bot replaced by PTB's PicklePersistence";
const UNKNOWN_BOT = "an unknown bot replaced by PTB's PicklePersistence";

/** Values one pickle may expand to, per byte of it (memo references can share one object everywhere). */
const VALUES_PER_BYTE = 64;

/**
 * Reads a PTB pickle: the single file (default), or with `section` one file of the multi-file
 * layout. Throws `PickleDecodeError` for bytes that are not a pickle, and `SerializationError`
 * naming the path (e.g. `user_data[123].obj`) for a value that cannot be stored.
 *
 * @example
 * const data = readPtbPickle(await readFile('bot.pickle'));
 * data.userData?.get(123); // { count: 3, ... }
 */
export function readPtbPickle(
  bytes: Uint8Array,
  options: ReadPtbOptions & { section?: PtbSection; file?: string } = {},
): PtbPersistenceData {
  const root = readPickle(bytes, options.file);
  const mapper = new PythonValueMapper(mappingOptions(bytes.length, options));
  if (options.section !== undefined) return { [camel(options.section)]: readSection(options.section, root, mapper) };
  if (!(root instanceof PyDict)) {
    throw new SerializationError('the pickle', `${describe(root)} instead of PicklePersistence's dict of user_data, chat_data, ...`);
  }
  const data: PtbPersistenceData = {};
  for (const [name, value] of root.entries) {
    if (typeof name !== 'string' || !(PTB_SECTIONS as readonly unknown[]).includes(name)) {
      throw new SerializationError(
        'the pickle',
        `it holds ${typeof name === 'string' ? `"${name}"` : describe(name)}, which PicklePersistence never writes: not a PicklePersistence file`,
      );
    }
    Object.assign(data, { [camel(name as PtbSection)]: readSection(name as PtbSection, value, mapper) });
  }
  for (const required of ['user_data', 'chat_data', 'conversations'] as const) {
    if (data[camel(required)] === undefined) {
      throw new SerializationError('the pickle', `no "${required}": not a PicklePersistence single file (a multi-file one? pass --multi-file)`);
    }
  }
  return data;
}

/**
 * Reads PTB's files at `filepath` (PTB's `filepath` option): the single file when it exists (or
 * when `singleFile` is true), else the multi-file layout's files.
 *
 * @example
 * const data = await readPtbPersistence('./conversationbot'); // conversationbot_user_data, ...
 */
export async function readPtbPersistence(
  filepath: string,
  options: ReadPtbOptions & { singleFile?: boolean } = {},
): Promise<PtbPersistenceData & { files: string[] }> {
  const singleFile = options.singleFile ?? (await isFile(filepath));
  if (singleFile) return { ...readPtbPickle(await readFile(filepath), { ...options, file: filepath }), files: [filepath] };
  const data: PtbPersistenceData & { files: string[] } = { files: [] };
  for (const section of PTB_SECTIONS) {
    const file = `${filepath}_${section}`;
    if (!(await isFile(file))) continue;
    Object.assign(data, readPtbPickle(await readFile(file), { ...options, section, file }));
    data.files.push(file);
  }
  if (data.files.length === 0) {
    const error = new Error(`no PicklePersistence file at ${filepath}, nor ${filepath}_user_data and the other multi-file names`);
    throw Object.assign(error, { code: 'ENOENT' });
  }
  return data;
}

/** The snapshot fields of PTB data, sections in PTB's order, absent sections left out. */
export function ptbDataToFields(data: PtbPersistenceData): SnapshotFields {
  const fields: SnapshotFields = new Map();
  for (const section of PTB_SECTIONS) {
    const value = data[camel(section)];
    if (value !== undefined) fields.set(section, value);
  }
  return fields;
}

function camel(section: PtbSection): keyof PtbPersistenceData {
  return section.replace(/_(\w)/g, (_, letter: string) => letter.toUpperCase()) as keyof PtbPersistenceData;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function mappingOptions(size: number, options: ReadPtbOptions): PythonMappingOptions {
  return {
    truncateMicroseconds: options.truncateMicroseconds,
    maxValues: Math.max(100_000, size * VALUES_PER_BYTE),
    persistentLoad: (pid, path) => {
      if (pid === KNOWN_BOT) return BOT_PLACEHOLDER;
      if (pid === UNKNOWN_BOT) return null; // as PTB's _BotUnpickler
      throw new SerializationError(path, `a persistent id ${JSON.stringify(pid)} that PicklePersistence does not write`);
    },
  };
}

function readSection(section: PtbSection, value: PyValue, mapper: PythonValueMapper): unknown {
  switch (section) {
    case 'user_data':
    case 'chat_data':
      return readIdMap(section, value, mapper);
    case 'bot_data':
      return mapper.map(value, 'bot_data');
    case 'callback_data':
      return readCallbackData(value, mapper);
    case 'conversations':
      return readConversations(value, mapper);
  }
}

/** The entries of a dict, or of a dict subclass PTB may hold (`defaultdict`). */
function entriesOf(value: PyValue, path: string): Array<[PyValue, PyValue]> {
  if (value instanceof PyDict) return value.entries;
  if (value instanceof PyObject && ['collections.defaultdict', 'collections.OrderedDict'].includes(value.callableName ?? '')) {
    return value.dictEntries;
  }
  throw new SerializationError(path, `expected a dict, found ${describe(value)}`);
}

/** `user_data` or `chat_data`: int id to data. */
function readIdMap(section: 'user_data' | 'chat_data', value: PyValue, mapper: PythonValueMapper): Map<number, unknown> {
  const entries = new Map<number, unknown>();
  for (const [key, data] of entriesOf(value, section)) {
    if (typeof key !== 'bigint' || key > BigInt(Number.MAX_SAFE_INTEGER) || key < BigInt(Number.MIN_SAFE_INTEGER)) {
      const shown = typeof key === 'bigint' ? String(key) : describe(key);
      throw new SerializationError(`${section}[${shown}]`, `a ${section === 'user_data' ? 'user' : 'chat'} id must be an int within ±2^53`);
    }
    const id = Number(key);
    entries.set(id, mapper.map(data, `${section}[${id}]`));
  }
  return entries;
}

/** `conversations`: name to {tuple key: state}. Keys become `conversationKey(key)`; `None` states are left out. */
function readConversations(value: PyValue, mapper: PythonValueMapper): Map<string, Map<string, unknown>> {
  const conversations = new Map<string, Map<string, unknown>>();
  for (const [name, states] of entriesOf(value, 'conversations')) {
    if (typeof name !== 'string') throw new SerializationError('conversations', `a conversation name that is ${describe(name)}, not a str`);
    const path = `conversations[${JSON.stringify(name)}]`;
    const stored = new Map<string, unknown>();
    for (const [key, state] of entriesOf(states, path)) {
      const parts = key instanceof PyTuple ? key.items.map((part) => mapper.mapKey(part, path, 'dict key')) : undefined;
      if (parts === undefined || !parts.every((part) => typeof part === 'string' || (typeof part === 'number' && Number.isSafeInteger(part)))) {
        throw new SerializationError(`${path} key`, `a conversation key that is ${describe(key)}, not a tuple of ints and strs`);
      }
      const id = JSON.stringify(parts);
      // PTB keeps an ended conversation as None; this library removes the key. Both read as "no conversation".
      if (state !== null) stored.set(id, mapper.map(state, `${path}[${id}]`));
    }
    if (stored.size > 0) conversations.set(name, stored);
  }
  return conversations;
}

/** `callback_data`: `None`, or `(keyboards, queries)` of PTB's CallbackDataCache; `{}` is PTB's "none yet". */
function readCallbackData(value: PyValue, mapper: PythonValueMapper): CallbackData | null {
  if (value === null || (value instanceof PyDict && value.entries.length === 0)) return null;
  const data = mapper.map(value, 'callback_data');
  const [keyboards, queries] = Array.isArray(data) && data.length === 2 ? (data as unknown[]) : [];
  const validKeyboards =
    Array.isArray(keyboards) &&
    keyboards.every(
      (keyboard) =>
        Array.isArray(keyboard) &&
        keyboard.length === 3 &&
        typeof keyboard[0] === 'string' &&
        typeof keyboard[1] === 'number' &&
        isPlainObject(keyboard[2]),
    );
  const validQueries = isPlainObject(queries) && Object.values(queries).every((id) => typeof id === 'string');
  if (!validKeyboards || !validQueries) {
    throw new SerializationError('callback_data', "expected PTB's CallbackDataCache data: ([(keyboard uuid, access time, {button uuid: data})], {query id: keyboard uuid})");
  }
  return data as CallbackData;
}
