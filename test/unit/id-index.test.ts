/**
 * The compact index of a lazy section (`IdIndex`) and the Map it stands behind (`LazySection`): a
 * lookup finds what a Map would, in the order a Map keeps, with far less memory per entry.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EncodedEntry } from '../../src/snapshot/codec.js';
import { decodeSnapshotLazily, encodeSnapshot, LazySection } from '../../src/snapshot/codec.js';
import { decodeEnvelopeDirect } from '../../src/snapshot/direct-decode.js';
import { parseSections } from '../../src/snapshot/entries.js';
import { hashId, IdIndex } from '../../src/snapshot/id-index.js';
import { UndecodableSnapshot } from '../../src/snapshot/value-tags.js';
import { BOT_PLACEHOLDER } from '../../src/snapshot/values.js';

/** `count` distinct ids whose hashes pick the same slot of an index of `capacity`. */
function collidingIds(capacity: number, count: number): number[] {
  const slots = 2 ** (32 - Math.clz32(Math.max(1, capacity * 2 - 1)));
  const ids: number[] = [];
  for (let id = 1; ids.length < count; id++) if ((hashId(id) & (slots - 1)) === (hashId(1) & (slots - 1))) ids.push(id);
  return ids;
}

describe('IdIndex', () => {
  it('finds each id added, in the order added, and no other', () => {
    const index = new IdIndex(4);
    [10, 20, 30].forEach((id, i) => index.add(id, i * 10, i * 10 + 5));
    expect(index.size).toBe(3);
    expect([10, 20, 30, 40].map((id) => index.indexOf(id))).toEqual([0, 1, 2, -1]);
    expect([0, 1, 2].map((at) => [index.idAt(at), index.startAt(at), index.endAt(at)])).toEqual([
      [10, 0, 5],
      [20, 10, 15],
      [30, 20, 25],
    ]);
  });

  it('tells apart ids that collide in the hash', () => {
    const ids = collidingIds(8, 5);
    expect(new Set(ids.map((id) => hashId(id) & 15)).size).toBe(1);
    const index = new IdIndex(8);
    ids.slice(0, 4).forEach((id, i) => index.add(id, i, i + 1));
    expect(ids.map((id) => index.indexOf(id))).toEqual([0, 1, 2, 3, -1]);
    // An id added again keeps its place and takes the new offsets, as Map#set keeps the first place.
    index.add(ids[1]!, 100, 200);
    // Counted as added until a question merges it into its first place.
    expect(index.addedCount).toBe(5);
    expect([index.size, index.indexOf(ids[1]!), index.startAt(1), index.endAt(1)]).toEqual([4, 1, 100, 200]);
    expect(index.addedCount).toBe(4);
  });

  it('holds negative, fractional and large ids, NaN, and -0 as the 0 a Map makes of it', () => {
    const ids = [-1, -1_000_000_000_123, 1.5, -2.25, 2 ** 53, -(2 ** 31), 2 ** 31, 5_000_000_000, Infinity, NaN];
    const index = new IdIndex(ids.length + 1);
    ids.forEach((id, i) => index.add(id, i, i));
    ids.forEach((id, i) => expect(index.indexOf(id)).toBe(i));
    expect(index.indexOf(1.25)).toBe(-1);
    // Every NaN is the one key, whatever its bits.
    const otherNaN = new Float64Array(new Uint32Array([1, 0x7ff00000]).buffer)[0]!;
    expect(index.indexOf(otherNaN)).toBe(ids.length - 1);
    index.add(-0, 7, 8);
    const zero = index.indexOf(0);
    expect(zero).toBe(ids.length);
    expect(Object.is(index.idAt(zero), 0)).toBe(true);
    index.add(0, 9, 10);
    expect([index.indexOf(-0), index.size]).toEqual([zero, ids.length + 1]);
    expect(index.startAt(zero)).toBe(9);
    expect(hashId(-0)).toBe(hashId(0));
  });

  it('holds sections of no entry and of one', () => {
    const empty = new IdIndex(0);
    expect([empty.size, empty.indexOf(0)]).toEqual([0, -1]);
    expect(() => empty.add(1, 0, 1)).toThrow(RangeError);
    const one = new IdIndex(1);
    one.add(42, 3, 4);
    expect([one.indexOf(42), one.indexOf(43)]).toEqual([0, -1]);
    expect(() => one.add(43, 0, 1)).toThrow(RangeError);
  });

  it('answers as a Map of the same ids would, order included', () => {
    const id = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.double(), fc.constantFrom(-0, 0, 2 ** 53, -(2 ** 53), NaN));
    fc.assert(
      fc.property(fc.array(id, { maxLength: 80 }), fc.array(id, { maxLength: 20 }), (added, looked) => {
        const index = new IdIndex(added.length);
        const model = new Map<number, number>();
        added.forEach((id, i) => {
          index.add(id, i, i + 1);
          model.set(id, i);
        });
        const keys = [...model.keys()];
        expect(index.size).toBe(model.size);
        keys.forEach((key, at) => {
          expect(Object.is(index.idAt(at), key)).toBe(true);
          expect(index.startAt(at)).toBe(model.get(key));
        });
        // A Map's SameValueZero: 0 and -0 alike, NaN itself.
        for (const id of [...looked, ...added]) expect(index.indexOf(id)).toBe(keys.findIndex((key) => key === id || (key !== key && id !== id)));
      }),
    );
  });

  it('answers as the Map would when questions come between adds (ids are hashed on the first question after an add)', () => {
    const id = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(-0, NaN, 5_000_000_000));
    const step = fc.oneof(
      fc.record({ add: id }),
      fc.record({ ask: fc.constantFrom('size', 'indexOf', 'idAt', 'startAt', 'endAt'), id }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const adds = steps.filter((step) => 'add' in step).length;
        const index = new IdIndex(adds);
        const model = new Map<number, [number, number]>();
        steps.forEach((step, i) => {
          if ('add' in step) {
            index.add(step.add, i, i + 1);
            model.set(step.add, [i, i + 1]);
            return;
          }
          const keys = [...model.keys()];
          const at = keys.findIndex((key) => key === step.id || (key !== key && step.id !== step.id));
          if (step.ask === 'size') expect(index.size).toBe(model.size);
          else if (step.ask === 'indexOf') expect(index.indexOf(step.id)).toBe(at);
          else if (at >= 0 && step.ask === 'idAt') expect(Object.is(index.idAt(at), keys[at])).toBe(true);
          else if (at >= 0) expect(index[step.ask](at)).toBe(model.get(keys[at]!)![step.ask === 'startAt' ? 0 : 1]);
        });
        expect(index.size).toBe(model.size);
      }),
    );
  });
});

