/**
 * The value model: copyIn takes a deep copy for storage and refuses what cannot be stored, naming the
 * place; copyOut hands out a deep copy; deepEqual decides whether an update changes anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SerializationError } from '../../src/errors.js';
import { BOT_PLACEHOLDER, MAX_DEPTH, copyIn, copyOut, deepEqual } from '../../src/snapshot/values.js';

/** The SerializationError copyIn throws for `value`; fails the test when it throws anything else or nothing. */
function refusal(value: unknown, path: string, bot?: object): SerializationError {
  try {
    copyIn(value, path, bot);
  } catch (error) {
    if (error instanceof SerializationError) return error;
    throw error;
  }
  throw new Error('copyIn accepted the value');
}

class Bot {
  readonly token = '123:secret';
  readonly api = { sendMessage: () => undefined };
}
class Telegraf {
  readonly telegram = {};
}
class ApiClient {
  readonly token = '456:other';
  readonly api = {};
}
class UserProfile {
  name = 'Ada';
}

describe('copyIn refuses what cannot be stored, naming the place', () => {
  it('refuses a function, at the property that holds it', () => {
    const error = refusal({ handler: () => 'reply' }, 'user_data[42]', undefined);
    expect(error.path).toBe('user_data[42].handler');
    expect(error.message).toMatch(/^cannot store user_data\[42\]\.handler: a function cannot be stored; store plain objects/);
    expect(error.code).toBe('UNSERIALIZABLE');
  });

  it('refuses a symbol', () => {
    const error = refusal({ tags: ['ok', Symbol('state')] }, 'chat_data[-1001234567890]', undefined);
    expect(error.path).toBe('chat_data[-1001234567890].tags[1]');
    expect(error.message).toMatch(/chat_data\[-1001234567890\]\.tags\[1\]: a symbol cannot be stored/);
  });

  it('refuses a class instance, naming the class', () => {
    const error = refusal({ profile: new UserProfile() }, 'user_data[7]', undefined);
    expect(error.path).toBe('user_data[7].profile');
    expect(error.message).toMatch(/an instance of UserProfile cannot be stored/);
  });

  it('refuses a WeakMap, a RegExp, an Error, a Promise and typed arrays other than Uint8Array', () => {
    const values: Array<[unknown, string]> = [
      [new WeakMap(), 'WeakMap'],
      [/a+/g, 'RegExp'],
      [new Error('boom'), 'Error'],
      [Promise.resolve(1), 'Promise'],
      [new Int16Array(2), 'Int16Array'],
      [new Uint8ClampedArray(2), 'Uint8ClampedArray'],
      [new ArrayBuffer(2), 'ArrayBuffer'],
    ];
    for (const [value, name] of values) {
      const error = refusal({ value }, 'bot_data', undefined);
      expect(error.path).toBe('bot_data.value');
      expect(error.message).toContain(`an instance of ${name} cannot be stored`);
    }
  });

  it('refuses an object with a custom prototype and no class name', () => {
    const error = refusal({ odd: Object.create({ inherited: 1 }) as object }, 'bot_data', undefined);
    expect(error.message).toMatch(/bot_data\.odd: an instance of Object|an object with a custom prototype/);
  });

  it('names places inside Maps and Sets', () => {
    expect(refusal(new Map([['menu', () => 1]]), 'bot_data.menus', undefined).path).toBe('bot_data.menus.get("menu")');
    expect(refusal(new Map([[5, { f: () => 1 }]]), 'x', undefined).path).toBe('x.get(5).f');
    expect(refusal(new Map([[new UserProfile(), 1]]), 'x', undefined).path).toBe('x key (an instance of UserProfile)');
    expect(refusal(new Set([1, 2, new UserProfile()]), 'x', undefined).path).toBe('x item 2');
  });

  it('refuses a circular reference, at the place that closes the circle', () => {
    const state: Record<string, unknown> = { step: 1 };
    state.self = state;
    const error = refusal({ state }, 'user_data[42]', undefined);
    expect(error.path).toBe('user_data[42].state.self');
    expect(error.message).toMatch(/circular reference/);
  });

  it('refuses circles through arrays, Maps and Sets', () => {
    const list: unknown[] = [];
    list.push({ back: list });
    expect(refusal(list, 'a', undefined).path).toBe('a[0].back');
    const map = new Map<string, unknown>();
    map.set('me', map);
    expect(refusal(map, 'm', undefined).message).toMatch(/circular reference/);
    const set = new Set<unknown>();
    set.add([set]);
    expect(refusal(set, 's', undefined).message).toMatch(/circular reference/);
  });

  it('copies an object that appears in two places (not a circle) into two independent copies', () => {
    const shared = { n: 1 };
    const copy = copyIn({ a: shared, b: shared }, 'bot_data', undefined) as { a: { n: number }; b: { n: number } };
    expect(copy).toStrictEqual({ a: { n: 1 }, b: { n: 1 } });
    expect(copy.a).not.toBe(copy.b);
  });

  it('refuses a bot other than the one given to setBot: a class named Bot, Telegraf, or an instance with token and api', () => {
    const live = new Bot();
    for (const other of [new Bot(), new Telegraf(), new ApiClient()]) {
      const error = refusal({ owner: other }, 'bot_data', live);
      expect(error.path).toBe('bot_data.owner');
      expect(error.message).toMatch(/a bot object other than the one given to setBot\(\)/);
    }
  });

  it('refuses a bot when none was given to setBot, saying to call setBot first', () => {
    const error = refusal({ owner: new Bot() }, 'user_data[1]', undefined);
    expect(error.path).toBe('user_data[1].owner');
    expect(error.message).toMatch(/call setBot\(bot\) first/);
  });

  it('stores a plain object that happens to have token and api keys as ordinary data', () => {
    const data = { token: 'abc', api: 'v2' };
    expect(copyIn(data, 'user_data[1]', new Bot())).toStrictEqual(data);
  });
});

