/**
 * The snapshot codec: what goes in comes back exactly, and bytes that are not one of our snapshots are
 * refused with an UndecodableSnapshot, never returned as something else.
 */
import { decode, encode, Tag } from 'cbor-x';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeEntriesFresh,
  decodeSnapshot,
  decodeSnapshotLazily,
  EncodedEntry,
  encodeSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  snapshotVersion,
  UndecodableSnapshot,
  type SnapshotFields,
} from '../../src/snapshot/codec.js';
import { BOT_PLACEHOLDER } from '../../src/snapshot/values.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** Encodes `value` as the only section of a snapshot and decodes it again. */
function roundTrip(value: unknown): unknown {
  const fields = decodeSnapshot(encodeSnapshot(new Map([['value', value]])));
  expect([...fields.keys()]).toEqual(['value']);
  return fields.get('value');
}

/** An object whose keys include `__proto__` as an own, enumerable data property. */
function objectWith(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** The error decodeSnapshot throws for `bytes`; fails the test when it throws anything else or nothing. */
function decodeError(bytes: Uint8Array): UndecodableSnapshot {
  try {
    decodeSnapshot(bytes);
  } catch (error) {
    if (error instanceof UndecodableSnapshot) return error;
    throw error;
  }
  throw new Error('the bytes decoded without an error');
}

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The head of a CBOR data item of `major` type with argument `length`. */
function cborHead(major: number, length: number): string {
  const type = major << 5;
  if (length < 24) return (type | length).toString(16).padStart(2, '0');
  if (length < 0x100) return (type | 24).toString(16) + length.toString(16).padStart(2, '0');
  if (length < 0x10000) return (type | 25).toString(16) + length.toString(16).padStart(4, '0');
  return (type | 26).toString(16) + length.toString(16).padStart(8, '0');
}
const textHex = (text: string): string => cborHead(3, Buffer.byteLength(text)) + Buffer.from(text).toString('hex');
const tagHex = (tag: number): string => cborHead(6, tag);

/** A snapshot envelope built by hand whose one section `x` is the CBOR item `valueHex`. */
function snapshotWithItem(valueHex: string): Uint8Array {
  return fromHex(
    cborHead(5, 3) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '01' + textHex('x') + valueHex,
  );
}

/** A snapshot envelope written by cbor-x's own encoder, holding `x` exactly as cbor-x encodes it. */
function snapshotWithRaw(x: unknown): Uint8Array {
  return encode({ $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION, x });
}

/** Where `actual` and `expected` first differ (type, prototype, key order, -0, NaN, bytes), or undefined. */
function difference(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (typeof actual !== typeof expected) return `${path}: ${typeof actual} instead of ${typeof expected}`;
  if (typeof expected !== 'object' || expected === null || actual === null) {
    return Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} instead of ${String(expected)}`;
  }
  const a = actual as object;
  const e = expected as object;
  if (e === BOT_PLACEHOLDER || a === BOT_PLACEHOLDER) {
    return a === e ? undefined : `${path}: bot placeholder mismatch`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(e)) {
    return `${path}: ${a.constructor?.name ?? 'null prototype'} instead of ${e.constructor?.name ?? 'null prototype'}`;
  }
  if (e instanceof Date) {
    return Object.is((a as Date).getTime(), e.getTime()) ? undefined : `${path}: date ${(a as Date).getTime()} instead of ${e.getTime()}`;
  }
  if (e instanceof Uint8Array) {
    return toHex(a as Uint8Array) === toHex(e) ? undefined : `${path}: bytes ${toHex(a as Uint8Array)} instead of ${toHex(e)}`;
  }
  if (e instanceof Map || e instanceof Set) {
    const actualEntries = [...(a as Map<unknown, unknown> | Set<unknown>).entries()];
    const expectedEntries = [...e.entries()];
    if (actualEntries.length !== expectedEntries.length) return `${path}: size ${actualEntries.length} instead of ${expectedEntries.length}`;
    for (let i = 0; i < expectedEntries.length; i++) {
      const [actualKey, actualValue] = actualEntries[i]!;
      const [expectedKey, expectedValue] = expectedEntries[i]!;
      const found = difference(actualKey, expectedKey, `${path} key #${i}`) ?? difference(actualValue, expectedValue, `${path} entry #${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  // Arrays and plain objects: the same own keys in the same order, each an enumerable data property.
  const actualKeys = Reflect.ownKeys(a);
  const expectedKeys = Reflect.ownKeys(e);
  if (JSON.stringify(actualKeys.map(String)) !== JSON.stringify(expectedKeys.map(String))) {
    return `${path}: keys ${JSON.stringify(actualKeys.map(String))} instead of ${JSON.stringify(expectedKeys.map(String))}`;
  }
  for (const key of expectedKeys) {
    if (key === 'length' && Array.isArray(e)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(a, key)!;
    if (!('value' in descriptor) || !descriptor.enumerable) return `${path}.${String(key)}: not an enumerable data property`;
    const found = difference(descriptor.value, (e as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether `value` is inside the value model: no class instances, no Buffers, no cycles. */
function inValueModel(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) {
    return ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value) || value === null;
  }
  if (value === BOT_PLACEHOLDER) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Array.prototype) return (value as unknown[]).every((item) => inValueModel(item, seen));
  if (proto === Map.prototype) {
    return [...(value as Map<unknown, unknown>)].every(([key, entry]) => inValueModel(key, seen) && inValueModel(entry, seen));
  }
  if (proto === Set.prototype) return [...(value as Set<unknown>)].every((item) => inValueModel(item, seen));
  if (proto === Date.prototype || proto === Uint8Array.prototype) return true;
  if (proto === Object.prototype) return Object.values(value).every((entry) => inValueModel(entry, seen));
  return false;
}

/** Object.prototype as it is before any test ran; compared after each test. */
const prototypeKeys = Reflect.ownKeys(Object.prototype);
function expectPrototypesUntouched(): void {
  expect(Reflect.ownKeys(Object.prototype)).toEqual(prototypeKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}
afterEach(expectPrototypesUntouched);

// ---------------------------------------------------------------------------------------------
// The value model as fast-check arbitraries

const objectKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('__proto__', '__proto_', 'constructor', 'toString', 'hasOwnProperty', '', '0', '-1', '$format'),
);

const { value: storedValue } = fc.letrec<{ value: unknown; leaf: unknown; object: unknown; map: unknown }>((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(), // NaN, ±Infinity, -0, subnormals included
    fc.integer(),
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }),
    fc.constant(BOT_PLACEHOLDER),
  ),
  object: fc.array(fc.tuple(objectKey, tie('value')), { maxLength: 5 }).map(objectWith),
  map: fc
    .array(fc.tuple(fc.oneof(fc.integer(), objectKey, fc.bigInt(), tie('leaf')), tie('value')), { maxLength: 5 })
    .map((entries) => new Map(entries)),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('value'), { maxLength: 5 }),
    tie('object'),
    tie('map'),
    fc.array(tie('value'), { maxLength: 5 }).map((items) => new Set(items)),
  ),
}));

