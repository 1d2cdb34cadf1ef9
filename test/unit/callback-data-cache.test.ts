import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CallbackData } from '../../src/contract.js';
import { InvalidOptionsError, PersistenceError } from '../../src/errors.js';
import { CallbackDataCache, type CallbackDataCacheOptions } from '../../src/runtime/callback-data-cache.js';

/** A cache with a clock the test moves (`clock.now = ...`) and ids 1, 2, 3, ... as 32 hex digits. */
function cacheWithClock(options: CallbackDataCacheOptions = {}) {
  const clock = { now: 1_000 };
  let lastId = 0;
  const cache = new CallbackDataCache({
    now: () => clock.now,
    newId: () => (++lastId).toString(16).padStart(32, '0'),
    ...options,
  });
  return { cache, clock };
}

/** The callback_data of every button with one, row by row. */
function callbackDataOf(rows: Array<Array<{ callback_data?: string }>>): string[] {
  return rows.flat().flatMap((button) => (button.callback_data === undefined ? [] : [button.callback_data]));
}

describe('CallbackDataCache.processKeyboard', () => {
  it('replaces callbackData by 64 lowercase hex characters: the keyboard id, then the button id', () => {
    const cache = new CallbackDataCache();
    const rows = cache.processKeyboard([[{ text: 'A', callbackData: { a: 1 } }, { text: 'B', callbackData: 'b' }]]);
    const [a, b] = callbackDataOf(rows);
    for (const data of [a, b]) {
      expect(data).toMatch(/^[0-9a-f]{64}$/);
      expect(Buffer.byteLength(data!)).toBeLessThanOrEqual(64);
    }
    expect(a!.slice(0, 32)).toBe(b!.slice(0, 32));
    expect(a!.slice(32)).not.toBe(b!.slice(32));
  });

  it('copies every other field through and leaves buttons without callbackData as they are', () => {
    const cache = new CallbackDataCache();
    const rows = cache.processKeyboard([
      [{ text: 'Docs', url: 'https://example.org' }],
      [{ text: 'Pay', callbackData: 1, pay: true }],
    ]);
    expect(rows[0]).toEqual([{ text: 'Docs', url: 'https://example.org' }]);
    expect(rows[1]).toEqual([{ text: 'Pay', pay: true, callback_data: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(rows[1]![0]).not.toHaveProperty('callbackData');
  });

  it('stores nothing for a keyboard without callbackData', () => {
    const cache = new CallbackDataCache();
    cache.processKeyboard([[{ text: 'Docs', url: 'https://example.org' }]]);
    expect(cache.persistenceData()).toEqual([[], {}]);
    expect(cache.changed).toBe(false);
  });

  it('refuses a newId that does not give 32 lowercase hex characters', () => {
    const cache = new CallbackDataCache({ newId: () => 'not-an-id' });
    expect(() => cache.processKeyboard([[{ text: 'A', callbackData: 1 }]])).toThrow(InvalidOptionsError);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxSize %s', (maxSize) => {
    expect(() => new CallbackDataCache({ maxSize })).toThrow(/maxSize must be a positive integer/);
  });
});

describe('CallbackDataCache.resolve', () => {
  it('gives back the stored value itself, not a copy', () => {
    const cache = new CallbackDataCache();
    const value = { action: 'delete', id: 17 };
    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'Delete', callbackData: value }]]));
    const result = cache.resolve('query-1', data!);
    expect(result).toEqual({ ok: true, value });
    expect(result.ok && result.value).toBe(value);
  });

  it('answers unknown for a keyboard it never stored, or a button its keyboard does not have', () => {
    const cache = new CallbackDataCache();
    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]));
    const otherKeyboard = 'f'.repeat(32) + data!.slice(32);
    const otherButton = data!.slice(0, 32) + 'f'.repeat(32);
    expect(cache.resolve('q', otherKeyboard)).toEqual({ ok: false, reason: 'unknown', data: otherKeyboard });
    expect(cache.resolve('q', otherButton)).toEqual({ ok: false, reason: 'unknown', data: otherButton });
  });

  it.each([
    ['empty', ''],
    ['too short', 'ab'.repeat(31)],
    ['too long', 'ab'.repeat(33)],
    ['not hex', 'zz'.repeat(32)],
    ['upper case', 'AB'.repeat(32)],
    ['a plain callback_data of another bot', 'like:42'],
  ])('answers malformed, without throwing, for data that is %s', (_, data) => {
    const cache = new CallbackDataCache();
    expect(cache.resolve('q', data)).toEqual({ ok: false, reason: 'malformed', data });
  });

  it('changes nothing when the data is unknown or malformed', () => {
    const { cache } = cacheWithClock();
    cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]);
    cache.markPersisted();
    const before = cache.persistenceData();
    cache.resolve('q', 'f'.repeat(64));
    cache.resolve('q', 'nonsense');
    expect(cache.changed).toBe(false);
    expect(cache.persistenceData()).toEqual(before);
  });

  it('refreshes the access time and remembers which keyboard the callback query belongs to', () => {
    const { cache, clock } = cacheWithClock();
    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]));
    clock.now = 2_000;
    cache.resolve('query-1', data!);
    expect(cache.persistenceData()).toEqual([[[data!.slice(0, 32), 2_000, { [data!.slice(32)]: 1 }]], { 'query-1': data!.slice(0, 32) }]);
  });
});