describe('the bot placeholder', () => {
  it('copyIn of the live bot gives the placeholder, wherever it is', () => {
    const bot = new Bot();
    expect(copyIn(bot, 'bot_data', bot)).toBe(BOT_PLACEHOLDER);
    const copy = copyIn({ owner: bot, list: [bot], byId: new Map([[1, bot]]) }, 'bot_data', bot) as {
      owner: unknown;
      list: unknown[];
      byId: Map<number, unknown>;
    };
    expect(copy.owner).toBe(BOT_PLACEHOLDER);
    expect(copy.list[0]).toBe(BOT_PLACEHOLDER);
    expect(copy.byId.get(1)).toBe(BOT_PLACEHOLDER);
  });

  it('copyOut gives the live bot back for the placeholder, wherever it is', () => {
    const bot = new Bot();
    expect(copyOut(BOT_PLACEHOLDER, bot)).toBe(bot);
    const out = copyOut({ owner: BOT_PLACEHOLDER, list: [BOT_PLACEHOLDER], set: new Set([BOT_PLACEHOLDER]) }, bot) as {
      owner: unknown;
      list: unknown[];
      set: Set<unknown>;
    };
    expect(out.owner).toBe(bot);
    expect(out.list[0]).toBe(bot);
    expect(out.set.has(bot)).toBe(true);
  });

  it('copyOut without a bot keeps the placeholder', () => {
    expect(copyOut(BOT_PLACEHOLDER, undefined)).toBe(BOT_PLACEHOLDER);
    expect((copyOut({ owner: BOT_PLACEHOLDER }, undefined) as { owner: unknown }).owner).toBe(BOT_PLACEHOLDER);
  });

  it('copyIn keeps a placeholder it is given (data read back before setBot)', () => {
    expect(copyIn({ owner: BOT_PLACEHOLDER }, 'bot_data', undefined)).toStrictEqual({ owner: BOT_PLACEHOLDER });
    expect((copyIn({ owner: BOT_PLACEHOLDER }, 'bot_data', new Bot()) as { owner: unknown }).owner).toBe(BOT_PLACEHOLDER);
  });

  it('the placeholder cannot be changed', () => {
    expect(Object.isFrozen(BOT_PLACEHOLDER)).toBe(true);
  });
});

