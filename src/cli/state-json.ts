/**
 * The JSON form of a stored state, as `export` writes it and `import` reads it back: the same value
 * comes back, type for type (a lossless round trip).
 *
 * ```json
 * {
 *   "$format": "telegram-s3-persistence-export", "$version": 1,
 *   "user_data": { "42": { "name": "Ada", "seen": { "$date": "2024-05-01T12:00:00.123Z" } } },
 *   "chat_data": { "-1001234567890": { "note": "hi" } },
 *   "bot_data": { "total": 10 },
 *   "callback_data": [[["4b7f...", 1718000000.25, { "9c8b...": { "action": "vote" } }]], { "123": "4b7f..." }],
 *   "conversations": { "survey": { "[1,2]": "ASK_AGE" } },
 *   "processed_updates": { "1001": 1718000000000 }
 * }
 * ```
 *
 * Sections: `user_data`, `chat_data` and `processed_updates` are objects keyed by the decimal id;
 * `conversations` is `{ name: { conversationKey: state } }`; the others, and fields of later
 * releases, are values. An absent section is left out. Values that JSON cannot hold are objects
 * with one `$` key:
 *
 * | value | JSON |
 * | --- | --- |
 * | `Map` (e.g. number keys) | `{"$map": [[key, value], ...]}` |
 * | `Set` | `{"$set": [item, ...]}` |
 * | `Date` | `{"$date": "2024-05-01T12:00:00.123Z"}` (`null` for an invalid Date) |
 * | bigint | `{"$bigint": "-12345678901234567890"}` |
 * | `Uint8Array` | `{"$bytes": "base64"}` |
 * | `NaN`, `Infinity`, `-Infinity`, `-0` | `{"$number": "NaN"}` ... |
 * | `undefined` | `{"$undefined": true}` |
 * | the bot | `{"$bot": true}` |
 * | an object whose only key starts with `$` | `{"$object": {"$key": value}}` |
 */
import { PersistenceError, SerializationError } from '../errors.js';
import type { SnapshotFields } from '../snapshot/codec.js';
import { invalidSection, SECTION_NAMES } from '../snapshot/entries.js';
import { BOT_PLACEHOLDER, copyIn, defineEntry, isPlainObject } from '../snapshot/values.js';

export const EXPORT_FORMAT = 'telegram-s3-persistence-export';
export const EXPORT_VERSION = 1;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ID_SECTIONS = new Set(['user_data', 'chat_data', 'processed_updates']);

/** A JSON export that cannot be read back, with where in it. */
export class ExportFormatError extends PersistenceError {
  override readonly name = 'ExportFormatError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super('SNAPSHOT_UNREADABLE', `not a readable ${EXPORT_FORMAT}: at ${path}: ${reason}`);
  }
}

/**
 * The JSON export of `fields` (a state's fields, without write bookkeeping). Sections come in PTB's
 * order and their entries sorted, so that one state exports to the same text from any layout.
 *
 * @example
 * JSON.stringify(stateToJson(new Map([['user_data', new Map([[42, { n: 1n }]])]])));
 * // {"$format":"telegram-s3-persistence-export","$version":1,"user_data":{"42":{"n":{"$bigint":"1"}}}}
 */
export function stateToJson(fields: SnapshotFields): Record<string, Json> {
  const json: Record<string, Json> = { $format: EXPORT_FORMAT, $version: EXPORT_VERSION };
  const known = SECTION_NAMES.filter((name) => fields.has(name));
  const others = [...fields.keys()].filter((name) => !(SECTION_NAMES as readonly string[]).includes(name));
  for (const name of [...known, ...others]) defineEntry(json, name, sectionToJson(name, fields.get(name)));
  return json;
}