describe('CallbackDataCache LRU', () => {
  it('evicts the least recently used keyboard beyond maxSize; resolving a keyboard makes it recent', () => {
    const { cache } = cacheWithClock({ maxSize: 2 });
    const [first] = callbackDataOf(cache.processKeyboard([[{ text: '1', callbackData: 'first' }]]));
    const [second] = callbackDataOf(cache.processKeyboard([[{ text: '2', callbackData: 'second' }]]));
    cache.resolve('q', first!);
    const [third] = callbackDataOf(cache.processKeyboard([[{ text: '3', callbackData: 'third' }]]));

    expect(cache.resolve('q', second!)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(cache.resolve('q', first!)).toEqual({ ok: true, value: 'first' });
    expect(cache.resolve('q', third!)).toEqual({ ok: true, value: 'third' });
  });

  it('persists the keyboards least recently used first', () => {
    const { cache, clock } = cacheWithClock();
    const [first] = callbackDataOf(cache.processKeyboard([[{ text: '1', callbackData: 1 }]]));
    clock.now = 1_001;
    const [second] = callbackDataOf(cache.processKeyboard([[{ text: '2', callbackData: 2 }]]));
    clock.now = 1_002;
    cache.resolve('q', first!);
    const [keyboards] = cache.persistenceData();
    expect(keyboards.map(([uuid, accessTime]) => [uuid, accessTime])).toEqual([
      [second!.slice(0, 32), 1_001],
      [first!.slice(0, 32), 1_002],
    ]);
  });

  it('keeps only the most recent maxSize keyboards and callback queries of loaded data', () => {
    const keyboards: CallbackData[0] = ['a', 'b', 'c'].map((c) => [c.repeat(32), 1, { ['0'.repeat(32)]: c }]);
    const queries = { q1: 'a'.repeat(32), q2: 'b'.repeat(32), q3: 'c'.repeat(32) };
    const cache = new CallbackDataCache({ maxSize: 2, persistentData: [keyboards, queries] });
    expect(cache.persistenceData()).toEqual([keyboards.slice(1), { q2: 'b'.repeat(32), q3: 'c'.repeat(32) }]);
  });
});

describe('CallbackDataCache persistence', () => {
  it('round-trips: a cache loaded from persistenceData() resolves the same buttons and persists the same data', () => {
    const { cache } = cacheWithClock();
    const rows = cache.processKeyboard([
      [{ text: 'A', callbackData: { page: 2, tags: ['x', 'y'] } }, { text: 'B', callbackData: null }],
      [{ text: 'C', callbackData: 42 }],
    ]);
    cache.resolve('query-1', callbackDataOf(rows)[2]!);
    const persisted = cache.persistenceData();

    const restored = new CallbackDataCache({ persistentData: persisted });
    expect(restored.persistenceData()).toEqual(persisted);
    expect(callbackDataOf(rows).map((data) => restored.resolve('query-2', data))).toEqual([
      { ok: true, value: { page: 2, tags: ['x', 'y'] } },
      { ok: true, value: null },
      { ok: true, value: 42 },
    ]);
  });

  it('load replaces the whole state with newer persisted data, and load(null) empties it', () => {
    const { cache } = cacheWithClock();
    const [mine] = callbackDataOf(cache.processKeyboard([[{ text: 'mine', callbackData: 'mine' }]]));
    const theirs: CallbackData = [[['e'.repeat(32), 5, { ['f'.repeat(32)]: 'theirs' }]], { q: 'e'.repeat(32) }];

    cache.load(theirs);
    expect(cache.resolve('q2', mine!)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(cache.resolve('q2', 'e'.repeat(32) + 'f'.repeat(32))).toEqual({ ok: true, value: 'theirs' });

    cache.load(null);
    expect(cache.persistenceData()).toEqual([[], {}]);
  });

  it.each([
    ['not a pair', { keyboards: [] }, /callback_data is an instance of Object, not a \[keyboards, callbackQueries\] pair/],
    ['keyboards not an array', [{}, {}], /callback_data\[0\] is an instance of Object, not an array/],
    ['a keyboard not a triple', [[['a'.repeat(32), 1]], {}], /callback_data\[0\]\[0\] is an array of 2, not a \[keyboardUuid, accessTime, buttons\] triple/],
    ['a keyboard uuid not a string', [[[7, 1, {}]], {}], /callback_data\[0\]\[0\]\[0\] \(keyboard uuid\) is a number/],
    ['an access time not a number', [[['a'.repeat(32), '1', {}]], {}], /callback_data\[0\]\[0\]\[1\] \(access time\) is a string/],
    ['buttons not an object', [[['a'.repeat(32), 1, []]], {}], /callback_data\[0\]\[0\]\[2\] \(buttons\) is an array of 0/],
    ['callback queries not an object', [[], null], /callback_data\[1\] \(callback queries\) is null/],
    ['a callback query not mapped to a uuid', [[], { q: 1 }], /callback_data\[1\]\["q"\] is a number, not a keyboard uuid/],
  ])('refuses persisted data with %s, naming the bad part, and keeps its state', (_, data, message) => {
    const cache = new CallbackDataCache();
    const [kept] = callbackDataOf(cache.processKeyboard([[{ text: 'kept', callbackData: 'kept' }]]));
    const load = () => cache.load(data as unknown as CallbackData);
    expect(load).toThrow(PersistenceError);
    expect(load).toThrow(message);
    expect(load).toThrow(expect.objectContaining({ code: 'SNAPSHOT_UNREADABLE' }));
    expect(cache.resolve('q', kept!)).toEqual({ ok: true, value: 'kept' });
  });
});

describe('CallbackDataCache dropping and clearing', () => {
  it('dropCallbackQuery forgets the keyboard of the query and the query', () => {
    const cache = new CallbackDataCache();
    const [yes, no] = callbackDataOf(cache.processKeyboard([[{ text: 'Yes', callbackData: true }, { text: 'No', callbackData: false }]]));
    cache.resolve('query-1', yes!);

    expect(cache.dropCallbackQuery('query-1')).toBe(true);
    expect(cache.resolve('query-2', no!)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(cache.persistenceData()).toEqual([[], {}]);
  });

  it('dropCallbackQuery answers false, and changes nothing, for a query it does not know', () => {
    const cache = new CallbackDataCache();
    expect(cache.dropCallbackQuery('never-seen')).toBe(false);
    expect(cache.changed).toBe(false);
  });

  it('clearCallbackData(olderThanSeconds) forgets only the keyboards not accessed within that time', () => {
    const { cache, clock } = cacheWithClock();
    clock.now = 100;
    const [old] = callbackDataOf(cache.processKeyboard([[{ text: 'old', callbackData: 'old' }]]));
    clock.now = 200;
    const [recent] = callbackDataOf(cache.processKeyboard([[{ text: 'recent', callbackData: 'recent' }]]));
    clock.now = 300;

    cache.clearCallbackData(150);

    expect(cache.resolve('q', old!)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(cache.resolve('q', recent!)).toEqual({ ok: true, value: 'recent' });
  });

  it('clearCallbackData() forgets every keyboard and keeps the callback queries', () => {
    const cache = new CallbackDataCache();
    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]));
    cache.resolve('query-1', data!);
    cache.clearCallbackData();
    expect(cache.persistenceData()).toEqual([[], { 'query-1': data!.slice(0, 32) }]);
  });

  it('clearCallbackQueries() forgets the callback queries and keeps the keyboards', () => {
    const cache = new CallbackDataCache();
    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]));
    cache.resolve('query-1', data!);
    cache.clearCallbackQueries();
    expect(cache.dropCallbackQuery('query-1')).toBe(false);
    expect(cache.resolve('query-2', data!)).toEqual({ ok: true, value: 1 });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('clearCallbackData refuses olderThanSeconds %s', (seconds) => {
    expect(() => new CallbackDataCache().clearCallbackData(seconds)).toThrow(/olderThanSeconds must be a number of seconds/);
  });
});