describe('copies are deep', () => {
  function sample() {
    return {
      list: [1, { nested: 'a' }],
      byId: new Map<number, { n: number }>([[1, { n: 1 }]]),
      tags: new Set(['x']),
      when: new Date(1000),
      bytes: new Uint8Array([1, 2]),
    };
  }
  type Sample = ReturnType<typeof sample>;
  function mutate(value: Sample): void {
    value.list.push(2);
    (value.list[1] as { nested: string }).nested = 'changed';
    value.byId.get(1)!.n = 99;
    value.byId.set(2, { n: 2 });
    value.tags.add('y');
    value.when.setTime(0);
    value.bytes[0] = 255;
  }

  it('mutating the input after copyIn does not change the copy', () => {
    const input = sample();
    const copy = copyIn(input, 'bot_data', undefined) as Sample;
    mutate(input);
    expect(copy).toStrictEqual(sample());
  });

  it('mutating the copy of copyIn does not change the input', () => {
    const input = sample();
    mutate(copyIn(input, 'bot_data', undefined) as Sample);
    expect(input).toStrictEqual(sample());
  });

  it('mutating what copyOut handed out does not change the stored value', () => {
    const stored = copyIn(sample(), 'bot_data', undefined);
    mutate(copyOut(stored, undefined) as Sample);
    expect(stored).toStrictEqual(sample());
  });

  it('mutating the stored value does not change what copyOut handed out earlier', () => {
    const stored = copyIn(sample(), 'bot_data', undefined) as Sample;
    const out = copyOut(stored, undefined);
    mutate(stored);
    expect(out).toStrictEqual(sample());
  });

  it('copyIn gives back a Buffer as a plain Uint8Array', () => {
    const copy = copyIn(Buffer.from([1, 2, 3]), 'bot_data', undefined);
    expect(Object.getPrototypeOf(copy)).toBe(Uint8Array.prototype);
    expect(copy).toStrictEqual(new Uint8Array([1, 2, 3]));
  });

  it('copyIn and copyOut keep an own __proto__ key as an own property, not as the prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    for (const copy of [copyIn(input, 'bot_data', undefined), copyOut(input, undefined)] as Array<Record<string, unknown>>) {
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
      expect(copy.polluted).toBeUndefined();
      expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toStrictEqual({ polluted: true });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('copyIn keeps -0, NaN, bigints, invalid Dates and undefined properties', () => {
    const copy = copyIn({ zero: -0, nan: Number.NaN, big: 2n ** 70n, bad: new Date(Number.NaN), none: undefined }, 'x', undefined) as Record<
      string,
      unknown
    >;
    expect(Object.is(copy.zero, -0)).toBe(true);
    expect(copy.nan).toBeNaN();
    expect(copy.big).toBe(2n ** 70n);
    expect((copy.bad as Date).getTime()).toBeNaN();
    expect(Object.keys(copy)).toContain('none');
  });

  it('copyIn accepts a null-prototype object and a deeply frozen value', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(copyIn(bare, 'x', undefined)).toStrictEqual({ a: 1 });
    const frozen = Object.freeze({ list: Object.freeze([Object.freeze({ n: 1 })]) });
    const copy = copyIn(frozen, 'x', undefined) as { list: Array<{ n: number }> };
    copy.list[0]!.n = 2;
    expect(frozen.list[0]!.n).toBe(1);
  });
});

