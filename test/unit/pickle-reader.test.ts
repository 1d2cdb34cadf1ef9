// The pickle reader and the mapping of Python values: every opcode it supports, every malformed
// input refused with a PickleDecodeError at its byte, and values without a stored counterpart
// refused by path. Pickles are assembled by hand here; python-telegram-bot's own files are in
// pickle-ptb.test.ts.
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError } from '../../src/errors.js';
import { PickleDecodeError } from '../../src/import/errors.js';
import {
  PyByteArray,
  PyDict,
  PyGlobal,
  PyList,
  type PyObject,
  PyPersistentId,
  PySet,
  PyTuple,
  PyUndecodableStr,
  type PyValue,
} from '../../src/import/python-objects.js';
import { readPickle, SUPPORTED_OPCODES } from '../../src/import/pickle.js';
import { readPtbPickle } from '../../src/import/ptb-pickle.js';
import { BOT_PLACEHOLDER } from '../../src/snapshot/values.js';

// ---------------------------------------------------------------------------------------------
// A small assembler: opcodes by name, operands as Python writes them.

type Part = number | readonly number[] | Uint8Array;
const flat = (parts: Part[]): number[] => parts.flatMap((part) => (typeof part === 'number' ? [part] : [...part]));
const le = (value: number, size: number): number[] => [...Array(size).keys()].map((i) => Number((BigInt(value) >> BigInt(8 * i)) & 0xffn));

const MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, NONE = 0x4e, NEWTRUE = 0x88, NEWFALSE = 0x89;
const EMPTY_LIST = 0x5d, APPEND = 0x61, APPENDS = 0x65, EMPTY_TUPLE = 0x29, TUPLE = 0x74, TUPLE1 = 0x85, TUPLE2 = 0x86;
const TUPLE3 = 0x87, EMPTY_DICT = 0x7d, SETITEM = 0x73, SETITEMS = 0x75, EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91;
const STACK_GLOBAL = 0x93, REDUCE = 0x52, NEWOBJ = 0x81, NEWOBJ_EX = 0x92, BUILD = 0x62, BINPERSID = 0x51, MEMOIZE = 0x94;

const proto = (n = 5) => [0x80, n];
const frame = (n: number) => [0x95, ...le(n, 8)];
const int1 = (n: number) => [0x4b, n];
const int2 = (n: number) => [0x4d, ...le(n, 2)];
const int4 = (n: number) => [0x4a, ...le(n >>> 0, 4)];
const long1 = (bytes: number[]) => [0x8a, bytes.length, ...bytes];
const long4 = (bytes: number[]) => [0x8b, ...le(bytes.length, 4), ...bytes];
const float = (n: number) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, n, false);
  return [0x47, ...new Uint8Array(view.buffer)];
};
const utf8 = (text: string) => [...Buffer.from(text)];
const str = (text: string) => [0x8c, utf8(text).length, ...utf8(text)];
const binunicode = (text: string) => [0x58, ...le(utf8(text).length, 4), ...utf8(text)];
const binunicode8 = (text: string) => [0x8d, ...le(utf8(text).length, 8), ...utf8(text)];
const shortBytes = (bytes: number[]) => [0x43, bytes.length, ...bytes];
const binBytes = (bytes: number[]) => [0x42, ...le(bytes.length, 4), ...bytes];
const binBytes8 = (bytes: number[]) => [0x8e, ...le(bytes.length, 8), ...bytes];
const bytearray8 = (bytes: number[]) => [0x96, ...le(bytes.length, 8), ...bytes];
const binput = (i: number) => [0x71, i];
const longBinput = (i: number) => [0x72, ...le(i, 4)];
const binget = (i: number) => [0x68, i];
const longBinget = (i: number) => [0x6a, ...le(i, 4)];
const global = (module: string, name: string) => [0x63, ...utf8(`${module}\n${name}\n`)];
const stackGlobal = (module: string, name: string) => [...str(module), ...str(name), STACK_GLOBAL];

