/**
 * The one-pass decoder reads only what cbor-x and the walk read, into the same values: whatever it
 * does not leave to them (NOT_READ) must be exactly what the cbor-x path makes of the same bytes.
 */
import { encode, Tag } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { EncodedEntry} from '../../src/snapshot/codec.js';
import { decodeSnapshot, decodeSnapshotLazily, encodeSnapshot } from '../../src/snapshot/codec.js';
import { decodeEntryDirect, NOT_READ } from '../../src/snapshot/direct-decode.js';
import { decoder, encoder, toWire, UndecodableSnapshot, visitedSetFor, walk } from '../../src/snapshot/value-tags.js';
import { BOT_PLACEHOLDER } from '../../src/snapshot/values.js';

/** What the cbor-x path makes of one item's bytes: its value, or the reason it refuses them. */
function throughCborX(bytes: Uint8Array): { value: unknown } | { refused: string } {
  try {
    return { value: walk(decoder.decode(bytes), ['entry'], visitedSetFor(bytes)) };
  } catch (error) {
    return { refused: (error as Error).message };
  }
}

/** Equal to the last detail: prototypes, -0, key and member order, Set members compared deeply. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Uint8Array) return Buffer.from(a).equals(b as Uint8Array);
  if (a instanceof Map || a instanceof Set) {
    const left = [...a.entries()];
    const right = [...(b as Map<unknown, unknown> | Set<unknown>).entries()];
    return left.length === right.length && left.every(([k, v], i) => same(k, right[i]![0]) && same(v, right[i]![1]));
  }
  const keys = Reflect.ownKeys(a);
  const other = Reflect.ownKeys(b);
  if (keys.length !== other.length || keys.some((k, i) => k !== other[i])) return false;
  return keys.every((k) => same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
}

function expectSameAsCborX(bytes: Uint8Array): void {
  const direct = decodeEntryDirect(bytes, 0, bytes.length, true);
  if (direct === NOT_READ) return;
  const expected = throughCborX(bytes);
  expect(expected).toHaveProperty('value');
  expect(same(direct, (expected as { value: unknown }).value)).toBe(true);
}

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'é', '\uFEFFbom', 'a'.repeat(40)));
const leaf = fc.oneof(
  fc.constantFrom(null, undefined, true, false, -0, NaN, Infinity, 2 ** 53, -(2 ** 31), 2 ** 32, BOT_PLACEHOLDER),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.uint8Array({ maxLength: 6 }),
  fc.date({ noInvalidDate: false }),
);
/** Values of the value model, and now and then a tag this format never writes. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 8, arbitrary: leaf },
    { weight: 3, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 3, arbitrary: fc.dictionary(key, tie('value'), { maxKeys: 4 }) },
    { weight: 3, arbitrary: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)) },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0, 1, 2, 24, 27, 28, 29, 258, 259, 51200, 51201, 51202, 51203, 51204), tie('value')).map(([tag, content]) => new Tag(content, tag)) },
  ),
}));

/** A value as this format writes it, when it can be one (values only reached through tags may not). */
function written(item: unknown): Uint8Array | undefined {
  try {
    return encoder.encode(toWire(item)).slice();
  } catch {
    return undefined;
  }
}