/** Snapshot fields: some of the known sections and a section a later release might add. */
const snapshotFields: fc.Arbitrary<SnapshotFields> = fc
  .uniqueArray(
    fc.tuple(fc.constantFrom('user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations', 'future_section'), storedValue),
    { selector: ([name]) => name, maxLength: 6 },
  )
  .map((entries) => new Map(entries));

// ---------------------------------------------------------------------------------------------

describe('a snapshot round trip', () => {
  it('gives back every section, in the order they were written', () => {
    const fields: SnapshotFields = new Map<string, unknown>([
      ['user_data', new Map([[42, { count: 3 }]])],
      ['chat_data', new Map([[-1001234567890, { note: 'hello' }]])],
      ['bot_data', { stats: 7 }],
      ['callback_data', [[['kb-1', 1_700_000_000, { 'btn-1': { item: 'apple' } }]], { 'query-1': 'kb-1' }]],
      ['conversations', new Map([['survey', new Map([['[1,2]', 'AGE']])]])],
      ['a_section_of_a_later_release', 'kept'],
    ]);
    const decoded = decodeSnapshot(encodeSnapshot(fields));
    expect(decoded).toStrictEqual(fields);
    expect([...decoded.keys()]).toEqual([...fields.keys()]);
  });

  it('gives back an empty snapshot as an empty Map', () => {
    expect(decodeSnapshot(encodeSnapshot(new Map()))).toStrictEqual(new Map());
  });

  it('writes the format marker and version 2 into the CBOR map, so a later release can read it', () => {
    const raw = decode(encodeSnapshot(new Map([['bot_data', {}]]))) as Record<string, unknown>;
    expect(raw.$format).toBe('telegram-s3-persistence');
    expect(raw.$version).toBe(2);
    expect(SNAPSHOT_VERSION).toBe(2);
  });

  it('writes the private tags of format version 1: 51200 bot, 51201 date in ms, 51202 minus zero, 51203 object entries', () => {
    const raw = decode(
      encodeSnapshot(new Map<string, unknown>([['bot', BOT_PLACEHOLDER], ['date', new Date(1234)], ['zero', -0], ['object', objectWith([['__proto__', 1]])]])),
    ) as Record<string, Tag>;
    expect(raw.bot).toBeInstanceOf(Tag);
    expect([raw.bot!.tag, raw.date!.tag, raw.zero!.tag, raw.object!.tag]).toEqual([51200, 51201, 51202, 51203]);
    expect(raw.date!.value).toBe(1234);
    expect(raw.object!.value).toEqual(['__proto__', 1]);
  });
});

describe('plain objects round trip with any string keys', () => {
  it('keeps __proto__ created by JSON.parse as an own property, not as the prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const decoded = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toStrictEqual({ polluted: true });
    expect(decoded).toStrictEqual(value);
  });

  it('keeps __proto__ created by Object.defineProperty, nested inside arrays and Maps', () => {
    const value = { list: [objectWith([['__proto__', [1, 2]]])], byId: new Map([[7, objectWith([['__proto__', null]])]]) };
    const decoded = roundTrip(value) as typeof value;
    expect(decoded).toStrictEqual(value);
    expect(difference(decoded, value)).toBeUndefined();
    expect(Object.getPrototypeOf(decoded.list[0])).toBe(Object.prototype);
  });

  it('keeps __proto__ and __proto_ apart as two keys', () => {
    const value = objectWith([['__proto_', 'one underscore'], ['__proto__', 'two underscores']]);
    const decoded = roundTrip(value) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto_')?.value).toBe('one underscore');
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toBe('two underscores');
  });

  it('keeps keys named constructor, toString, hasOwnProperty and the empty string as data', () => {
    const value = { constructor: 'c', toString: 't', hasOwnProperty: 'h', valueOf: 0, '': 'empty' };
    const decoded = roundTrip(value);
    expect(decoded).toStrictEqual(value);
    expect(difference(decoded, value)).toBeUndefined();
  });

  it('keeps non-ASCII, emoji and control-character keys byte for byte', () => {
    const value = { 'Grüße': 1, 'ключ': 2, '鍵': 3, '😀': 4, '👨‍👩‍👧': 5, 'e\u0301': 6, '\u00e9': 7, 'tab\tnew\nline\u0000': 8 };
    const decoded = roundTrip(value);
    expect(decoded).toStrictEqual(value);
    expect(Object.keys(decoded as object)).toEqual(Object.keys(value));
  });

  it('keeps properties whose value is undefined', () => {
    const decoded = roundTrip({ a: undefined, b: [undefined] }) as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(decoded, 'a')).toBe(true);
    expect(decoded).toStrictEqual({ a: undefined, b: [undefined] });
  });
});