describe('deepEqual', () => {
  it('ignores the key order of objects', () => {
    expect(deepEqual({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
  });

  it('holds objects with a key more or less different', () => {
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(deepEqual({}, { a: undefined })).toBe(false);
  });

  it('respects the order of arrays and their length', () => {
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([1, 2], [1, 2, undefined])).toBe(false);
    expect(deepEqual([[1], [2]], [[1], [2]])).toBe(true);
  });

  it('holds NaN equal to NaN', () => {
    expect(deepEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(deepEqual({ x: [Number.NaN] }, { x: [Number.NaN] })).toBe(true);
  });

  it('holds 0 and -0 different', () => {
    expect(deepEqual(0, -0)).toBe(false);
    expect(deepEqual({ x: [0] }, { x: [-0] })).toBe(false);
  });

  it('compares Maps by content, whatever the insertion order, with 1 and "1" different keys', () => {
    expect(deepEqual(new Map<number, unknown>([[1, { a: 1 }], [2, 'b']]), new Map<number, unknown>([[2, 'b'], [1, { a: 1 }]]))).toBe(true);
    expect(deepEqual(new Map([[1, { a: 1 }]]), new Map([[1, { a: 2 }]]))).toBe(false);
    expect(deepEqual(new Map([[1, 'a']]), new Map([['1', 'a']]))).toBe(false);
    expect(deepEqual(new Map([[1, 'a']]), new Map([[1, 'a'], [2, 'b']]))).toBe(false);
  });

  it('compares Sets by content, whatever the insertion order', () => {
    expect(deepEqual(new Set([1, 'a', 2n]), new Set([2n, 'a', 1]))).toBe(true);
    expect(deepEqual(new Set([1]), new Set(['1']))).toBe(false);
    expect(deepEqual(new Set([1]), new Set([1, 2]))).toBe(false);
  });

  it('compares Dates by time, an invalid Date equal only to an invalid Date', () => {
    expect(deepEqual(new Date(5), new Date(5))).toBe(true);
    expect(deepEqual(new Date(5), new Date(6))).toBe(false);
    expect(deepEqual(new Date(Number.NaN), new Date(Number.NaN))).toBe(true);
    expect(deepEqual(new Date(Number.NaN), new Date(0))).toBe(false);
  });

  it('compares Uint8Arrays by content', () => {
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });

  it('holds values of different types different', () => {
    const pairs: Array<[unknown, unknown]> = [
      [1, 1n],
      [1, '1'],
      [null, undefined],
      [0, false],
      ['', false],
      [[], {}],
      [{}, []],
      [{}, new Map()],
      [new Map(), {}],
      [new Map(), new Set()],
      [new Set(), []],
      [new Date(0), {}],
      [{}, new Date(0)],
      [new Uint8Array([1]), [1]],
      [[1], new Uint8Array([1])],
      [{}, null],
      [null, {}],
      [{ a: undefined }, {}],
      [{ a: undefined }, { b: undefined }],
    ];
    for (const [a, b] of pairs) expect(deepEqual(a, b), `${String(a)} vs ${String(b)}`).toBe(false);
  });

  it('holds the bot placeholder different from an empty object, so replacing {} by the bot is a change', () => {
    expect(deepEqual(BOT_PLACEHOLDER, BOT_PLACEHOLDER)).toBe(true);
    expect(deepEqual(BOT_PLACEHOLDER, {})).toBe(false);
    expect(deepEqual({}, BOT_PLACEHOLDER)).toBe(false);
    expect(deepEqual({ owner: {} }, { owner: BOT_PLACEHOLDER })).toBe(false);
  });

  it('holds any storable value equal to its copies, and a changed copy different', () => {
    const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', ''));
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(fc.double(), fc.bigInt(), fc.string(), fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: false }), fc.uint8Array({ maxLength: 4 })),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => {
          const object: Record<string, unknown> = {};
          for (const [k, v] of entries) Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
          return object;
        }),
        fc.array(fc.tuple(fc.integer(), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
      ),
    }));
    fc.assert(
      fc.property(value, (stored) => {
        const copy = copyIn(stored, 'x', undefined);
        expect(deepEqual(stored, copy)).toBe(true);
        expect(deepEqual(copyOut(copy, undefined), stored)).toBe(true);
        expect(deepEqual({ wrapped: stored }, { wrapped: copy, extra: 1 })).toBe(false);
        expect(deepEqual([stored], [copy, copy])).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('copyIn limits', () => {
  it('refuses a string with a lone surrogate, which UTF-8 cannot carry, naming where it is', () => {
    expect(() => copyIn({ ok: '😀', bad: 'a\uD800b' }, 'user_data[1]', undefined)).toThrow(/user_data\[1\]\.bad: a string with a lone surrogate/);
    expect(() => copyIn({ ['k\uDC00']: 1 }, 'bot_data', undefined)).toThrow(SerializationError);
    expect(() => copyIn(new Map([['\uD83D', 1]]), 'chat_data[2]', undefined)).toThrow(SerializationError);
  });

  it(`refuses values nested deeper than ${MAX_DEPTH} levels with a SerializationError`, () => {
    let deep: unknown[] = [];
    const root = deep;
    for (let i = 0; i < MAX_DEPTH; i++) deep = (deep[0] = []) as unknown[];
    expect(() => copyIn(root, 'user_data[1]', undefined)).toThrow(/nested deeper than 1000 levels/);
    expect(() => copyIn(root[0], 'user_data[1]', undefined)).not.toThrow();
  });
});