describe('LazySection', () => {
  const users = new Map<number, unknown>([
    [7, { name: 'Ann' }],
    [-3, { name: 'Bob', seen: new Date(5) }],
    [1.5, [1, 2]],
    [5_000_000_000, { bot: BOT_PLACEHOLDER }],
    [0, 'zero'],
  ]);
  const bytes = encodeSnapshot(new Map<string, unknown>([['user_data', users], ['chat_data', new Map()], ['bot_data', { n: 1 }]]));
  const sectionOf = (read: Map<string, unknown>, name = 'user_data') => read.get(name) as LazySection;

  it('is what a load reads: a Map of the entries in the snapshot order, looked up by id', () => {
    for (const whole of [false, true]) {
      const section = sectionOf(decodeSnapshotLazily(bytes, whole));
      expect(section).toBeInstanceOf(LazySection);
      expect(section.size).toBe(5);
      expect([...section.keys()]).toEqual([...users.keys()]);
      expect([...section.entries()].map(([id, entry]) => [id, (entry as EncodedEntry).value])).toEqual([...users]);
      expect([...section.values()].map((entry) => (entry as EncodedEntry).value)).toEqual([...users.values()]);
      const seen: unknown[] = [];
      section.forEach((entry, id, map) => seen.push([id, (entry as EncodedEntry).value, map === section]));
      expect(seen).toEqual([...users].map(([id, value]) => [id, value, true]));
      expect([section.has(-3), section.has(4), section.has('7'), section.get(4), section.get('7')]).toEqual([true, false, false, undefined, undefined]);
      expect((section.get(-0) as EncodedEntry).value).toBe('zero');
      expect(new Map(section).size).toBe(5);
    }
  });

  it('holds a section of no entry and one of one entry', () => {
    const empty = sectionOf(decodeSnapshotLazily(bytes), 'chat_data');
    expect([empty.size, [...empty], empty.get(1)]).toEqual([0, [], undefined]);
    const one = sectionOf(decodeSnapshotLazily(encodeSnapshot(new Map([['user_data', new Map([[-0, { n: 1 }]])]]))));
    expect([...one.keys()].map((id) => Object.is(id, 0))).toEqual([true]);
    expect((one.get(0) as EncodedEntry).value).toEqual({ n: 1 });
  });

  it('keeps the entry looked up by id, and an iterated one only once its value is kept', () => {
    const section = sectionOf(decodeSnapshotLazily(bytes));
    expect(section.get(7)).toBe(section.get(7));
    expect((section.get(7) as EncodedEntry).value).toBe((section.get(7) as EncodedEntry).value);
    // Iterating makes entries that nothing keeps (a write leaves nothing behind) ...
    const [, passing] = [...section][1]!;
    // (Identity compared by hand: a failed toBe looks through both entries, and so into the section.)
    expect(section.get(-3) === passing).toBe(false);
    const [, read] = [...section][2]!;
    (read as EncodedEntry).freshValue();
    expect(section.get(1.5) === read).toBe(false);
    // ... until one is read: then a lookup gives that entry and its value, decoded once.
    const [, kept] = [...section][3]!;
    const value = (kept as EncodedEntry).read('user_data', 5_000_000_000);
    expect(section.get(5_000_000_000)).toBe(kept);
    expect((section.get(5_000_000_000) as EncodedEntry).value).toBe(value);
    expect([...section][3]![1]).toBe(kept);
  });

  it('hands a whole read values over once, each the caller own, without entries for them', () => {
    const section = sectionOf(decodeSnapshotLazily(bytes, true));
    const own = new Map<number, unknown>();
    const others: number[] = [];
    section.forEachPlain(
      own,
      (entry, id) => {
        others.push(id);
        own.set(id, (entry as EncodedEntry).value);
      },
    );
    expect(others).toEqual([5_000_000_000]); // the bot: only a copy puts it in
    expect([...own]).toEqual([...users]);
    const again = new Map<number, unknown>();
    section.forEachPlain(again, (entry, id) => again.set(id, (entry as EncodedEntry).value));
    expect(again.get(7)).toEqual(own.get(7));
    expect(again.get(7)).not.toBe(own.get(7));
    // A kept entry answers for itself: its stored value is not handed out.
    const stored = (section.get(7) as EncodedEntry).value;
    const kept: unknown[] = [];
    section.forEachPlain(new Map(), (entry, id) => kept.push(id, entry));
    expect(kept.slice(0, 2)).toEqual([7, section.get(7)]);
    expect((kept[1] as EncodedEntry).value).toBe(stored);
  });

  it('hands a whole read over as the Map of its values, once, and only while every entry has its value there', () => {
    const plain = new Map<number, unknown>([...users].filter(([id]) => id !== 5_000_000_000));
    const plainBytes = encodeSnapshot(new Map<string, unknown>([['user_data', plain]]));
    const section = sectionOf(decodeSnapshotLazily(plainBytes, true));
    const taken = section.takeFresh()!;
    expect([...taken]).toEqual([...plain]);
    expect(section.takeFresh()).toBeUndefined();
    // The section stays whole: its entries decode afresh from their bytes, no value shared with the Map taken.
    expect([...section.keys()]).toEqual([...plain.keys()]);
    expect((section.get(7) as EncodedEntry).value).toEqual(taken.get(7));
    expect((section.get(7) as EncodedEntry).value).not.toBe(taken.get(7));
    // Not from a lazy read, nor once an entry was asked for, nor with an entry whose value waits elsewhere (the bot placeholder).
    expect(sectionOf(decodeSnapshotLazily(plainBytes)).takeFresh()).toBeUndefined();
    const asked = sectionOf(decodeSnapshotLazily(plainBytes, true));
    asked.get(-3);
    expect(asked.takeFresh()).toBeUndefined();
    expect(sectionOf(decodeSnapshotLazily(bytes, true)).takeFresh()).toBeUndefined();
  });

  it('hands over no Map when an id came twice: the walk gives each id once, in its first place, with its last value', () => {
    const section = new LazySection(new Uint8Array(8), 3, true);
    section.add(1, 0, 1, 'one');
    section.add(2, 1, 2, 'two');
    section.add(1, 2, 3, 'one again');
    expect(section.takeFresh()).toBeUndefined();
    const walked = new Map<number, unknown>();
    section.forEachPlain(walked, () => expect.unreachable());
    expect([...walked]).toEqual([
      [1, 'one again'],
      [2, 'two'],
    ]);
  });

  it('becomes a plain Map when changed, as a copy changed by the same calls would', () => {
    const changes: Array<(map: Map<unknown, unknown>) => unknown> = [
      (map) => map.set(-3, 'new'),
      (map) => map.delete(7),
      (map) => map.set(99, 'added'),
      (map) => map.set(7, 'back'),
    ];
    const section = sectionOf(decodeSnapshotLazily(bytes));
    const kept = section.get(0);
    const copy = new Map(section);
    for (const change of changes) {
      const [answer, expected] = [change(section), change(copy)];
      expect(answer === section ? 'the map' : answer).toEqual(expected === copy ? 'the map' : expected);
    }
    expect([...section.keys()]).toEqual([...copy.keys()]);
    expect([...section.keys()]).toEqual([-3, 1.5, 5_000_000_000, 0, 99, 7]);
    expect([section.get(-3), section.get(99), section.get(0), section.size]).toEqual(['new', 'added', kept, 6]);
    section.clear();
    expect([section.size, [...section]]).toEqual([0, []]);
  });

  it('is written back as the bytes it was read from', () => {
    for (const whole of [false, true]) expect(encodeSnapshot(decodeSnapshotLazily(bytes, whole))).toEqual(bytes);
  });

  it('is what the cbor-x path reads too, and a plain Map where an id is not a number', () => {
    // bot_data, written last, as an indefinite array: only the cbor-x path reads that.
    const written = encodeSnapshot(new Map<string, unknown>([['user_data', users], ['bot_data', [1]]]));
    expect([...written.subarray(-2)]).toEqual([0x81, 0x01]);
    const indefinite = Uint8Array.of(...written.subarray(0, -2), 0x9f, 0x01, 0xff);
    expect(decodeEnvelopeDirect(indefinite, { names: new Set(['user_data']), fromVersion: 2 }, false, () => ({ add() {} }))).toBeUndefined();
    const read = decodeSnapshotLazily(indefinite);
    expect(read.get('bot_data')).toEqual([1]);
    const section = sectionOf(read);
    expect(section).toBeInstanceOf(LazySection);
    expect([...section].map(([id, entry]) => [id, (entry as EncodedEntry).value])).toEqual([...users]);
    expect(encodeSnapshot(read)).toEqual(written);

    const texts = decodeSnapshotLazily(encodeSnapshot(new Map([['user_data', new Map<unknown, unknown>([[1, 'a'], ['two', 'b'], [3, 'c']])]])));
    const plain = texts.get('user_data') as Map<unknown, EncodedEntry>;
    expect(plain).not.toBeInstanceOf(LazySection);
    expect([...plain].map(([id, entry]) => [id, entry.value])).toEqual([[1, 'a'], ['two', 'b'], [3, 'c']]);
    expect(() => parseSections(texts)).toThrow(new UndecodableSnapshot('user_data has an id that is a string, not a number'));
  });

  it('names the entry whose bytes do not decode', () => {
    const bad = Buffer.from(bytes);
    bad[bad.indexOf(Buffer.from('Bob')) - 1] = 0x7f; // an indefinite text head where the name's head was
    for (const whole of [false, true]) {
      const section = sectionOf(decodeSnapshotLazily(bad, whole));
      expect(section).toBeInstanceOf(LazySection);
      expect(() => (section.get(-3) as EncodedEntry).read('user_data', -3)).toThrow(/user_data\.get\(-3\)/);
      expect((section.get(7) as EncodedEntry).value).toEqual({ name: 'Ann' });
    }
  });
});