describe('CallbackDataCache.changed', () => {
  it('is false after construction and load, true after a change, false again after markPersisted()', () => {
    const cache = new CallbackDataCache({ persistentData: [[['a'.repeat(32), 1, { ['b'.repeat(32)]: 1 }]], {}] });
    expect(cache.changed).toBe(false);

    const [data] = callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]));
    expect(cache.changed).toBe(true);
    cache.markPersisted();
    expect(cache.changed).toBe(false);

    cache.resolve('query-1', data!);
    expect(cache.changed).toBe(true);
    cache.load(cache.persistenceData());
    expect(cache.changed).toBe(false);
  });

  it.each([
    ['dropCallbackQuery', (cache: CallbackDataCache) => cache.dropCallbackQuery('query-1')],
    ['clearCallbackData', (cache: CallbackDataCache) => cache.clearCallbackData()],
    ['clearCallbackQueries', (cache: CallbackDataCache) => cache.clearCallbackQueries()],
  ])('is true after %s removed something', (_, act) => {
    const cache = new CallbackDataCache();
    cache.resolve('query-1', callbackDataOf(cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]))[0]!);
    cache.markPersisted();
    act(cache);
    expect(cache.changed).toBe(true);
  });

  it('stays true for a change made while an earlier version was being written', () => {
    const cache = new CallbackDataCache();
    cache.processKeyboard([[{ text: 'A', callbackData: 1 }]]);
    const { version } = cache;
    const written = cache.persistenceData();
    cache.processKeyboard([[{ text: 'B', callbackData: 2 }]]);
    cache.markPersisted(version);
    expect(cache.changed).toBe(true);
    expect(cache.persistenceData()[0]).toHaveLength(written[0].length + 1);
  });
});