describe('arrays, Maps and Sets round trip', () => {
  it('keeps nested and empty arrays', () => {
    const value = [[], [[]], [1, [2, [3, [4, [5]]]]], [{ a: [] }]];
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('keeps Map keys 1 and "1" apart, and number, bigint, boolean, null and undefined keys as they were', () => {
    const value = new Map<unknown, unknown>([
      [1, 'number'],
      ['1', 'string'],
      [1n, 'bigint'],
      [true, 'boolean'],
      [null, 'null'],
      [undefined, 'undefined'],
      [-1001234567890, 'channel'],
    ]);
    const decoded = roundTrip(value) as Map<unknown, unknown>;
    expect(decoded).toBeInstanceOf(Map);
    expect(decoded.get(1)).toBe('number');
    expect(decoded.get('1')).toBe('string');
    expect(decoded.get(1n)).toBe('bigint');
    expect(decoded.get(-1001234567890)).toBe('channel');
    expect(difference(decoded, value)).toBeUndefined();
  });

  it('keeps a Map whose keys are all strings a Map, in insertion order', () => {
    const value = new Map([['b', 1], ['a', 2], ['__proto__', 3]]);
    const decoded = roundTrip(value);
    expect(decoded).toBeInstanceOf(Map);
    expect([...(decoded as Map<string, number>).keys()]).toEqual(['b', 'a', '__proto__']);
  });

  it('keeps conversation key maps where "[1,2]" and \'["1",2]\' are different conversations', () => {
    const value = new Map([['survey', new Map([['[1,2]', 'AGE'], ['["1",2]', 'NAME'], ['[-1001234567890,5]', 'DONE']])]]);
    const decoded = roundTrip(value) as typeof value;
    expect(decoded).toStrictEqual(value);
    expect(decoded.get('survey')?.get('[1,2]')).toBe('AGE');
    expect(decoded.get('survey')?.get('["1",2]')).toBe('NAME');
  });

  it('keeps Sets of primitives, of Maps and of arrays, and the empty Set', () => {
    const value = [new Set([1, '1', 1n, null, undefined]), new Set([new Map([[1, 2]]), [3]]), new Set()];
    const decoded = roundTrip(value);
    expect(decoded).toStrictEqual(value);
    expect(difference(decoded, value)).toBeUndefined();
  });

  it('keeps Maps with Map, array and Date keys', () => {
    const value = new Map<unknown, unknown>([[new Map([[1, 2]]), 'map'], [[1, 2], 'array'], [new Date(5), 'date']]);
    expect(difference(roundTrip(value), value)).toBeUndefined();
  });
});

describe('scalars round trip exactly', () => {
  it('keeps Dates to the millisecond, from the earliest to the latest representable instant', () => {
    const times = [0, 1, -1, 999, 1_700_000_000_123, -62_135_596_800_001, 4_451_353_997_347_236, 8.64e15, -8.64e15, 8.64e15 - 1];
    for (const time of times) {
      const decoded = roundTrip(new Date(time));
      expect(decoded).toBeInstanceOf(Date);
      expect((decoded as Date).getTime()).toBe(time);
    }
  });

  it('keeps an invalid Date as an invalid Date', () => {
    const decoded = roundTrip(new Date(Number.NaN));
    expect(decoded).toBeInstanceOf(Date);
    expect((decoded as Date).getTime()).toBeNaN();
  });

  it('keeps BigInts, small, negative and beyond 2^64, as BigInts', () => {
    const values = [0n, 1n, -1n, 255n, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n, 2n ** 64n + 5n, -(2n ** 64n) - 1n, 3n ** 100n, -(7n ** 90n)];
    for (const value of values) {
      const decoded = roundTrip(value);
      expect(typeof decoded).toBe('bigint');
      expect(decoded).toBe(value);
    }
  });

  it('keeps numbers, including NaN, ±Infinity, -0, the smallest subnormal and 0.1', () => {
    const values = [Number.NaN, Infinity, -Infinity, -0, 0, 5e-324, -5e-324, 0.1, 1.5, Number.MAX_VALUE, Number.EPSILON];
    for (const value of values) expect(Object.is(roundTrip(value), value)).toBe(true);
  });

  it('keeps -0 inside arrays, objects, Sets and as a Map value', () => {
    const decoded = roundTrip([-0, { zero: -0 }, new Set([1, -0]), new Map([[1, -0]])]) as [number, { zero: number }, Set<number>, Map<number, number>];
    expect(Object.is(decoded[0], -0)).toBe(true);
    expect(Object.is(decoded[1].zero, -0)).toBe(true);
    expect(Object.is(decoded[3].get(1), -0)).toBe(true);
  });

  it('keeps integers above 2^32 and negative Telegram chat ids as numbers, not BigInts', () => {
    const values = [2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 32) - 1, -1001234567890, -(2 ** 53) + 1];
    for (const value of values) {
      const decoded = roundTrip(value);
      expect(typeof decoded).toBe('number');
      expect(decoded).toBe(value);
    }
  });

  it('keeps null, undefined, booleans and strings, including the empty string and emoji', () => {
    const value = [null, undefined, true, false, '', 'ü', '😀', 'a'.repeat(70_000)];
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('gives back a Uint8Array as a plain Uint8Array, not a Buffer', () => {
    const decoded = roundTrip(new Uint8Array([0, 1, 254, 255]));
    expect(decoded).toStrictEqual(new Uint8Array([0, 1, 254, 255]));
    expect(Object.getPrototypeOf(decoded)).toBe(Uint8Array.prototype);
    expect(Buffer.isBuffer(decoded)).toBe(false);
  });

  it('gives back only the bytes of a Uint8Array that views part of a larger buffer', () => {
    const view = new Uint8Array(new Uint8Array([9, 9, 1, 2, 3, 9]).buffer, 2, 3);
    expect(roundTrip(view)).toStrictEqual(new Uint8Array([1, 2, 3]));
  });

  it('gives back the bot placeholder itself', () => {
    const decoded = roundTrip({ owner: BOT_PLACEHOLDER, list: [BOT_PLACEHOLDER] }) as { owner: unknown; list: unknown[] };
    expect(Object.is(decoded.owner, BOT_PLACEHOLDER)).toBe(true);
    expect(Object.is(decoded.list[0], BOT_PLACEHOLDER)).toBe(true);
    expect(Object.is(roundTrip(BOT_PLACEHOLDER), BOT_PLACEHOLDER)).toBe(true);
  });

  it('decoded bytes do not share memory with the snapshot bytes', () => {
    const bytes = encodeSnapshot(new Map([['value', new Uint8Array([1, 2, 3])]]));
    const decoded = decodeSnapshot(bytes).get('value') as Uint8Array;
    bytes.fill(0);
    expect(decoded).toStrictEqual(new Uint8Array([1, 2, 3]));
  });
});

describe('a property: decode(encode(x)) is x for the whole value model', () => {
  it('gives back any stored value exactly (types, prototypes, key order, -0, NaN, bytes)', () => {
    fc.assert(
      fc.property(storedValue, (value) => {
        expect(difference(roundTrip(value), value)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  // Not toStrictEqual here: it compares `a.constructor`, which is data in an object with a `constructor` key.
  it('gives back any snapshot exactly', () => {
    fc.assert(
      fc.property(snapshotFields, (fields) => {
        const decoded = decodeSnapshot(encodeSnapshot(fields));
        expect([...decoded.keys()]).toEqual([...fields.keys()]);
        expect(difference(decoded, fields)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe('where cbor-x defaults would silently change data, the codec does not', () => {
  it('cbor-x renames an own __proto__ key to __proto_', () => {
    const decoded = decode(encode(JSON.parse('{"__proto__": 1}'))) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['__proto_']);
  });
  it('the codec keeps an own __proto__ key', () => {
    expect(Object.keys(roundTrip(JSON.parse('{"__proto__": 1}')) as object)).toEqual(['__proto__']);
  });

  it('cbor-x loses a millisecond of a far-future Date through float seconds', () => {
    const time = 4_451_353_997_347_236;
    expect((decode(encode(new Date(time))) as Date).getTime()).not.toBe(time);
  });
  it('the codec keeps that Date to the millisecond', () => {
    const time = 4_451_353_997_347_236;
    expect((roundTrip(new Date(time)) as Date).getTime()).toBe(time);
  });

  it('cbor-x turns -0 into 0', () => {
    expect(Object.is(decode(encode(-0)), -0)).toBe(false);
    expect(Object.is(decode(encode({ zero: -0 })).zero, 0)).toBe(true);
  });
  it('the codec keeps -0', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('cbor-x hands out a byte string of our snapshot, read as a Buffer (as the SDK store reads it), as a Buffer', () => {
    const raw = decode(Buffer.from(encodeSnapshot(new Map([['bytes', new Uint8Array([1, 2])]])))) as Record<string, unknown>;
    expect(Buffer.isBuffer(raw.bytes)).toBe(true);
    expect(raw.bytes).not.toStrictEqual(new Uint8Array([1, 2]));
  });
  it('cbor-x hands out a tagged Uint8Array as a view over the input bytes', () => {
    const bytes = encode(new Uint8Array([1, 2, 3]));
    const decoded = decode(bytes) as Uint8Array;
    bytes[bytes.length - 1] = 99;
    expect(decoded[2]).toBe(99);
  });
  it('the codec hands out a plain Uint8Array of its own', () => {
    const bytes = encodeSnapshot(new Map([['bytes', new Uint8Array([1, 2])]]));
    const decoded = decodeSnapshot(bytes).get('bytes');
    bytes.fill(0);
    expect(decoded).toStrictEqual(new Uint8Array([1, 2]));
  });
});

describe('format 2 keeps each entry of user_data and chat_data as an encoded item, decoded on first read', () => {
  const users = new Map<number, unknown>([
    [42, { count: 3, seen: new Date(1_700_000_000_123) }],
    [-7, { name: 'Zoë', zero: -0 }],
  ]);

  it('writes user_data and chat_data entries as tag 24 around the entry\'s own CBOR; other sections inline', () => {
    const raw = decode(
      encodeSnapshot(new Map<string, unknown>([['user_data', users], ['chat_data', new Map([[1, 'x']])], ['bot_data', { a: 1 }]])),
    ) as Record<string, unknown>;
    expect(raw.bot_data).toEqual({ a: 1 });
    const stored = raw.user_data as Map<number, Tag>;
    expect([...stored.keys()]).toEqual([42, -7]);
    for (const item of stored.values()) {
      expect(item).toBeInstanceOf(Tag);
      expect(item.tag).toBe(24);
      expect(item.value).toBeInstanceOf(Uint8Array);
    }
    // The entry's bytes are a snapshot value of their own, private tags included.
    expect((decode(stored.get(42)!.value as Uint8Array) as { count: number }).count).toBe(3);
    expect(decode((raw.chat_data as Map<number, Tag>).get(1)!.value as Uint8Array)).toBe('x');
  });

  it('decodes only the envelope on load; an entry is decoded once, when first read', () => {
    const lazy = decodeSnapshotLazily(encodeSnapshot(new Map([['user_data', users]])));
    const entries = lazy.get('user_data') as Map<number, unknown>;
    expect([...entries.values()].every((entry) => entry instanceof EncodedEntry)).toBe(true);
    const first = (entries.get(42) as EncodedEntry).value;
    expect(difference(first, users.get(42))).toBeUndefined();
    expect((entries.get(42) as EncodedEntry).value).toBe(first);
    expect(difference(decodeSnapshot(encodeSnapshot(new Map([['user_data', users]]))), new Map([['user_data', users]]))).toBeUndefined();
  });

  // Tag 259 marks a CBOR map that decodes to a Map (cbor-x writes every Map so).
  it('writes an unchanged entry back as the very bytes it was read as', () => {
    // 0x18 0x05 is 5 in a longer form than cbor-x writes: re-encoding the value would shorten it.
    const entry = fromHex(cborHead(5, 1) + textHex('n') + '1805');
    const bytes = fromHex(
      cborHead(5, 3) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '02' +
        textHex('user_data') + tagHex(259) + cborHead(5, 1) + '01' + tagHex(24) + cborHead(2, entry.length) + toHex(entry),
    );
    const lazy = decodeSnapshotLazily(bytes);
    expect(((lazy.get('user_data') as Map<number, EncodedEntry>).get(1)!.value as { n: number }).n).toBe(5);
    expect(toHex(encodeSnapshot(lazy))).toContain(toHex(entry));
    expect(toHex(encodeSnapshot(decodeSnapshot(bytes)))).not.toContain(toHex(entry));
  });

  it('reuses the bytes it encoded for a value when given a cache, and encodes afresh without one', () => {
    const value = { count: 1 };
    const encodings = new WeakMap<object, Uint8Array>();
    const fields = new Map([['user_data', new Map([[1, value]])]]);
    encodeSnapshot(fields, encodings);
    expect(decode(encodings.get(value)!)).toEqual({ count: 1 });
    value.count = 2; // the persistence never mutates what it stores; a caller may, and gets no cache
    expect((decodeSnapshot(encodeSnapshot(fields)).get('user_data') as Map<number, { count: number }>).get(1)!.count).toBe(2);
  });

  it('reads format 1, where entries are inline, as before', () => {
    const v1 = encode({ $format: SNAPSHOT_FORMAT, $version: 1, user_data: new Map([[42, { count: 3 }]]), bot_data: { a: 1 } });
    for (const fields of [decodeSnapshot(v1), decodeSnapshotLazily(v1)]) {
      expect((fields.get('user_data') as Map<number, unknown>).get(42)).toStrictEqual({ count: 3 });
      expect(fields.get('bot_data')).toStrictEqual({ a: 1 });
    }
    // Rewritten, it is format 2 with the same contents.
    const rewritten = encodeSnapshot(decodeSnapshotLazily(v1));
    expect((decode(rewritten) as { $version: number }).$version).toBe(2);
    expect(decodeSnapshot(rewritten)).toStrictEqual(decodeSnapshot(v1));
  });

  it('a corrupt entry fails when it is read, naming it; the envelope and the other entries still read', () => {
    const regexp = tagHex(27) + cborHead(4, 2) + textHex('RegExp') + textHex('a+');
    const good = fromHex(cborHead(5, 1) + textHex('n') + '01');
    const bad = fromHex(cborHead(5, 1) + textHex('pattern') + regexp);
    const bytes = fromHex(
      cborHead(5, 3) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '02' +
        textHex('user_data') + tagHex(259) + cborHead(5, 2) +
        '07' + tagHex(24) + cborHead(2, bad.length) + toHex(bad) +
        '08' + tagHex(24) + cborHead(2, good.length) + toHex(good),
    );
    const entries = decodeSnapshotLazily(bytes).get('user_data') as Map<number, EncodedEntry>;
    expect(entries.get(8)!.value).toStrictEqual({ n: 1 });
    expect(() => entries.get(7)!.value).toThrow(UndecodableSnapshot);
    expect(() => entries.get(7)!.read('user_data', 7)).toThrow(/unexpected RegExp at user_data\.get\(7\)\.pattern/);
    expect(decodeError(bytes).message).toMatch(/user_data\.get\(7\)\.pattern/);
    // Still unreadable the second time: a failure is not remembered as a value.
    expect(() => entries.get(7)!.value).toThrow(UndecodableSnapshot);
  });

  it('decodes many entries together exactly as each alone, and none of them is kept', () => {
    fc.assert(
      fc.property(fc.array(storedValue, { maxLength: 12 }), (values) => {
        const users = new Map(values.map((value, i) => [i, value] as const));
        const entries = decodeSnapshotLazily(encodeSnapshot(new Map([['user_data', users]]))).get('user_data') as Map<number, EncodedEntry>;
        const together = decodeEntriesFresh('user_data', entries);
        expect(together).toHaveLength(values.length);
        together.forEach((value, i) => expect(difference(value, values[i])).toBeUndefined());
        // Fresh: each call builds new objects, and the entries still decode on their own.
        const again = decodeEntriesFresh('user_data', entries);
        together.forEach((value, i) => {
          if (typeof value === 'object' && value !== null && value !== BOT_PLACEHOLDER) expect(again[i]).not.toBe(value);
        });
        entries.forEach((entry, i) => expect(difference(entry.value, values[i])).toBeUndefined());
      }),
    );
  });

  it('decodes alone, and names, an entry that is not exactly one plain item, whatever stands around it', () => {
    const good = (n: number) => encode({ n });
    const envelope = (items: Uint8Array[]) =>
      fromHex(
        cborHead(5, 3) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '02' +
          textHex('user_data') + tagHex(259) + cborHead(5, items.length) +
          items.map((item, i) => cborHead(0, i) + tagHex(24) + cborHead(2, item.length) + toHex(item)).join(''),
      );
    const entriesOf = (items: Uint8Array[]) => decodeSnapshotLazily(envelope(items)).get('user_data') as Map<number, EncodedEntry>;
    const failure = (items: Uint8Array[]) => {
      try {
        decodeEntriesFresh('user_data', entriesOf(items));
      } catch (error) {
        if (error instanceof UndecodableSnapshot) return error.message;
        throw error;
      }
      throw new Error('decoded without an error');
    };
    // Two items in one entry, and a truncated one after it: joined, they would split elsewhere.
    expect(failure([good(0), fromHex('0101'), fromHex('a1'), good(3)])).toMatch(/user_data\.get\(1\) is not valid CBOR/);
    expect(failure([good(0), fromHex('a1'), fromHex('01'), good(3)])).toMatch(/user_data\.get\(1\) is not valid CBOR/);
    // A shared reference (tag 28/29) is decoded alone and refused, as any tag this format never writes.
    const shared = fromHex(cborHead(4, 2) + tagHex(28) + cborHead(5, 0) + tagHex(29) + '00');
    expect(failure([good(0), shared, good(2)])).toMatch(/user_data\.get\(1\)/);
    const regexp = fromHex(tagHex(27) + cborHead(4, 2) + textHex('RegExp') + textHex('a+'));
    expect(failure([good(0), good(1), regexp])).toMatch(/unexpected RegExp at user_data\.get\(2\)/);
    // A value cbor-x cannot read inside otherwise well-formed heads (a reserved simple value).
    expect(failure([good(0), fromHex('f818'), good(2)])).toMatch(/user_data\.get\(1\)/);
    // Indefinite lengths are read alone, and are fine when they hold a value.
    const indefinite = fromHex('9f0102ff');
    expect(decodeEntriesFresh('user_data', entriesOf([good(0), indefinite, good(2)]))).toEqual([{ n: 0 }, [1, 2], { n: 2 }]);
  });

  it('refuses an entry that is not tag 24 around bytes, an empty one, and one that is not CBOR', () => {
    const envelope = (entryHex: string) =>
      fromHex(
        cborHead(5, 3) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '02' +
          textHex('chat_data') + tagHex(259) + cborHead(5, 1) + '03' + entryHex,
      );
    expect(decodeError(envelope(cborHead(5, 0))).message).toMatch(/chat_data\.get\(3\) is not an encoded entry/);
    expect(decodeError(envelope(tagHex(24) + textHex('x'))).message).toMatch(/chat_data\.get\(3\) is not an encoded entry/);
    expect(decodeError(envelope(tagHex(24) + cborHead(2, 0))).message).toMatch(/chat_data\.get\(3\) is not valid CBOR \(no bytes at all\)/);
    expect(decodeError(envelope(tagHex(24) + cborHead(2, 1) + 'ff')).message).toMatch(/chat_data\.get\(3\) is not valid CBOR/);
    // Two items in one entry: the bytes hold more than one value.
    expect(decodeError(envelope(tagHex(24) + cborHead(2, 2) + '0101')).message).toMatch(/chat_data\.get\(3\) is not valid CBOR/);
  });
});

describe('decodeSnapshot refuses bytes that are not a snapshot of a version it reads', () => {
  const validSnapshot = encodeSnapshot(
    new Map<string, unknown>([
      ['user_data', new Map([[42, { count: 3, seen: new Date(5), tags: new Set(['a']) }]])],
      ['bot_data', objectWith([['__proto__', -0], ['bot', BOT_PLACEHOLDER]])],
    ]),
  );

  it('refuses empty bytes, saying the object is empty', () => {
    expect(decodeError(new Uint8Array()).message).toMatch(/empty/);
  });

  it('refuses every truncation of a valid snapshot as invalid CBOR', () => {
    for (let length = 1; length < validSnapshot.length; length++) {
      expect(decodeError(validSnapshot.subarray(0, length)).message, `first ${length} bytes`).toMatch(/not valid CBOR/);
    }
  });

  it('refuses a valid snapshot followed by more bytes', () => {
    const bytes = new Uint8Array([...validSnapshot, 0x00]);
    expect(decodeError(bytes).message).toMatch(/not valid CBOR/);
  });

  it('refuses random bytes', () => {
    let seed = 20240607;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let run = 0; run < 300; run++) {
      const bytes = Uint8Array.from({ length: 1 + (run % 64) }, random);
      expect(decodeError(bytes)).toBeInstanceOf(UndecodableSnapshot);
    }
  });

  it('refuses JSON text as invalid CBOR', () => {
    const json = new TextEncoder().encode(JSON.stringify({ $format: SNAPSHOT_FORMAT, $version: 1, user_data: {} }));
    expect(decodeError(json).message).toMatch(/not valid CBOR/);
  });

  it('refuses a CBOR value that is not a map, saying there is no $format marker', () => {
    for (const value of [[1, 2], SNAPSHOT_FORMAT, 1, null, new Map<string, unknown>([['$format', SNAPSHOT_FORMAT], ['$version', 1]])]) {
      expect(decodeError(encode(value)).message).toMatch(/not a telegram-s3-persistence snapshot \(no "\$format" marker\)/);
    }
  });

  it('refuses a map without $format, or with another $format', () => {
    expect(decodeError(encode({ $version: 1, user_data: new Map() })).message).toMatch(/no "\$format" marker/);
    expect(decodeError(encode({ $format: 'pickle', $version: 1 })).message).toMatch(/no "\$format" marker/);
  });

  it('refuses a snapshot of a future version, saying to upgrade', () => {
    const message = decodeError(encode({ $format: SNAPSHOT_FORMAT, $version: 3, user_data: new Map() })).message;
    expect(message).toMatch(/version 3/);
    expect(message).toMatch(/reads up to version 2/);
    expect(message).toMatch(/upgrade telegram-s3-persistence/);
  });

  it('refuses a version that is missing, not an integer or below 1', () => {
    for (const version of [1.5, '1', 0, -1, null, undefined, 1n, Number.NaN]) {
      const message = decodeError(encode({ $format: SNAPSHOT_FORMAT, $version: version })).message;
      expect(message, String(version)).toMatch(/invalid format version/);
    }
  });
});

describe('decodeSnapshot refuses values outside the value model and never builds class instances', () => {
  it('refuses tag 27, from which cbor-x builds a RegExp or an Error', () => {
    const regexp = snapshotWithItem(tagHex(27) + cborHead(4, 3) + textHex('RegExp') + textHex('a+') + textHex('g'));
    expect(decodeError(regexp).message).toMatch(/unexpected RegExp at x/);
    const error = snapshotWithItem(tagHex(27) + cborHead(4, 2) + textHex('Error') + textHex('boom'));
    expect(decodeError(error).message).toMatch(/unexpected Error at x/);
  });

  it('refuses every typed-array tag from 65 to 87 (Int8Array, Float64Array, ...)', () => {
    for (let tag = 65; tag <= 87; tag++) {
      const bytes = snapshotWithItem(tagHex(tag) + cborHead(2, 8) + '0102030405060708');
      expect(decodeError(bytes).message, `tag ${tag}`).toMatch(/^(unexpected \w+Array at x|unknown CBOR tag \d+ at x)/);
    }
    expect(decodeError(snapshotWithItem(tagHex(72) + cborHead(2, 2) + 'ff01')).message).toMatch(/unexpected Int8Array at x/);
  });

  it('reads tag 64 (a uint8 typed array) as a plain Uint8Array of its own, the one typed array in the value model', () => {
    const bytes = snapshotWithItem(tagHex(64) + cborHead(2, 3) + '010203');
    const decoded = decodeSnapshot(bytes).get('x');
    bytes.fill(0);
    expect(decoded).toStrictEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses the standard date tags 0 and 1: a snapshot stores dates in its own tag', () => {
    expect(decodeError(snapshotWithItem(tagHex(0) + textHex('2024-01-01T00:00:00Z'))).message).toMatch(/unexpected Date at x/);
    expect(decodeError(snapshotWithItem(tagHex(1) + '1a65920080')).message).toMatch(/unexpected Date at x/);
  });

  it('refuses an unknown tag, naming it and where it is', () => {
    expect(decodeError(snapshotWithRaw({ list: [new Tag('x', 12345)] })).message).toMatch(/unknown CBOR tag 12345 at x\.list\[0\]/);
  });

  it('refuses malformed private tags', () => {
    expect(decodeError(snapshotWithItem(tagHex(51201) + textHex('2024'))).message).toMatch(/malformed date at x/);
    expect(decodeError(snapshotWithItem(tagHex(51203) + cborHead(4, 1) + textHex('a'))).message).toMatch(/malformed object at x/);
    expect(decodeError(snapshotWithItem(tagHex(51203) + cborHead(4, 2) + '01' + '02')).message).toMatch(/non-string object key at x/);
    expect(decodeError(snapshotWithItem(tagHex(51203) + textHex('ab'))).message).toMatch(/malformed object at x/);
  });

  it('refuses a cyclic object and a cyclic array (shared-reference tags 28/29)', () => {
    const object = snapshotWithItem(tagHex(28) + cborHead(5, 1) + textHex('self') + tagHex(29) + '00');
    expect(decodeError(object).message).toMatch(/circular or shared reference at x\.self/);
    const array = snapshotWithItem(tagHex(28) + cborHead(4, 1) + tagHex(29) + '00');
    expect(decodeError(array).message).toMatch(/circular or shared reference at x\[0\]/);
  });

  it('refuses an object shared by two places (tags 28/29)', () => {
    const shared = snapshotWithItem(cborHead(4, 2) + tagHex(28) + cborHead(5, 1) + textHex('a') + '01' + tagHex(29) + '00');
    expect(decodeError(shared).message).toMatch(/shared reference at x\[1\]/);
  });

  it('refuses a shared-reference bomb at once instead of walking its 2^24 paths', () => {
    // Level k is an array of two references to level k-1: n levels reach 2^n leaves through a few bytes each.
    // 24 levels keep a regression to a slow failure (seconds) rather than a hang; 60 would take years.
    const levels = 24;
    let items = tagHex(28) + cborHead(4, 0);
    for (let k = 1; k < levels; k++) items += tagHex(28) + cborHead(4, 2) + tagHex(29) + cborHead(0, k - 1) + tagHex(29) + cborHead(0, k - 1);
    const bomb = snapshotWithItem(cborHead(4, levels) + items);
    expect(bomb.length).toBeLessThan(1000);
    const started = performance.now();
    expect(decodeError(bomb).message).toMatch(/shared reference/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses arrays nested 100000 deep as an UndecodableSnapshot, not a stack overflow', () => {
    const depth = 100_000;
    expect(decodeError(snapshotWithItem('81'.repeat(depth) + '80'))).toBeInstanceOf(UndecodableSnapshot);
  });

  it('either reads or refuses deep nesting at any depth, and never throws anything but UndecodableSnapshot', () => {
    // Fine steps: where cbor-x still reads the nesting but a deeper walk overflows is a narrow band of depths.
    const depths = [...Array.from({ length: 320 }, (_, i) => 25 * (i + 1)), 12_000, 20_000, 50_000];
    for (const depth of depths) {
      for (const [open, leaf] of [['81', '80'], ['a1' + textHex('k'), 'a0']] as const) {
        let decoded: SnapshotFields | undefined;
        try {
          decoded = decodeSnapshot(snapshotWithItem(open.repeat(depth) + leaf));
        } catch (error) {
          expect(error, `depth ${depth}`).toBeInstanceOf(UndecodableSnapshot);
          expect((error as Error).message).toMatch(/nested too deeply|not valid CBOR/);
        }
        if (decoded !== undefined) {
          let value = decoded.get('x');
          for (let level = 0; level < depth; level++) value = open === '81' ? (value as unknown[])[0] : (value as { k: unknown }).k;
          expect(value, `depth ${depth}`).toStrictEqual(open === '81' ? [] : {});
        }
      }
    }
  });

  it('never lets a __proto__ key of a raw CBOR map reach Object.prototype', () => {
    const bytes = snapshotWithItem(cborHead(5, 1) + textHex('__proto__') + cborHead(5, 1) + textHex('polluted') + 'f5');
    const decoded = decodeSnapshot(bytes).get('x') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded.polluted).toBeUndefined();
  });

  it('never lets a __proto__ key of the private object tag reach Object.prototype or the object prototype', () => {
    const bytes = snapshotWithItem(tagHex(51203) + cborHead(4, 2) + textHex('__proto__') + cborHead(5, 1) + textHex('polluted') + 'f5');
    const decoded = decodeSnapshot(bytes).get('x') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded.polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toStrictEqual({ polluted: true });
  });

  it('never lets a __proto__ key of the envelope or a constructor.prototype path reach Object.prototype', () => {
    const envelope = fromHex(
      cborHead(5, 4) + textHex('$format') + textHex(SNAPSHOT_FORMAT) + textHex('$version') + '01' +
        textHex('__proto__') + cborHead(5, 1) + textHex('polluted') + 'f5' +
        textHex('constructor') + cborHead(5, 1) + textHex('prototype') + cborHead(5, 1) + textHex('polluted') + 'f5',
    );
    const fields = decodeSnapshot(envelope);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(fields.get('constructor')).toStrictEqual({ prototype: { polluted: true } });
  });
});

describe('decodeSnapshot names where it failed, whatever the keys on the way', () => {
  it('names a value under a Map key that has no string form or is an invalid Date', () => {
    const underDate = encode({ $format: SNAPSHOT_FORMAT, $version: 1, x: new Map([[new Date(Number.NaN), /a/]]) });
    expect(decodeError(underDate).message).toMatch(/unexpected RegExp at x\.get\(Invalid Date\)/);
    const underObject = encode({ $format: SNAPSHOT_FORMAT, $version: 1, x: new Map([[{ k: 1 }, /a/]]) });
    expect(decodeError(underObject).message).toMatch(/unexpected RegExp at x\.get\(\[object Object\]\)/);
  });
});

describe('a fuzz of decodeSnapshot', () => {
  const reference = new Map<string, unknown>([['user_data', new Map([[1, { n: -0, d: new Date(3), b: new Uint8Array([7]) }]])]]);
  const referenceBytes = encodeSnapshot(reference);

  /** Decodes `bytes`: a Map in the value model that re-encodes to itself, or an UndecodableSnapshot. */
  function expectMapOrUndecodable(bytes: Uint8Array): void {
    let fields: SnapshotFields;
    try {
      fields = decodeSnapshot(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(UndecodableSnapshot);
      return;
    } finally {
      expectPrototypesUntouched();
      // Whatever the garbage did to cbor-x's shared state, a good snapshot still reads the same.
      expect(decodeSnapshot(referenceBytes)).toStrictEqual(reference);
    }
    expect(fields).toBeInstanceOf(Map);
    for (const [name, value] of fields) expect(inValueModel(value), name).toBe(true);
    expect(difference(decodeSnapshot(encodeSnapshot(fields)), fields)).toBeUndefined();
  }

  it('arbitrary bytes only ever give a Map or an UndecodableSnapshot', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), expectMapOrUndecodable), { numRuns: 2000 });
  });

  it('arbitrary bytes behind a valid envelope head only ever give a Map or an UndecodableSnapshot', () => {
    const head = toHex(snapshotWithItem('')); // the envelope up to the value of `x`
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (tail) => expectMapOrUndecodable(fromHex(head + toHex(tail)))),
      { numRuns: 2000 },
    );
  });

  type Mutation =
    | { kind: 'flip'; at: number; bit: number }
    | { kind: 'set'; at: number; byte: number }
    | { kind: 'insert'; at: number; byte: number }
    | { kind: 'delete'; at: number }
    | { kind: 'truncate'; at: number };
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  function mutate(bytes: Uint8Array, change: Mutation): Uint8Array {
    const copy = [...bytes];
    const at = change.at % Math.max(copy.length, 1);
    switch (change.kind) {
      case 'flip':
        copy[at] = (copy[at] ?? 0) ^ (1 << change.bit);
        break;
      case 'set':
        copy[at] = change.byte;
        break;
      case 'insert':
        copy.splice(at, 0, change.byte);
        break;
      case 'delete':
        copy.splice(at, 1);
        break;
      case 'truncate':
        copy.length = at;
        break;
    }
    return Uint8Array.from(copy);
  }

  it('bit flips, byte changes and truncations of valid snapshots only ever give a Map or an UndecodableSnapshot', () => {
    fc.assert(
      fc.property(snapshotFields, fc.array(mutation, { minLength: 1, maxLength: 4 }), (fields, changes) => {
        expectMapOrUndecodable(changes.reduce(mutate, encodeSnapshot(fields)));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('the format version an object declares', () => {
  it('is the version this release writes for an object it encoded', () => {
    expect(snapshotVersion(encodeSnapshot(new Map([['bot_data', { a: 1 }]])))).toBe(SNAPSHOT_VERSION);
  });

  it('is read from an object of a newer version, which decodeSnapshot refuses', () => {
    const newer = encode({ $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION + 1 });
    expect(snapshotVersion(newer)).toBe(SNAPSHOT_VERSION + 1);
    expect(() => decodeSnapshot(newer)).toThrow(UndecodableSnapshot);
  });

  it('is null for empty bytes, bytes that are not CBOR, a CBOR value that is not a map, and a map without a numeric $version', () => {
    expect(snapshotVersion(new Uint8Array())).toBeNull();
    expect(snapshotVersion(Uint8Array.of(0xff, 0x00))).toBeNull();
    expect(snapshotVersion(encode([1, 2]))).toBeNull();
    expect(snapshotVersion(encode({ $format: SNAPSHOT_FORMAT, $version: '2' }))).toBeNull();
  });
});