const byKey = <K extends string | number>([a]: readonly [K, unknown], [b]: readonly [K, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

function sectionToJson(name: string, value: unknown): Json {
  if (ID_SECTIONS.has(name) && value instanceof Map && [...value.keys()].every(isPlainId)) {
    const object: Record<string, Json> = {};
    for (const [id, entry] of [...value].sort(byKey)) object[String(id)] = toJson(entry);
    return object;
  }
  if (name === 'conversations' && value instanceof Map) {
    const object: Record<string, Json> = {};
    for (const [conversation, states] of [...value].sort(byKey)) {
      const keys: Record<string, Json> = {};
      for (const [key, state] of [...states].sort(byKey)) defineEntry(keys, key, toJson(state));
      defineEntry(object, conversation, keys);
    }
    // A lone name starting with "$" would read as a marker: the generic form holds it.
    return isMarker(object) ? toJson(value) : object;
  }
  return toJson(value);
}

/** An id that survives `String` and back: a safe integer, not -0. */
function isPlainId(id: unknown): boolean {
  return typeof id === 'number' && Number.isSafeInteger(id) && !Object.is(id, -0);
}

/** The JSON of one stored value. */
export function toJson(value: unknown): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { $number: Object.is(value, -0) ? '-0' : String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return { $undefined: true };
  }
  if (value === null) return null;
  if (value === BOT_PLACEHOLDER) return { $bot: true };
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) return { $map: [...value].map(([key, entry]) => [toJson(key), toJson(entry)]) };
  if (value instanceof Set) return { $set: [...value].map(toJson) };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const object: Record<string, Json> = {};
    for (const key of keys) defineEntry(object, key, toJson(value[key]));
    return keys.length === 1 && keys[0]!.startsWith('$') ? { $object: object } : object;
  }
  throw new SerializationError('export', `a value outside the value model (${Object.prototype.toString.call(value)})`);
}

/**
 * The fields a JSON export holds, checked as a write would check them. Throws
 * {@link ExportFormatError} naming the place of anything it cannot read.
 *
 * @example
 * const fields = stateFromJson(JSON.parse(await readFile('state.json', 'utf8')));
 */
export function stateFromJson(json: unknown): SnapshotFields {
  if (!isPlainObject(json) || json.$format !== EXPORT_FORMAT) {
    throw new ExportFormatError('$format', `expected "${EXPORT_FORMAT}": write the file with the export command`);
  }
  const version = json.$version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ExportFormatError('$version', `invalid version ${JSON.stringify(version)}`);
  }
  if (version > EXPORT_VERSION) {
    throw new ExportFormatError('$version', `version ${version} is newer than ${EXPORT_VERSION}: upgrade telegram-s3-persistence`);
  }
  const fields: SnapshotFields = new Map();
  for (const name of Object.keys(json)) {
    if (name === '$format' || name === '$version') continue;
    if (name.startsWith('$')) throw new ExportFormatError(name, 'unknown envelope field');
    const value = sectionFromJson(name, json[name]);
    try {
      fields.set(name, copyIn(value, name, undefined));
    } catch (error) {
      if (error instanceof SerializationError) throw new ExportFormatError(error.path, error.message);
      throw error;
    }
  }
  const invalid = invalidSection(fields);
  if (invalid !== undefined) throw new ExportFormatError('$', invalid);
  return fields;
}

function sectionFromJson(name: string, json: unknown): unknown {
  if (ID_SECTIONS.has(name) && isPlainObject(json) && !isMarker(json)) {
    const entries = new Map<number, unknown>();
    for (const key of Object.keys(json)) {
      if (!/^(0|-?[1-9]\d*)$/.test(key) || !Number.isSafeInteger(Number(key))) {
        throw new ExportFormatError(`${name}[${JSON.stringify(key)}]`, 'an id must be a decimal integer within ±2^53');
      }
      entries.set(Number(key), fromJson(json[key], `${name}[${key}]`));
    }
    return entries;
  }
  if (name === 'conversations' && isPlainObject(json) && !isMarker(json)) {
    const conversations = new Map<string, Map<string, unknown>>();
    for (const conversation of Object.keys(json)) {
      const path = `conversations[${JSON.stringify(conversation)}]`;
      const states = json[conversation];
      if (!isPlainObject(states)) throw new ExportFormatError(path, 'expected an object of conversation key to state');
      const stored = new Map<string, unknown>();
      for (const key of Object.keys(states)) {
        if (!isConversationKey(key)) {
          throw new ExportFormatError(`${path}[${key}]`, 'a conversation key is a JSON array of numbers and strings, e.g. "[123,456]"');
        }
        stored.set(key, fromJson(states[key], `${path}[${key}]`));
      }
      conversations.set(conversation, stored);
    }
    return conversations;
  }
  return fromJson(json, name);
}

