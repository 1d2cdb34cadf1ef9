/**
 * The value model of stored data: what may be stored, how it is copied in and out, and when two
 * values are equal.
 *
 * Storable: `null`, `undefined`, booleans, numbers, strings, bigints, Dates, `Uint8Array`s, arrays,
 * `Map`s, `Set`s, plain objects (any string keys, `__proto__` included) and the live bot, which is
 * held as {@link BOT_PLACEHOLDER}. Anything else is refused with a {@link SerializationError}.
 */
import { SerializationError } from '../errors.js';

/** Stands for the live bot inside stored data; replaced by the bot given to `setBot` on the way out. */
export const BOT_PLACEHOLDER: object = Object.freeze(
  Object.create(null, { [Symbol.toStringTag]: { value: 'BotPlaceholder' } }) as object,
);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Sets `target[key] = value` as an own data property, even for `__proto__`. */
export function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Looks like a Telegram bot object (grammY, Telegraf, node-telegram-bot-api) without being the one set. */
function looksLikeBot(value: object): boolean {
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  if (typeof name === 'string' && /bot|telegraf/i.test(name)) return true;
  return 'token' in value && ('api' in value || 'telegram' in value);
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) {
    const name = (value.constructor as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a custom prototype';
  }
  return typeof value;
}

const SUPPORTED =
  'store plain objects, arrays, Maps, Sets, Dates, Uint8Arrays, strings, numbers, bigints, booleans, null or undefined';

/**
 * A deep copy of `value` for storage, with `bot` replaced by {@link BOT_PLACEHOLDER}.
 * Throws a {@link SerializationError} naming `path` when something in it cannot be stored.
 */
export function copyIn(value: unknown, path: string, bot: object | undefined): unknown {
  return copyInAt(value, path, bot, new Set());
}

/** Deeper values are refused: what one process can encode, another with a smaller stack may fail to decode. */
export const MAX_DEPTH = 1000;
// A lone surrogate is not UTF-8 encodable: CBOR text would turn it into U+FFFD, silently.
const LONE_SURROGATE = /\p{Cs}/u;

function checkString(text: string, path: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new SerializationError(path, 'a string with a lone surrogate (half of a UTF-16 pair) cannot be stored exactly');
  }
}

function copyInAt(value: unknown, path: string, bot: object | undefined, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return value;
    case 'function':
    case 'symbol':
      throw new SerializationError(path, `${describe(value)} cannot be stored; ${SUPPORTED}`);
  }
  if (value === null) return null;
  const object = value as object;
  if (object === bot) return BOT_PLACEHOLDER;
  if (object === BOT_PLACEHOLDER) return BOT_PLACEHOLDER;
  if (ancestors.has(object)) throw new SerializationError(path, 'it contains a circular reference');
  if (ancestors.size >= MAX_DEPTH) throw new SerializationError(path, `it is nested deeper than ${MAX_DEPTH} levels`);
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const copy = new Array<unknown>(object.length);
      for (let i = 0; i < object.length; i++) copy[i] = copyInAt(object[i], `${path}[${i}]`, bot, ancestors);
      return copy;
    }
    if (isPlainObject(object)) {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(object)) {
        checkString(key, `${path} key ${JSON.stringify(key)}`);
        defineEntry(copy, key, copyInAt(object[key], `${path}.${key}`, bot, ancestors));
      }
      return copy;
    }
    if (object instanceof Map) {
      const copy = new Map<unknown, unknown>();
      for (const [key, entry] of object) {
        const label = typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? `(${describe(key)})` : String(key);
        copy.set(copyInAt(key, `${path} key ${label}`, bot, ancestors), copyInAt(entry, `${path}.get(${label})`, bot, ancestors));
      }
      return copy;
    }
    if (object instanceof Set) {
      const copy = new Set<unknown>();
      let i = 0;
      for (const item of object) copy.add(copyInAt(item, `${path} item ${i++}`, bot, ancestors));
      return copy;
    }
    if (object instanceof Date) return new Date(object.getTime());
    if (object instanceof Uint8Array && (object.constructor === Uint8Array || object.constructor.name === 'Buffer')) {
      return new Uint8Array(object);
    }
    if (looksLikeBot(object)) {
      throw new SerializationError(
        path,
        bot === undefined
          ? 'it holds a bot object; call setBot(bot) first so the live bot is stored as a placeholder'
          : 'it holds a bot object other than the one given to setBot(); only the live bot can be stored (as a placeholder)',
      );
    }
    throw new SerializationError(path, `${describe(object)} cannot be stored; ${SUPPORTED}`);
  } finally {
    ancestors.delete(object);
  }
}

/** A deep copy of stored `value` for the caller, with {@link BOT_PLACEHOLDER} replaced by `bot` when one is set. */
export function copyOut(value: unknown, bot: object | undefined): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value === BOT_PLACEHOLDER) return bot ?? BOT_PLACEHOLDER;
  if (Array.isArray(value)) return value.map((item) => copyOut(item, bot));
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    for (const [key, entry] of value) copy.set(copyOut(key, bot), copyOut(entry, bot));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set<unknown>();
    for (const item of value) copy.add(copyOut(item, bot));
    return copy;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Uint8Array) return new Uint8Array(value);
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) defineEntry(copy, key, copyOut(source[key], bot));
  return copy;
}

/** Structural equality of two stored values: key order of objects does not matter, Map and Set order does not either. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // The placeholder has no keys, like an empty object, yet stands for the bot.
  if (a === BOT_PLACEHOLDER || b === BOT_PLACEHOLDER) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [key, value] of a) {
      if (!b.has(key) || !deepEqual(value, b.get(key))) return false;
    }
    return true;
  }
  if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false;
    for (const item of a) if (!b.has(item)) return false;
    return true;
  }
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof Uint8Array) {
    if (!(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !deepEqual(a[key], b[key])) return false;
  }
  return true;
}
