/**
 * From Python values (as `pickle.ts` reads them) to stored values (the value model of
 * `snapshot/values.ts`), by path, refusing what has no faithful counterpart.
 *
 * | Python | stored |
 * | --- | --- |
 * | `None`, `bool`, `str`, `float` | `null`, boolean, string, number |
 * | `int` | number when it is a safe integer, else bigint |
 * | `bytes`, `bytearray` | `Uint8Array` |
 * | `list`, `tuple` | array |
 * | `dict` (`OrderedDict`, `defaultdict`) with only str keys | plain object |
 * | `dict` with other keys (int, float, bool, None) | `Map` |
 * | `set`, `frozenset` of int, float, str, bool, None | `Set` |
 * | `datetime.datetime` (naive: taken as UTC; `datetime.timezone` offsets) | `Date` |
 *
 * A Date keeps milliseconds: a datetime with finer microseconds is refused unless
 * `truncateMicroseconds` allows dropping them.
 */
import { SerializationError } from '../errors.js';
import { defineEntry, MAX_DEPTH } from '../snapshot/values.js';
import {
  describe,
  PyByteArray,
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PyPersistentId,
  PySet,
  PyTuple,
  PyUndecodableStr,
  type PyValue,
} from './python-objects.js';

export interface PythonMappingOptions {
  /** Drop the microseconds a Date cannot hold instead of refusing the datetime. Default false. */
  truncateMicroseconds?: boolean;
  /** What a persistent id stands for; throw a `SerializationError` to refuse it. */
  persistentLoad: (pid: PyValue, path: string) => unknown;
  /**
   * The most values one mapping may produce. Memo references let a small pickle share an object
   * everywhere; copied out, it could grow exponentially.
   */
  maxValues: number;
}

const SUPPORTED =
  'import plain dicts, lists, tuples, sets, str, bytes, int, float, bool, None and datetime; convert other objects to those in Python first';

/** Maps Python values to stored values. One instance per pickle: the value budget is shared. */
export class PythonValueMapper {
  private produced = 0;
  private readonly ancestors = new Set<object>();

  constructor(private readonly options: PythonMappingOptions) {}

  /** The stored value for `value`, found at `path` (e.g. `user_data[42].visits`). */
  map(value: PyValue, path: string): unknown {
    if (++this.produced > this.options.maxValues) {
      throw new SerializationError(
        path,
        `the pickle shares objects so often that copying them out would exceed ${this.options.maxValues} values`,
      );
    }
    switch (typeof value) {
      case 'boolean':
      case 'number':
      case 'string':
        return value;
      case 'bigint':
        return toNumberIfSafe(value);
    }
    if (value === null) return null;
    if (value instanceof Uint8Array) return new Uint8Array(value);
    if (value instanceof PyByteArray) return new Uint8Array(value.bytes);
    if (value instanceof PyUndecodableStr) {
      throw new SerializationError(path, 'a str with a lone surrogate (not valid UTF-8) cannot be stored exactly');
    }
    if (value instanceof PyPersistentId) return this.options.persistentLoad(value.pid, path);
    if (value instanceof PyGlobal) {
      throw new SerializationError(path, `a reference to ${value.qualifiedName} (a class or function) cannot be stored; ${SUPPORTED}`);
    }
    if (this.ancestors.has(value)) throw new SerializationError(path, 'it contains itself (a circular reference)');
    if (this.ancestors.size >= MAX_DEPTH) throw new SerializationError(path, `it is nested deeper than ${MAX_DEPTH} levels`);
    this.ancestors.add(value);
    try {
      if (value instanceof PyList || value instanceof PyTuple) return value.items.map((item, i) => this.map(item, `${path}[${i}]`));
      if (value instanceof PyDict) return this.mapDict(value.entries, path);
      if (value instanceof PySet) return this.mapSet(value.items, path, value.frozen ? 'frozenset' : 'set');
      return this.mapObject(value, path);
    } finally {
      this.ancestors.delete(value);
    }
  }

  /** A dict: a plain object when every key is a str, else a Map. */
  mapDict(entries: ReadonlyArray<readonly [PyValue, PyValue]>, path: string): unknown {
    if (entries.every(([key]) => typeof key === 'string')) {
      const object: Record<string, unknown> = {};
      for (const [key, entry] of entries) defineEntry(object, key as string, this.map(entry, `${path}.${key as string}`));
      return object;
    }
    const map = new Map<unknown, unknown>();
    for (const [key, entry] of entries) {
      const storedKey = this.mapKey(key, path, 'dict key');
      map.set(storedKey, this.map(entry, `${path}[${label(storedKey)}]`));
    }
    return map;
  }