/** A protocol 5 pickle of the opcodes given. */
const pickle = (...parts: Part[]): Uint8Array => Uint8Array.from(flat([proto(5), ...parts, STOP]));
/** A protocol 5 pickle of `dict(entries)`, each entry a key and a value already assembled. */
const dict = (...entries: Array<[Part, Part]>): number[] => flat([EMPTY_DICT, MARK, ...entries.flatMap(([k, v]) => [k, v]), SETITEMS]);
/** `datetime.datetime(state[, tz])` as Python pickles it. */
const datetime = (state: number[], tz?: Part) =>
  flat([stackGlobal('datetime', 'datetime'), shortBytes(state), ...(tz === undefined ? [TUPLE1] : [tz, TUPLE2]), REDUCE]);
const timezone = (days: number, seconds: number, micros = 0) =>
  flat([stackGlobal('datetime', 'timezone'), stackGlobal('datetime', 'timedelta'), int4(days), int4(seconds), int4(micros), TUPLE3, REDUCE, TUPLE1, REDUCE]);

const read = (...parts: Part[]): PyValue => readPickle(pickle(...parts));

function decodeError(bytes: Uint8Array): PickleDecodeError {
  try {
    readPickle(bytes, 'test.pickle');
  } catch (error) {
    if (error instanceof PickleDecodeError) return error;
    throw error;
  }
  throw new Error('the bytes were read without an error');
}

/** Maps `value` (assembled) as bot_data, as the import does. */
const asBotData = (...parts: Part[]): unknown => readPtbPickle(pickle(...parts), { section: 'bot_data' }).botData;

function refusal(run: () => unknown): SerializationError {
  try {
    run();
  } catch (error) {
    if (error instanceof SerializationError) return error;
    throw error;
  }
  throw new Error('mapped without a refusal');
}

// ---------------------------------------------------------------------------------------------