/** Why python-telegram-bot's CallbackDataCache cannot be run here, or undefined when it can. */
function ptbUnavailable(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'from telegram.ext import CallbackDataCache; CallbackDataCache(None)'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'skipped: needs python3 with `pip install "python-telegram-bot[callback-data]"`';
  }
}

function python(script: string, input: unknown): unknown {
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' }));
}

const PTB_WRITES = `
import json, sys
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, User
from telegram.ext import CallbackDataCache
cache = CallbackDataCache(None)
markup = cache.process_keyboard(InlineKeyboardMarkup([
    [InlineKeyboardButton('A', callback_data={'page': 2}), InlineKeyboardButton('B', callback_data=[1, 'x'])],
    [InlineKeyboardButton('Docs', url='https://example.org')],
]))
buttons = [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]
cache.process_callback_query(CallbackQuery('query-1', User(1, 'u', False), 'chat', data=buttons[0]))
json.dump({'persisted': cache.persistence_data, 'buttons': buttons}, sys.stdout)
`;

const PTB_READS = `
import json, sys
from telegram import CallbackQuery, User
from telegram.ext import CallbackDataCache
given = json.load(sys.stdin)
cache = CallbackDataCache(None, persistent_data=given['persisted'])
resolved = []
for i, data in enumerate(given['buttons']):
    query = CallbackQuery(f'ptb-{i}', User(1, 'u', False), 'chat', data=data)
    cache.process_callback_query(query)
    resolved.append(query.data)
json.dump(resolved, sys.stdout)
`;

const unavailable = ptbUnavailable();

describe(`CallbackDataCache and python-telegram-bot ${unavailable ?? ''}`, () => {
  it.skipIf(unavailable !== undefined)('loads the callback_data PTB persists and resolves its buttons', () => {
    const { persisted, buttons } = python(PTB_WRITES, null) as { persisted: CallbackData; buttons: string[] };
    const cache = new CallbackDataCache({ persistentData: persisted });

    expect(cache.persistenceData()).toEqual(persisted);
    expect(buttons.map((data) => cache.resolve('query-2', data))).toEqual([
      { ok: true, value: { page: 2 } },
      { ok: true, value: [1, 'x'] },
    ]);
    expect(cache.dropCallbackQuery('query-1')).toBe(true);
    expect(cache.resolve('query-3', buttons[1]!)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it.skipIf(unavailable !== undefined)('persists callback_data that PTB loads and resolves', () => {
    const cache = new CallbackDataCache();
    const rows = cache.processKeyboard([[{ text: 'A', callbackData: { page: 2 } }, { text: 'B', callbackData: 'b' }]]);
    const resolved = python(PTB_READS, { persisted: cache.persistenceData(), buttons: callbackDataOf(rows) });
    expect(resolved).toEqual([{ page: 2 }, 'b']);
  });
});