  /** A dict key or set item: a value that compares by value in a Map or Set. */
  mapKey(key: PyValue, path: string, what: 'dict key' | 'set item'): unknown {
    switch (typeof key) {
      case 'boolean':
      case 'number':
      case 'string':
        return key;
      case 'bigint':
        return toNumberIfSafe(key);
    }
    if (key === null) return null;
    if (key instanceof PyPersistentId) {
      // PTB's marker of the bot stands for None in a file written without a bot.
      if (this.options.persistentLoad(key.pid, `${path} ${what}`) === null) return null;
      throw new SerializationError(
        `${path} ${what}`,
        `a ${what} that is the bot cannot be stored; in a file written without set_bot the bot's marker stands for None: read it so with botMarker: 'none'`,
      );
    }
    throw new SerializationError(
      `${path} ${what}`,
      `a ${what} that is ${describe(key)} cannot be stored (stored ${what}s compare by value: int, float, str, bool or None)`,
    );
  }

  private mapSet(items: readonly PyValue[], path: string, kind: string): Set<unknown> {
    const set = new Set<unknown>();
    for (const item of items) set.add(this.mapKey(item, path, 'set item'));
    if (set.size !== items.length) throw new SerializationError(path, `a ${kind} with repeated items: a corrupt pickle`);
    return set;
  }

  private mapObject(object: PyObject, path: string): unknown {
    const name = object.callableName;
    const reconstruct = name === undefined ? undefined : CONSTRUCTORS[name];
    if (reconstruct !== undefined) return reconstruct(object, path, this);
    throw new SerializationError(path, refusalOf(object));
  }

  get truncateMicroseconds(): boolean {
    return this.options.truncateMicroseconds ?? false;
  }
}

function toNumberIfSafe(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function label(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

type Constructor = (object: PyObject, path: string, mapper: PythonValueMapper) => unknown;

/** The classes and functions of Python's standard library whose results have a stored counterpart. */
const CONSTRUCTORS: Record<string, Constructor> = {
  'datetime.datetime': toDate,
  // A defaultdict's factory is behaviour, not data: its entries are what is stored.
  'collections.defaultdict': (object, path, mapper) => mapper.mapDict(dictEntriesOf(object, path), path),
  'collections.OrderedDict': (object, path, mapper) => mapper.mapDict(dictEntriesOf(object, path), path),
  // Protocols 2 and 3 write sets, frozensets and bytearrays as calls; protocol 2 writes bytes as calls too.
  'builtins.set': (object, path, mapper) => mapper.map(new PySet(false, itemsOf(object, path)), path),
  'builtins.frozenset': (object, path, mapper) => mapper.map(new PySet(true, itemsOf(object, path)), path),
  'builtins.bytearray': (object, path) => bytesOf(object, path),
  'builtins.bytes': (object, path) => bytesOf(object, path),
  '_codecs.encode': (object, path) => bytesOf(object, path),
};

const REFUSALS: Record<string, string> = {
  'datetime.date': 'a datetime.date has no stored counterpart; store a datetime (midnight UTC) or an ISO string',
  'datetime.time': 'a datetime.time has no stored counterpart; store a str such as "08:30"',
  'datetime.timedelta': 'a datetime.timedelta has no stored counterpart; store its total_seconds()',
  'decimal.Decimal': 'a decimal.Decimal has no exact stored counterpart; store a str or an int of the smallest unit',
  'fractions.Fraction': 'a fractions.Fraction has no stored counterpart; store its numerator and denominator',
  'uuid.UUID': 'a uuid.UUID has no stored counterpart; store str(uuid)',
};

/** PTB's pickler writes every TelegramObject as a call of this function with (class, attributes). */
const PTB_RECONSTRUCT = 'telegram.ext._picklepersistence._reconstruct_to';

function refusalOf(object: PyObject): string {
  const name = object.callableName;
  if (name === undefined) return `${describe(object)} cannot be stored; ${SUPPORTED}`;
  const known = REFUSALS[name];
  if (known !== undefined) return known;
  const cls = name === PTB_RECONSTRUCT ? object.args.items[0] : object.callable;
  if (cls instanceof PyGlobal && (cls.module === 'telegram' || cls.module.startsWith('telegram.'))) {
    return (
      `a telegram.${cls.name} (a TelegramObject) cannot be stored: its Python attributes are not the Bot API's JSON. ` +
      `Store obj.to_dict() in Python before importing, and rebuild it with ${cls.name}.de_json(...) where needed`
    );
  }
  const className = cls instanceof PyGlobal ? cls.qualifiedName : name;
  return `an instance of class ${className} cannot be stored; ${SUPPORTED}`;
}

function dictEntriesOf(object: PyObject, path: string): Array<[PyValue, PyValue]> {
  if (object.state !== undefined && object.state !== null && !(object.state instanceof PyDict && object.state.entries.length === 0)) {
    throw new SerializationError(path, `an instance of ${object.callableName} with attributes of its own (a subclass?) cannot be stored`);
  }
  return object.dictEntries;
}

function itemsOf(object: PyObject, path: string): PyValue[] {
  const [items] = object.args.items;
  if (object.args.items.length === 0) return [];
  if (items instanceof PyList || items instanceof PyTuple) return [...items.items];
  throw new SerializationError(path, `${object.callableName} called with ${describe(items)}`);
}

/**
 * The bytes of `bytes`, `bytearray` and protocol 2's `_codecs.encode(text, 'latin1')`.
 * Returns them for any of the forms Python writes, refuses anything else.
 */
function bytesOf(value: PyValue, path: string): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof PyByteArray) return new Uint8Array(value.bytes);
  if (value instanceof PyObject) {
    const [first, encoding] = value.args.items;
    switch (value.callableName) {
      case 'builtins.bytes':
      case 'builtins.bytearray':
        if (first === undefined) return new Uint8Array(0);
        if (typeof first === 'string' && encoding === undefined) break;
        if (typeof first === 'string') return latin1(first, encoding, path);
        return bytesOf(first, path);
      case '_codecs.encode':
        if (typeof first === 'string') return latin1(first, encoding, path);
    }
  }
  throw new SerializationError(path, `expected bytes, found ${describe(value)}`);
}