describe('readPickle: the opcodes of protocols 2 to 5', () => {
  it('reads None, True and False', () => {
    expect(read(MARK, NONE, NEWTRUE, NEWFALSE, TUPLE)).toEqual(new PyTuple([null, true, false]));
  });

  it('reads ints as bigints, from every int opcode', () => {
    expect(read(int1(255))).toBe(255n);
    expect(read(int2(65535))).toBe(65535n);
    expect(read(int4(-2))).toBe(-2n);
    expect(read(long1([]))).toBe(0n);
    expect(read(long1([0xff]))).toBe(-1n);
    expect(read(long1([0x00, 0x80]))).toBe(-32768n);
    expect(read(long1([0x00, 0x80, 0x00]))).toBe(32768n);
    expect(read(long1([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]))).toBe(-(2n ** 63n));
    expect(read(long4([...Array(16).fill(0), 1]))).toBe(2n ** 128n);
  });

  it('reads floats (big-endian doubles), NaN and -0 included', () => {
    expect(read(float(1.5))).toBe(1.5);
    expect(Object.is(read(float(-0)), -0)).toBe(true);
    expect(read(float(NaN))).toBeNaN();
  });

  it('reads strs of every length prefix as UTF-8', () => {
    expect(read(str('héllo 👋'))).toBe('héllo 👋');
    expect(read(binunicode('x'.repeat(300)))).toBe('x'.repeat(300));
    expect(read(binunicode8('long'))).toBe('long');
  });

  it('keeps a str that is not valid UTF-8 (a lone surrogate) for the mapping to refuse by path', () => {
    const loneSurrogate = [0xed, 0xa0, 0x80]; // U+D800 with surrogatepass
    expect(read([0x8c, 3, ...loneSurrogate])).toEqual(new PyUndecodableStr(Uint8Array.from(loneSurrogate)));
  });

  it('reads bytes and bytearrays', () => {
    expect(read(shortBytes([1, 2]))).toEqual(Uint8Array.from([1, 2]));
    expect(read(binBytes([3]))).toEqual(Uint8Array.from([3]));
    expect(read(binBytes8([4]))).toEqual(Uint8Array.from([4]));
    expect(read(bytearray8([5]))).toEqual(new PyByteArray(Uint8Array.from([5])));
  });

  it('reads tuples of every size', () => {
    expect(read(EMPTY_TUPLE)).toEqual(new PyTuple([]));
    expect(read(int1(1), TUPLE1)).toEqual(new PyTuple([1n]));
    expect(read(int1(1), int1(2), TUPLE2)).toEqual(new PyTuple([1n, 2n]));
    expect(read(int1(1), int1(2), int1(3), TUPLE3)).toEqual(new PyTuple([1n, 2n, 3n]));
    expect(read(MARK, int1(1), int1(2), int1(3), int1(4), TUPLE)).toEqual(new PyTuple([1n, 2n, 3n, 4n]));
  });

  it('reads lists built by APPEND and APPENDS', () => {
    expect(read(EMPTY_LIST, int1(1), APPEND, MARK, int1(2), int1(3), APPENDS)).toEqual(new PyList([1n, 2n, 3n]));
  });

  it('reads dicts as entries, keys of any type, in order', () => {
    const value = read(EMPTY_DICT, str('a'), int1(1), SETITEM, MARK, int1(2), str('b'), NONE, NONE, SETITEMS) as PyDict;
    expect(value.entries).toEqual([
      ['a', 1n],
      [2n, 'b'],
      [null, null],
    ]);
  });

  it('reads sets and frozensets', () => {
    expect(read(EMPTY_SET, MARK, int1(1), int1(2), ADDITEMS)).toEqual(new PySet(false, [1n, 2n]));
    expect(read(MARK, str('x'), FROZENSET)).toEqual(new PySet(true, ['x']));
  });

  it('shares memoized objects, through MEMOIZE, BINPUT and LONG_BINPUT', () => {
    const value = read(EMPTY_LIST, MEMOIZE, EMPTY_LIST, binput(7), EMPTY_LIST, longBinput(70000), TUPLE3, POP, binget(0), binget(7), longBinget(70000), TUPLE3) as PyTuple;
    expect(value.items).toHaveLength(3);
    const again = read(EMPTY_LIST, MEMOIZE, binget(0), TUPLE2) as PyTuple;
    expect(again.items[0]).toBe(again.items[1]);
  });

  it('reads globals (GLOBAL, STACK_GLOBAL) and calls (REDUCE, NEWOBJ, NEWOBJ_EX) without running anything', () => {
    expect(read(global('mymodule', 'Foo'))).toEqual(new PyGlobal('mymodule', 'Foo'));
    const reduced = read(stackGlobal('os', 'system'), str('rm -rf /'), TUPLE1, REDUCE) as PyObject;
    expect(reduced.callableName).toBe('os.system');
    expect(reduced.args.items).toEqual(['rm -rf /']);
    const created = read(stackGlobal('mymodule', 'Foo'), EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, str('a'), int1(1), SETITEM, BUILD) as PyObject;
    expect(created.callableName).toBe('mymodule.Foo');
    expect((created.state as PyDict).entries).toEqual([['a', 1n]]);
    const withKeywords = read(stackGlobal('mymodule', 'Foo'), EMPTY_TUPLE, EMPTY_DICT, NEWOBJ_EX) as PyObject;
    expect(withKeywords.kwargs).toEqual(new PyDict());
  });

  it('maps Python 2 module names back in protocol 2, as pickle.load does', () => {
    const bytes = Uint8Array.from(flat([proto(2), global('__builtin__', 'set'), STOP]));
    expect(readPickle(bytes)).toEqual(new PyGlobal('builtins', 'set'));
  });

  it('names a method pickled as getattr(cls, name) by its dotted name', () => {
    const method = flat([stackGlobal('builtins', 'getattr'), stackGlobal('zoneinfo', 'ZoneInfo'), str('_unpickle'), TUPLE2, REDUCE]);
    const value = read(method, str('Europe/Berlin'), TUPLE1, REDUCE) as PyObject;
    expect(value.callableName).toBe('zoneinfo.ZoneInfo._unpickle');
  });

  it('reads persistent ids (BINPERSID), as PTB writes for the bot', () => {
    expect(read(str('bot'), BINPERSID)).toEqual(new PyPersistentId('bot'));
  });

  it('runs POP, POP_MARK, DUP and skips FRAME headers', () => {
    expect(read(frame(6), int1(1), int1(2), POP)).toBe(1n);
    expect(read(int1(9), MARK, int1(1), int1(2), POP_MARK)).toBe(9n);
    expect(read(int1(9), int1(8), MARK, POP, POP)).toBe(9n); // POP on an empty mark pops the mark, as CPython
    expect(read(EMPTY_LIST, DUP, TUPLE2)).toEqual(new PyTuple([new PyList(), new PyList()]));
  });

  it('ignores bytes after STOP, as pickle.load does', () => {
    expect(readPickle(Uint8Array.from([...pickle(int1(1)), 0xff, 0xff]))).toBe(1n);
  });

  it('lists what it supports', () => {
    expect(SUPPORTED_OPCODES).toHaveLength(49);
  });
});