describe('the one-pass decoder', () => {
  it('reads every value this format writes, exactly', () => {
    fc.assert(
      fc.property(value, (item) => {
        if (item instanceof Tag) return;
        const bytes = written(item);
        if (bytes === undefined || throughCborX(bytes) instanceof Error) return;
        expectSameAsCborX(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('reads a value written by cbor-x with any options only as the cbor-x path does, or leaves it to it', () => {
    fc.assert(
      fc.property(value, (item) => {
        for (const bytes of [encode(item), written(item)]) if (bytes !== undefined) expectSameAsCborX(bytes);
      }),
      // Found by this property: a date whose time is itself tagged (-0), which the cbor-x path refuses.
      { numRuns: 500, examples: [[new Tag(new Tag({}, 51202), 51201)]] },
    );
  });

  it('never reads a changed or cut byte sequence as something the cbor-x path would not', () => {
    fc.assert(
      fc.property(value, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (item, at, byte, cut) => {
        const bytes = written(item);
        if (bytes === undefined || bytes.length === 0) return;
        const changed = cut ? bytes.slice(0, at % bytes.length) : bytes.slice();
        if (!cut) changed[at % bytes.length] = byte;
        expectSameAsCborX(changed);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves the bot placeholder to a copy unless the caller keeps the stored value', () => {
    const bytes = written({ bot: BOT_PLACEHOLDER })!;
    expect(decodeEntryDirect(bytes, 0, bytes.length, false)).toBe(NOT_READ);
    expect(decodeEntryDirect(bytes, 0, bytes.length, true)).toEqual({ bot: BOT_PLACEHOLDER });
  });

  it('reads one entry of a larger buffer, and nothing past its end', () => {
    const first = written({ a: 1 })!;
    const second = written([2, 3])!;
    const both = new Uint8Array([...first, ...second]);
    expect(decodeEntryDirect(both, first.length, both.length, false)).toEqual([2, 3]);
    expect(decodeEntryDirect(both, 0, first.length, false)).toEqual({ a: 1 });
    expect(decodeEntryDirect(both, 0, first.length - 1, false)).toBe(NOT_READ);
    expect(decodeEntryDirect(both, 0, both.length, false)).toBe(NOT_READ);
  });
});

describe('texts and ids', () => {
  it('reads texts that share a cache slot, repeat, are empty, long or not ASCII, each exactly', () => {
    // Same length, first and last byte: the same slot of the text cache, told apart by the bytes between.
    const colliding = ['k0z', 'k1z', 'k0z', 'kéz', 'k1z', 'k\u0000z'];
    const texts = [...colliding, '', 'a'.repeat(32), 'a'.repeat(33), 'b'.repeat(32), 'a'.repeat(32), 'ü', 'zoë', '\uFEFFbom', '日本語'];
    const item = { list: texts, [colliding[0]!]: 1, [colliding[1]!]: 2, nested: texts.map((text) => ({ [text]: text })) };
    const bytes = written(item)!;
    for (let round = 0; round < 3; round++) {
      expect(decodeEntryDirect(bytes, 0, bytes.length, false)).toEqual(item);
      expectSameAsCborX(bytes);
    }
  });

  it('does not take a text cached from one object for the bytes at the same place of another', () => {
    // The cache holds where a text stands in the object read: the same place of the next object holds other bytes.
    const first = written({ key: 'k0z' })!;
    const second = written({ key: 'k1z' })!;
    expect(first.length).toBe(second.length);
    for (let round = 0; round < 3; round++) {
      expect(decodeEntryDirect(first, 0, first.length, false)).toEqual({ key: 'k0z' });
      expect(decodeEntryDirect(second, 0, second.length, false)).toEqual({ key: 'k1z' });
    }
  });

  it('reads U+FFFD where it is written and gives up on bytes that are not UTF-8, in short texts and long', () => {
    for (const text of ['\uFFFD', 'a\uFFFDb', `${'x'.repeat(40)}\uFFFD`]) {
      const bytes = written({ text })!;
      expect(decodeEntryDirect(bytes, 0, bytes.length, false)).toEqual({ text });
    }
    for (const bad of [[0xff], [0x61, 0xc3], [0xed, 0xa0, 0x80], [...Buffer.from('y'.repeat(40)), 0xc0, 0xaf]]) {
      // A map of one key "t" to a text of the bad bytes.
      const bytes = new Uint8Array([0xa1, 0x61, 0x74, ...(bad.length < 24 ? [0x60 + bad.length] : [0x78, bad.length]), ...bad]);
      expect(decodeEntryDirect(bytes, 0, bytes.length, false)).toBe(NOT_READ);
    }
  });

  it('reads texts the same where Buffer has no utf8Slice (a runtime other than Node)', async () => {
    const texts = ['', 'key', 'é', 'a'.repeat(32), 'b'.repeat(40), '\uFFFD', 'zoë'];
    const bytes = written({ texts, [texts[1]!]: texts[2] })!;
    const bad = new Uint8Array([0x61, 0xff]);
    vi.resetModules();
    // The library needs Buffer.from (value-tags.ts); this one has nothing else.
    const from = Buffer.from.bind(Buffer);
    vi.stubGlobal('Buffer', { from, prototype: {} });
    try {
      const elsewhere = await import('../../src/snapshot/direct-decode.js');
      expect(elsewhere.decodeEntryDirect(bytes, 0, bytes.length, false)).toEqual({ texts, [texts[1]!]: texts[2] });
      expect(elsewhere.decodeEntryDirect(bad, 0, bad.length, false)).toBe(elsewhere.NOT_READ);
    } finally {
      vi.unstubAllGlobals();
      vi.resetModules();
    }
  });

  it('reads the ids of a lazy section as they were written, of every kind', () => {
    const ids: unknown[] = [0, 23, 24, 255, 65_536, 3_000_000_000, -1, -1_000_000_000_123, 1.5, 'text', 2 ** 53];
    const users = new Map(ids.map((id, i) => [id, { i }]));
    const bytes = encodeSnapshot(new Map<string, unknown>([['user_data', users]]));
    for (const whole of [false, true]) {
      const entries = decodeSnapshotLazily(bytes, whole).get('user_data') as Map<unknown, EncodedEntry>;
      expect([...entries.keys()].every((id, i) => Object.is(id, ids[i]))).toBe(true);
      expect([...entries.values()].map((entry) => entry.value)).toEqual(ids.map((_, i) => ({ i })));
    }
  });
});

describe('a whole read', () => {
  const users = new Map<number, unknown>([
    [1, { name: 'Ann', tags: new Set(['a']), seen: new Date(5) }],
    [2, { bot: BOT_PLACEHOLDER }],
    [3_000_000_000, new Map([[1, -0]])],
  ]);
  const bytes = encodeSnapshot(new Map<string, unknown>([['user_data', users], ['bot_data', { n: 1 }]]));

  it('decodes each entry in the same pass, handed out once as the caller own, the stored value apart', () => {
    const entries = decodeSnapshotLazily(bytes, true).get('user_data') as Map<number, EncodedEntry>;
    const first = entries.get(1)!;
    const handed = first.freshValue();
    expect(handed).toEqual(users.get(1));
    // The stored value is decoded apart: a caller changing what it was handed changes nothing stored.
    (handed as Record<string, unknown>).name = 'changed';
    expect(first.value).toEqual(users.get(1));
    expect(first.freshValue()).not.toBe(first.value);
    // An entry holding the bot is not decoded for a caller (only a copy puts the bot in).
    expect(entries.get(2)!.decodesFresh).toBe(false);
    expect(entries.get(2)!.value).toEqual({ bot: BOT_PLACEHOLDER });
    expect(entries.get(3_000_000_000)!.value).toEqual(new Map([[1, -0]]));
  });

  it('hands an entry over without a copy only when nobody holds its value and it holds no bot', () => {
    const lazy = decodeSnapshotLazily(bytes).get('user_data') as Map<number, EncodedEntry>;
    const first = lazy.get(1)!;
    const handed = first.plainFreshValue();
    expect(handed).toEqual(users.get(1));
    expect(first.plainFreshValue()).not.toBe(handed); // a new decode each time, the caller's own
    expect(lazy.get(2)!.plainFreshValue()).toBe(NOT_READ); // the bot: only a copy puts it in
    expect(first.value).toEqual(users.get(1));
    expect(first.plainFreshValue()).toBe(NOT_READ); // someone holds the stored value now
    // A whole read's value is handed over once, then the stored value stays apart.
    const whole = decodeSnapshotLazily(bytes, true).get('user_data') as Map<number, EncodedEntry>;
    const taken = whole.get(1)!.plainFreshValue();
    expect(taken).toEqual(users.get(1));
    expect(whole.get(1)!.value).not.toBe(taken);
  });

  it('gives what the lazy read gives', () => {
    const whole = decodeSnapshot(bytes);
    const lazy = decodeSnapshotLazily(bytes);
    for (const [id, entry] of lazy.get('user_data') as Map<number, EncodedEntry>) {
      expect(same((whole.get('user_data') as Map<number, unknown>).get(id), entry.value)).toBe(true);
    }
    // A written entry is its bytes as read.
    expect(encodeSnapshot(lazy)).toEqual(encodeSnapshot(decodeSnapshotLazily(bytes, true)));
  });

  it('still names a bad entry, from the cbor-x path', () => {
    const bad = Buffer.from(bytes);
    const at = bad.indexOf(Buffer.from('Ann'));
    bad[at - 1] = 0x7f; // an indefinite text head where the name's head was
    const entries = decodeSnapshotLazily(bad, true).get('user_data') as Map<number, EncodedEntry>;
    expect(() => entries.get(1)!.freshValue()).toThrow(UndecodableSnapshot);
    expect(() => entries.get(1)!.read('user_data', 1)).toThrow(/user_data\.get\(1\)/);
  });
});