function latin1(text: string, encoding: PyValue | undefined, path: string): Uint8Array {
  if (encoding !== 'latin1' && encoding !== 'latin-1') {
    throw new SerializationError(path, `bytes encoded as ${describe(encoding ?? null)}, expected latin1`);
  }
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new SerializationError(path, 'latin1 bytes with a character above U+00FF');
    bytes[i] = code;
  }
  return bytes;
}

/**
 * `datetime.datetime(state_bytes[, tzinfo])`: the 10 bytes of Python's pickled state (year high,
 * year low, month with the fold in its top bit, day, hour, minute, second, microseconds in 3 bytes).
 */
function toDate(object: PyObject, path: string, mapper: PythonValueMapper): Date {
  const [state, tzinfo] = object.args.items;
  if (state === undefined || object.args.items.length > 2) throw new SerializationError(path, 'a malformed datetime');
  const bytes = bytesOf(state, path);
  if (bytes.length !== 10) throw new SerializationError(path, 'a datetime in a form this reader does not know');
  const [yearHigh, yearLow, monthAndFold, day, hour, minute, second, us0, us1, us2] = bytes as unknown as number[];
  const year = yearHigh! * 256 + yearLow!;
  const month = monthAndFold! & 0x7f;
  const microseconds = (us0! << 16) | (us1! << 8) | us2!;
  const wallClock = new Date(0);
  wallClock.setUTCFullYear(year, month - 1, day);
  wallClock.setUTCHours(hour!, minute!, second!, Math.floor(microseconds / 1000));
  if (
    year < 1 || month < 1 || month > 12 || wallClock.getUTCDate() !== day || hour! > 23 || minute! > 59 || second! > 59 ||
    microseconds > 999_999
  ) {
    throw new SerializationError(path, 'a malformed datetime');
  }
  const offsetMs = tzinfo === undefined || tzinfo === null ? 0 : utcOffsetOf(tzinfo, path);
  if (microseconds % 1000 !== 0 && !mapper.truncateMicroseconds) {
    const shown = `${wallClock.toISOString().slice(0, 19)}.${String(microseconds).padStart(6, '0')}`;
    throw new SerializationError(
      path,
      `the datetime ${shown} has microseconds and a Date keeps milliseconds: import with truncateMicroseconds: true to drop them`,
    );
  }
  return new Date(wallClock.getTime() - offsetMs);
}

/** The fixed offset of a `datetime.timezone`, in milliseconds; other tzinfo classes are refused. */
function utcOffsetOf(tzinfo: PyValue, path: string): number {
  if (tzinfo instanceof PyObject && tzinfo.callableName === 'datetime.timezone') {
    const [delta] = tzinfo.args.items;
    if (delta instanceof PyObject && delta.callableName === 'datetime.timedelta') {
      const [days = 0n, seconds = 0n, microseconds = 0n] = delta.args.items;
      if (typeof days === 'bigint' && typeof seconds === 'bigint' && typeof microseconds === 'bigint') {
        return Number(days) * 86_400_000 + Number(seconds) * 1000 + Number(microseconds) / 1000;
      }
    }
    throw new SerializationError(path, 'a datetime.timezone in a form this reader does not know');
  }
  let zone = describe(tzinfo);
  if (tzinfo instanceof PyObject && tzinfo.callableName === 'zoneinfo.ZoneInfo._unpickle') {
    zone = `zoneinfo.ZoneInfo(${JSON.stringify(tzinfo.args.items[0])})`;
  }
  throw new SerializationError(
    path,
    `a datetime in the time zone ${zone} cannot be mapped here; convert it with .astimezone(datetime.timezone.utc) in Python first`,
  );
}