/** A key as `conversationKey` writes it: `JSON.stringify` of an array of integers and strings. */
function isConversationKey(key: string): boolean {
  let parts: unknown;
  try {
    parts = JSON.parse(key);
  } catch {
    return false;
  }
  return (
    Array.isArray(parts) &&
    parts.every((part) => typeof part === 'string' || (typeof part === 'number' && Number.isSafeInteger(part))) &&
    JSON.stringify(parts) === key
  );
}

function isMarker(json: Record<string, unknown>): boolean {
  const keys = Object.keys(json);
  return keys.length === 1 && keys[0]!.startsWith('$');
}

const ISO_DATE = /^(\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The stored value of one JSON value found at `path`. */
export function fromJson(json: unknown, path: string): unknown {
  if (json === null || typeof json === 'string' || typeof json === 'boolean' || typeof json === 'number') return json;
  if (Array.isArray(json)) return json.map((item, i) => fromJson(item, `${path}[${i}]`));
  if (!isPlainObject(json)) throw new ExportFormatError(path, 'not a JSON value');
  if (!isMarker(json)) {
    const object: Record<string, unknown> = {};
    for (const key of Object.keys(json)) defineEntry(object, key, fromJson(json[key], `${path}.${key}`));
    return object;
  }
  const marker = Object.keys(json)[0]!;
  const content = json[marker];
  const invalid = (expected: string) => new ExportFormatError(path, `${marker} holds ${JSON.stringify(content)}; expected ${expected}`);
  switch (marker) {
    case '$map': {
      if (!Array.isArray(content)) throw invalid('an array of [key, value] pairs');
      const map = new Map<unknown, unknown>();
      for (const [i, pair] of content.entries()) {
        if (!Array.isArray(pair) || pair.length !== 2) throw invalid('an array of [key, value] pairs');
        const key = fromJson(pair[0], `${path} key ${i}`);
        map.set(key, fromJson(pair[1], `${path}.get(${typeof key === 'string' ? JSON.stringify(key) : String(key)})`));
      }
      return map;
    }
    case '$set': {
      if (!Array.isArray(content)) throw invalid('an array');
      return new Set(content.map((item, i) => fromJson(item, `${path} item ${i}`)));
    }
    case '$date': {
      if (content === null) return new Date(NaN);
      const time = typeof content === 'string' && ISO_DATE.test(content) ? Date.parse(content) : NaN;
      if (Number.isNaN(time)) throw invalid('an ISO 8601 date and time, e.g. "2024-05-01T12:00:00.123Z"');
      return new Date(time);
    }
    case '$bigint':
      if (typeof content !== 'string' || !/^-?\d+$/.test(content)) throw invalid('a decimal integer as a string');
      return BigInt(content);
    case '$bytes':
      if (typeof content !== 'string' || !BASE64.test(content)) throw invalid('base64');
      return new Uint8Array(Buffer.from(content, 'base64'));
    case '$number':
      switch (content) {
        case 'NaN':
          return NaN;
        case 'Infinity':
          return Infinity;
        case '-Infinity':
          return -Infinity;
        case '-0':
          return -0;
      }
      throw invalid('"NaN", "Infinity", "-Infinity" or "-0"');
    case '$undefined':
      if (content !== true) throw invalid('true');
      return undefined;
    case '$bot':
      if (content !== true) throw invalid('true');
      return BOT_PLACEHOLDER;
    case '$object': {
      if (!isPlainObject(content)) throw invalid('an object');
      const object: Record<string, unknown> = {};
      for (const key of Object.keys(content)) defineEntry(object, key, fromJson(content[key], `${path}.${key}`));
      return object;
    }
  }
  throw new ExportFormatError(
    path,
    `unknown marker "${marker}": an object whose only key starts with "$" is one of $map, $set, $date, $bigint, $bytes, $number, $undefined, $bot, $object; write other such objects as {"$object": {...}}`,
  );
}