describe('readPickle: malformed input', () => {
  const cases: Array<[string, number[], RegExp, number]> = [
    ['an empty file', [], /the file is empty/, 0],
    ['text', utf8('{"a": 1}'), /does not start with a PROTO opcode/, 0],
    ['a newer protocol', [0x80, 6, STOP], /protocol 6 is newer than 5/, 0],
    ['protocol 1', [0x80, 1, STOP], /protocol 1: this reader reads protocols 2 to 5/, 0],
    ['a truncated str', [...proto(), 0x8c, 10, 0x61], /ends inside SHORT_BINUNICODE: truncated/, 2],
    ['a truncated int', [...proto(), 0x4a, 1, 2], /ends inside BININT: truncated/, 2],
    ['a huge length', [...proto(), 0x8e, ...le(2 ** 40, 8)], /ends inside BINBYTES8: truncated/, 2],
    ['a negative LONG4 length', [...proto(), 0x8b, 0xff, 0xff, 0xff, 0xff], /negative length/, 2],
    ['no STOP', [...proto(), ...int1(1)], /ends without a STOP opcode/, 4],
    ['an unknown opcode', [...proto(), 0xff], /unknown opcode 0xff/, 2],
    ['a protocol 0 opcode', [...proto(), 0x53, ...utf8("'a'\n"), STOP], /STRING belongs to pickle protocols 0 and 1/, 2],
    ['an extension code', [...proto(), 0x82, 1, STOP], /EXT1 is not supported: the copyreg extension registry/, 2],
    ['an out-of-band buffer', [...proto(), 0x97, STOP], /NEXT_BUFFER is not supported: out-of-band buffers/, 2],
    ['APPEND on an empty stack', [...proto(), APPEND, STOP], /APPEND needs 1 values|APPEND on an empty stack/, 2],
    ['SETITEM onto a list', [...proto(), EMPTY_LIST, ...int1(1), ...int1(2), SETITEM, STOP], /SETITEM onto a list/, 7],
    ['APPENDS without a MARK', [...proto(), EMPTY_LIST, APPENDS, STOP], /APPENDS without a MARK/, 3],
    ['an odd SETITEMS', [...proto(), EMPTY_DICT, MARK, ...int1(1), SETITEMS, STOP], /SETITEMS with an odd number/, 6],
    ['ADDITEMS onto a frozenset', [...proto(), MARK, FROZENSET, MARK, ADDITEMS, STOP], /ADDITEMS onto a frozenset/, 5],
    ['a memo entry never stored', [...proto(), ...binget(3), STOP], /memo entry 3 was never stored/, 2],
    ['REDUCE without a tuple', [...proto(), ...stackGlobal('a', 'b'), ...int1(1), REDUCE, STOP], /REDUCE with arguments that are an int, not a tuple/, 11],
    ['BUILD onto a dict', [...proto(), EMPTY_DICT, EMPTY_DICT, BUILD, STOP], /BUILD onto a dict/, 4],
    ['STACK_GLOBAL of ints', [...proto(), ...int1(1), ...int1(2), STACK_GLOBAL, STOP], /STACK_GLOBAL needs two strs/, 6],
    ['a non-ASCII GLOBAL', [...proto(), 0x63, ...utf8('módule\nx\n'), STOP], /GLOBAL with a name that is not ASCII/, 2],
    ['two values at STOP', [...proto(), NONE, NONE, STOP], /STOP with 2 values on the stack instead of 1/, 4],
    ['STOP inside a MARK', [...proto(), NONE, MARK, STOP], /STOP inside an unclosed MARK/, 4],
    ['STOP on nothing', [...proto(), STOP], /STOP with 0 values/, 2],
  ];

  it.each(cases)('refuses %s, naming the byte', (_, bytes, message, offset) => {
    const error = decodeError(Uint8Array.from(bytes));
    expect(error.message).toMatch(message);
    expect(error.message).toContain('test.pickle');
    expect(error.offset).toBe(offset);
    expect(error.code).toBe('SNAPSHOT_UNREADABLE');
  });

  it('never fails with anything but its own errors on corrupted PTB files', async () => {
    const original = await readFile(new URL('../fixtures/ptb/single_file.pickle', import.meta.url));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(original.length),
        (changes, cut) => {
          const bytes = Uint8Array.from(original.subarray(0, Math.max(cut, original.length / 2)));
          for (const [at, byte] of changes) if (at < bytes.length) bytes[at] = byte;
          try {
            readPtbPickle(bytes);
          } catch (error) {
            if (!(error instanceof PickleDecodeError) && !(error instanceof SerializationError)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('mapping Python values to stored values', () => {
  it('maps ints to numbers while safe, to bigints beyond', () => {
    const max = 2 ** 53 - 1;
    expect(asBotData(MARK, long1(le(max, 7)), long1(le(max + 1, 7)), long1(le(-(2 ** 53), 7)), TUPLE)).toEqual([
      max,
      2n ** 53n,
      -(2n ** 53n),
    ]);
  });

  it('maps dicts with str keys to plain objects, __proto__ as an own key, without touching prototypes', () => {
    const value = asBotData(dict([str('__proto__'), dict([str('polluted'), NEWTRUE])], [str('constructor'), str('c')])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('maps dicts with other keys to Maps', () => {
    expect(asBotData(dict([int1(1), str('one')], [str('a'), NONE], [NONE, float(2.5)]))).toEqual(
      new Map<unknown, unknown>([
        [1, 'one'],
        ['a', null],
        [null, 2.5],
      ]),
    );
  });

  it('refuses a dict key or set item that is not compared by value, by path', () => {
    const tupleKey = refusal(() => asBotData(dict([str('grid'), dict([flat([int1(0), int1(0), TUPLE2]), str('x')])])));
    expect(tupleKey.path).toBe('bot_data.grid dict key');
    expect(tupleKey.message).toMatch(/a tuple cannot be stored/);
    const listItem = refusal(() => asBotData(EMPTY_SET, MARK, EMPTY_LIST, ADDITEMS));
    expect(listItem.path).toBe('bot_data set item');
  });

  it('maps sets, frozensets, bytes and bytearrays', () => {
    expect(asBotData(MARK, EMPTY_SET, MARK, int1(1), ADDITEMS, MARK, str('x'), FROZENSET, shortBytes([1]), bytearray8([2]), TUPLE)).toEqual([
      new Set([1]),
      new Set(['x']),
      Uint8Array.from([1]),
      Uint8Array.from([2]),
    ]);
  });

  it('maps the calls protocol 2 writes for sets, bytes and bytearrays', () => {
    const latin1 = (text: string) => flat([stackGlobal('_codecs', 'encode'), str(text), str('latin1'), TUPLE2, REDUCE]);
    expect(
      asBotData(
        MARK,
        stackGlobal('builtins', 'set'), EMPTY_LIST, int1(1), APPEND, TUPLE1, REDUCE,
        latin1('\u00ff\u0001'),
        stackGlobal('builtins', 'bytes'), EMPTY_TUPLE, REDUCE,
        stackGlobal('builtins', 'bytearray'), str('ab'), str('latin-1'), TUPLE2, REDUCE,
        TUPLE,
      ),
    ).toEqual([new Set([1]), Uint8Array.from([0xff, 1]), new Uint8Array(0), Uint8Array.from([0x61, 0x62])]);
  });

  it('maps OrderedDict and defaultdict to their entries', () => {
    const ordered = flat([stackGlobal('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, str('z'), int1(1), SETITEM]);
    const counter = flat([stackGlobal('collections', 'defaultdict'), stackGlobal('builtins', 'int'), TUPLE1, REDUCE, str('x'), int1(2), SETITEM]);
    expect(asBotData(ordered, counter, TUPLE2)).toEqual([{ z: 1 }, { x: 2 }]);
  });

  describe('datetimes', () => {
    const state = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0, micros = 0) => [
      year >> 8, year & 0xff, month, day, hour, minute, second, micros >> 16, (micros >> 8) & 0xff, micros & 0xff,
    ];

    it('maps aware UTC, fixed offsets and naive datetimes (as UTC) to Dates', () => {
      expect(asBotData(datetime(state(2024, 5, 1, 12, 0, 0, 123000), timezone(0, 0)))).toEqual(new Date('2024-05-01T12:00:00.123Z'));
      expect(asBotData(datetime(state(2024, 5, 1, 14), timezone(0, 7200)))).toEqual(new Date('2024-05-01T12:00:00Z'));
      expect(asBotData(datetime(state(2024, 1, 1), timezone(-1, 66600)))).toEqual(new Date('2024-01-01T05:30:00Z'));
      expect(asBotData(datetime(state(23, 1, 2, 3, 4, 5)))).toEqual(new Date('0023-01-02T03:04:05Z'));
    });

    it('refuses microseconds a Date cannot hold, unless told to truncate them', () => {
      const bytes = pickle(datetime(state(2024, 1, 1, 0, 0, 0, 123456)));
      const error = refusal(() => readPtbPickle(bytes, { section: 'bot_data' }));
      expect(error.message).toMatch(/2024-01-01T00:00:00\.123456 has microseconds .*truncateMicroseconds: true/);
      expect(readPtbPickle(bytes, { section: 'bot_data', truncateMicroseconds: true }).botData).toEqual(new Date('2024-01-01T00:00:00.123Z'));
    });

    it('refuses a malformed datetime state', () => {
      expect(refusal(() => asBotData(datetime(state(2023, 2, 29)))).message).toMatch(/a malformed datetime/);
      expect(refusal(() => asBotData(datetime([1, 2, 3]))).message).toMatch(/a datetime in a form/);
    });

    it('refuses time zones other than fixed offsets, naming the zone', () => {
      const zone = flat([stackGlobal('builtins', 'getattr'), stackGlobal('zoneinfo', 'ZoneInfo'), str('_unpickle'), TUPLE2, REDUCE, str('Asia/Tokyo'), int1(1), TUPLE2, REDUCE]);
      expect(refusal(() => asBotData(datetime(state(2024, 1, 1), zone))).message).toMatch(/zoneinfo.ZoneInfo\("Asia\/Tokyo"\).*astimezone/);
    });

    it('refuses dates, times and timedeltas with what to store instead', () => {
      const date = flat([stackGlobal('datetime', 'date'), shortBytes([7, 232, 1, 1]), TUPLE1, REDUCE]);
      expect(refusal(() => asBotData(dict([str('day'), date]))).message).toMatch(/bot_data.day: a datetime.date has no stored counterpart/);
    });
  });

  it('refuses class instances, references to classes, and TelegramObjects, by path', () => {
    const foo = flat([stackGlobal('mymodule', 'Foo'), EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, BUILD]);
    const error = refusal(() => readPtbPickle(pickle(dict([int1(123), dict([str('obj'), foo])])), { section: 'user_data' }));
    expect(error.path).toBe('user_data[123].obj');
    expect(error.message).toMatch(/an instance of class mymodule.Foo cannot be stored/);
    expect(refusal(() => asBotData(stackGlobal('builtins', 'int'))).message).toMatch(/a reference to builtins.int \(a class or function\)/);
    const user = flat([stackGlobal('telegram.ext._picklepersistence', '_reconstruct_to'), stackGlobal('telegram._user', 'User'), EMPTY_DICT, TUPLE2, REDUCE]);
    expect(refusal(() => asBotData(user)).message).toMatch(/a telegram.User \(a TelegramObject\).*to_dict\(\)/);
  });

  it('refuses a str that is not valid UTF-8, by path', () => {
    expect(refusal(() => asBotData(dict([str('name'), [0x8c, 3, 0xed, 0xa0, 0x80]]))).path).toBe('bot_data.name');
  });

  it('refuses an object that contains itself', () => {
    expect(refusal(() => asBotData(EMPTY_LIST, MEMOIZE, binget(0), APPEND)).message).toMatch(/contains itself/);
  });

  it('refuses nesting deeper than the value model allows', () => {
    const deep = flat([...Array(1001).fill(EMPTY_LIST), ...Array(1000).fill(APPEND)]);
    expect(refusal(() => asBotData(deep)).message).toMatch(/nested deeper than 1000 levels/);
  });

  it('refuses a pickle whose shared references would multiply past its budget', () => {
    // Each level is a pair of the level below: 2^40 values from 60 levels of a few bytes.
    const levels = [EMPTY_LIST, MEMOIZE];
    for (let i = 0; i < 40; i++) levels.push(POP, ...binget(i), ...binget(i), TUPLE2, MEMOIZE);
    expect(refusal(() => asBotData(levels)).message).toMatch(/shares objects so often/);
  });
});

describe('readPtbPickle: the PicklePersistence structure', () => {
  const single = (...entries: Array<[string, Part]>) => pickle(dict(...entries.map(([name, value]): [Part, Part] => [str(name), value])));
  const empty = [EMPTY_DICT];
  const bot = flat([str("a known bot replaced by PTB's PicklePersistence"), BINPERSID]);
  const unknownBot = flat([str("an unknown bot replaced by PTB's PicklePersistence"), BINPERSID]);

  it('reads the five sections of the single file', () => {
    const data = readPtbPickle(
      single(['user_data', dict([int1(1), empty])], ['chat_data', empty], ['bot_data', dict([str('me'), bot], [str('other'), unknownBot])], ['callback_data', [NONE]], ['conversations', empty]),
    );
    expect(data).toEqual({
      userData: new Map([[1, {}]]),
      chatData: new Map(),
      botData: { me: BOT_PLACEHOLDER, other: null },
      callbackData: null,
      conversations: new Map(),
      botMarkers: { count: 1, readAs: 'bot', reason: 'a None in the files' },
    });
  });

  it('reads the bot marker as None where no None is pickled as itself (a persistence without set_bot)', () => {
    const withoutBot = single(
      ['user_data', dict([int1(1), dict([str('tags'), flat([EMPTY_SET, MARK, int1(1), bot, ADDITEMS])], [str('keys'), dict([bot, str('none')])])])],
      ['chat_data', empty],
      ['bot_data', dict([str('last'), bot])],
      ['callback_data', bot],
      ['conversations', dict([str('flow'), dict([[...int1(1), TUPLE1], bot])])],
    );
    const data = readPtbPickle(withoutBot);
    expect(data.userData).toEqual(new Map([[1, { tags: new Set([1, null]), keys: new Map([[null, 'none']]) }]]));
    expect([data.botData, data.callbackData, data.conversations]).toEqual([{ last: null }, null, new Map()]);
    expect(data.botMarkers).toEqual({ count: 5, readAs: 'none', reason: 'no None in the files' });

    const asBot = refusal(() => readPtbPickle(withoutBot, { botMarker: 'bot' }));
    expect(asBot.path).toBe('user_data[1].tags set item');
    expect(asBot.message).toMatch(/a set item that is the bot cannot be stored; .*botMarker: 'none'/);
  });

  it("reads PTB's {} as no callback data yet, and refuses callback data of another shape", () => {
    expect(readPtbPickle(pickle(EMPTY_DICT), { section: 'callback_data' }).callbackData).toBeNull();
    expect(refusal(() => readPtbPickle(pickle(EMPTY_LIST), { section: 'callback_data' })).message).toMatch(/CallbackDataCache/);
  });

  it('refuses a file without user_data, chat_data or conversations, or with keys PTB never writes', () => {
    expect(refusal(() => readPtbPickle(single(['user_data', empty], ['chat_data', empty]))).message).toMatch(/no "conversations"/);
    expect(refusal(() => readPtbPickle(single(['user_data', empty], ['extra', empty]))).message).toMatch(/"extra", which PicklePersistence never writes/);
    expect(refusal(() => readPtbPickle(pickle(EMPTY_LIST))).message).toMatch(/a list instead of PicklePersistence's dict/);
  });

  it('refuses user and chat ids that are not safe ints', () => {
    expect(refusal(() => readPtbPickle(pickle(dict([str('x'), empty])), { section: 'user_data' })).path).toBe('user_data[a str]');
    expect(refusal(() => readPtbPickle(pickle(dict([long1(le(2 ** 53, 8)), empty])), { section: 'chat_data' })).path).toBe('chat_data[9007199254740992]');
  });

  it('refuses persistent ids PTB does not write', () => {
    expect(refusal(() => asBotData(str('mine'), BINPERSID)).message).toMatch(/a persistent id "mine"/);
  });

  it('refuses conversation keys that are not tuples of ints and strs', () => {
    const conversations = (key: Part) => pickle(dict([str('c'), dict([key, int1(1)])]));
    expect(refusal(() => readPtbPickle(conversations(int1(1)), { section: 'conversations' })).path).toBe('conversations["c"] key');
    expect(refusal(() => readPtbPickle(conversations([...float(1.5), TUPLE1]), { section: 'conversations' })).path).toBe('conversations["c"] key');
  });
});
