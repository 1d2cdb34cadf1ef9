/**
 * python-telegram-bot's `PicklePersistence` files, read into the sections of a snapshot.
 *
 * Single file: one pickle of `{'user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'}`.
 * Multi-file (`single_file=False`): `<filepath>_user_data`, `_chat_data`, `_bot_data`,
 * `_callback_data`, `_conversations`, each a pickle of that section; a missing file is a missing section.
 *
 * As in PTB, the bot inside the data (pickled as a persistent id) becomes the bot placeholder,
 * which `S3Persistence` restores as the live bot, and an unknown bot becomes `null`.
 *
 * PTB's pickler writes its marker of "the bot" for any object that `is` the bot it was given. On a
 * persistence whose `set_bot` was never called that bot is `None`, so every `None` is written as
 * the marker, and PTB without a bot reads them back as `None`. Such files hold no `None` pickled as
 * itself, while a file written with a bot set holds one wherever a `None` was (a single file's
 * `callback_data` is one unless arbitrary callback data is used). So the files tell which the
 * markers are: the bot when a `None` was pickled as itself in any of them, `None` otherwise (see
 * {@link ReadPtbOptions.botMarker} for the one case the files cannot tell).
 */
import { readFile, stat } from 'node:fs/promises';
import { conversationKey, type CallbackData } from '../contract.js';
import { SerializationError } from '../errors.js';
import { CallbackDataShapeError, parseCallbackData } from '../snapshot/callback-data.js';
import type { SnapshotFields } from '../snapshot/codec.js';
import { BOT_PLACEHOLDER, isPlainObject } from '../snapshot/values.js';
import { readPickleContents, type PickleContents } from './pickle.js';
import { describe, PyDict, PyObject, PyTuple, type PyValue } from './python-objects.js';
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
  /** How PTB's markers of the bot were read, and why. */
  botMarkers?: BotMarkerReport;
}

/** What PTB's marker of "the bot" is read as: the bot placeholder, or `None` (`null`). */
export type BotMarkerReading = 'bot' | 'none';

export interface BotMarkerReport {
  /** How many times the files refer to the marker (a shared object counts once per place). */
  count: number;
  readAs: BotMarkerReading;
  /** Why: the `botMarker` option, or whether the files hold a `None` pickled as itself. */
  reason: 'option' | 'a None in the files' | 'no None in the files';
}

export interface ReadPtbOptions {
  /** Drop microseconds that a Date cannot hold instead of refusing such a datetime. Default false. */
  truncateMicroseconds?: boolean;
  /**
   * Read PTB's marker of the bot as the bot (`'bot'`) or as `None` (`'none'`). Default: as the files
   * say (see above): `'bot'` when any of them holds a `None` pickled as itself, else `'none'`. The
   * files cannot tell a persistence with a bot set whose data holds the bot and not a single `None`;
   * the default reads its markers as `None`, and `'bot'` reads them as the bot.
   */
  botMarker?: BotMarkerReading;
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
): PtbPersistenceData & { botMarkers: BotMarkerReport } {
  const contents = readPickleContents(bytes, options.file);
  const markers = botMarkerReport([contents], options.botMarker);
  const data = readContents(contents, bytes.length, markers, options);
  return { ...data, botMarkers: markers };
}

function readContents(
  contents: PickleContents,
  size: number,
  markers: BotMarkerReport,
  options: ReadPtbOptions & { section?: PtbSection },
): PtbPersistenceData {
  const root = contents.value;
  const mapper = new PythonValueMapper(mappingOptions(size, markers, options));
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

/** How the markers of these files (one persistence's) read: the option, else the files' own evidence. */
function botMarkerReport(files: readonly PickleContents[], forced: BotMarkerReading | undefined): BotMarkerReport {
  if (forced !== undefined) return { count: 0, readAs: forced, reason: 'option' };
  return files.some((file) => file.writesNone)
    ? { count: 0, readAs: 'bot', reason: 'a None in the files' }
    : { count: 0, readAs: 'none', reason: 'no None in the files' };
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
): Promise<PtbPersistenceData & { files: string[]; botMarkers: BotMarkerReport }> {
  const singleFile = options.singleFile ?? (await isFile(filepath));
  if (singleFile) return { ...readPtbPickle(await readFile(filepath), { ...options, file: filepath }), files: [filepath] };
  const pickles: Array<{ section: PtbSection; file: string; size: number; contents: PickleContents }> = [];
  for (const section of PTB_SECTIONS) {
    const file = `${filepath}_${section}`;
    if (!(await isFile(file))) continue;
    const bytes = await readFile(file);
    pickles.push({ section, file, size: bytes.length, contents: readPickleContents(bytes, file) });
  }
  if (pickles.length === 0) {
    const error = new Error(`no PicklePersistence file at ${filepath}, nor ${filepath}_user_data and the other multi-file names`);
    throw Object.assign(error, { code: 'ENOENT' });
  }
  // One persistence wrote the files, with one bot or none: they are judged together.
  const markers = botMarkerReport(
    pickles.map(({ contents }) => contents),
    options.botMarker,
  );
  const data: PtbPersistenceData & { files: string[]; botMarkers: BotMarkerReport } = { files: pickles.map(({ file }) => file), botMarkers: markers };
  for (const { section, size, contents } of pickles) Object.assign(data, readContents(contents, size, markers, { ...options, section }));
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

function mappingOptions(size: number, markers: BotMarkerReport, options: ReadPtbOptions): PythonMappingOptions {
  return {
    truncateMicroseconds: options.truncateMicroseconds,
    maxValues: Math.max(100_000, size * VALUES_PER_BYTE),
    persistentLoad: (pid, path) => {
      if (pid === KNOWN_BOT) {
        markers.count++;
        return markers.readAs === 'bot' ? BOT_PLACEHOLDER : null;
      }
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
      if (parts === undefined || !parts.every((part): part is number | string => typeof part === 'string' || (typeof part === 'number' && Number.isSafeInteger(part)))) {
        throw new SerializationError(`${path} key`, `a conversation key that is ${describe(key)}, not a tuple of ints and strs`);
      }
      const id = conversationKey(parts);
      const mapped = mapper.map(state, `${path}[${id}]`);
      // PTB keeps an ended conversation as None; this library removes the key. Both read as "no conversation".
      if (mapped !== null) stored.set(id, mapped);
    }
    if (stored.size > 0) conversations.set(name, stored);
  }
  return conversations;
}

/** `callback_data`: `None`, or `(keyboards, queries)` of PTB's CallbackDataCache; `{}` is PTB's "none yet". */
function readCallbackData(value: PyValue, mapper: PythonValueMapper): CallbackData | null {
  const data = mapper.map(value, 'callback_data');
  if (data === BOT_PLACEHOLDER) {
    throw new SerializationError(
      'callback_data',
      "PTB's marker of the bot where callback data or None belongs: the file was written without set_bot, so its markers stand for None: read them so with botMarker: 'none'",
    );
  }
  if (isPlainObject(data) && Object.keys(data).length === 0) return null;
  try {
    return parseCallbackData(data);
  } catch (error) {
    if (!(error instanceof CallbackDataShapeError)) throw error;
    throw new SerializationError(
      'callback_data',
      `${error.reason}: expected PTB's CallbackDataCache data: ([(keyboard uuid, access time, {button uuid: data})], {query id: keyboard uuid})`,
    );
  }
}
