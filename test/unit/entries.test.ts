/**
 * Entries, the unit of merge: how an entry is named, read, changed and removed in snapshot fields,
 * and which decoded fields have the wrong shape.
 */
import { describe, expect, it } from 'vitest';
import { UndecodableSnapshot, type SnapshotFields } from '../../src/snapshot/codec.js';
import {
  ABSENT,
  applyChanges,
  entryId,
  entryLabel,
  invalidSection,
  parseSections,
  readEntry,
  type EntryRef,
  type EntryValue,
} from '../../src/snapshot/entries.js';
import { OverlayMap } from '../../src/snapshot/overlay-map.js';

type States = Map<string, unknown>;

/** Fields as read from a snapshot: every section filled. */
function readFields(): SnapshotFields {
  return new Map<string, unknown>([
    ['user_data', new Map([[1, { count: 1 }], [2, { count: 2 }]])],
    ['chat_data', new Map([[-1001234567890, { note: 'hi' }]])],
    ['bot_data', { stats: 10, motd: 'hello' }],
    ['callback_data', [[['kb', 1_700_000_000, { b1: 'apple' }]], { q1: 'kb' }]],
    [
      'conversations',
      new Map<string, States>([
        ['survey', new Map([['[1,2]', 'AGE'], ['["1",2]', 'NAME']])],
        ['order', new Map([['[5,5]', 'PAY']])],
      ]),
    ],
    ['processed_updates', new Map([[900, 1718000000000]])],
    ['future_section', { kept: true }],
  ]);
}

const user = (id: number): EntryRef => ({ section: 'user_data', id });
const chat = (id: number): EntryRef => ({ section: 'chat_data', id });
const bot = (property: string | null): EntryRef => ({ section: 'bot_data', property });
const conversation = (name: string, key: string): EntryRef => ({ section: 'conversations', name, key });
const callbackData: EntryRef = { section: 'callback_data' };

/**
 * `applyChanges`, with each section it overlaid instead of copying (users, chats) made a plain Map
 * of the same entries in the same order, to be compared as one (overlay-map.test.ts tests overlays).
 */
function apply(fields: SnapshotFields, ...changes: Array<readonly [EntryRef, EntryValue]>): SnapshotFields {
  const next = applyChanges(fields, changes);
  for (const [name, section] of next) if (section instanceof OverlayMap) next.set(name, new Map(section as Map<unknown, unknown>));
  return next;
}

describe('entryId', () => {
  it('is the same for the same entry, built twice', () => {
    expect(entryId(user(42))).toBe(entryId({ section: 'user_data', id: 42 }));
    expect(entryId(conversation('survey', '[1,2]'))).toBe(entryId(conversation('survey', '[1,2]')));
  });

  it('differs for every different entry', () => {
    const refs: EntryRef[] = [
      user(1),
      user(-1),
      chat(1),
      { section: 'processed_updates', id: 1 },
      bot(null),
      bot(''),
      bot('stats'),
      bot('user_data:1'),
      callbackData,
      conversation('survey', '[1,2]'),
      conversation('survey', '["1",2]'),
      conversation('order', '[1,2]'),
      conversation('a","b', 'c'),
      conversation('a', 'b","c'),
      conversation('', ''),
    ];
    const ids = refs.map(entryId);
    expect(new Set(ids).size).toBe(refs.length);
  });
});

describe('entryLabel', () => {
  it('names entries the way messages and conflict reports show them', () => {
    expect(entryLabel(user(42))).toBe('user_data[42]');
    expect(entryLabel(chat(-1001234567890))).toBe('chat_data[-1001234567890]');
    expect(entryLabel(bot(null))).toBe('bot_data');
    expect(entryLabel(bot('stats'))).toBe('bot_data.stats');
    expect(entryLabel(callbackData)).toBe('callback_data');
    expect(entryLabel(conversation('survey', '[1,2]'))).toBe('conversations["survey"][[1,2]]');
  });
});

describe('readEntry', () => {
  const fields = readFields();

  it('reads the value of an entry that exists', () => {
    expect(readEntry(fields, user(2))).toStrictEqual({ count: 2 });
    expect(readEntry(fields, chat(-1001234567890))).toStrictEqual({ note: 'hi' });
    expect(readEntry(fields, bot(null))).toStrictEqual({ stats: 10, motd: 'hello' });
    expect(readEntry(fields, bot('stats'))).toBe(10);
    expect(readEntry(fields, conversation('survey', '["1",2]'))).toBe('NAME');
    expect(readEntry(fields, { section: 'processed_updates', id: 900 })).toBe(1718000000000);
    expect(readEntry(fields, callbackData)).toStrictEqual(fields.get('callback_data'));
  });

  it('gives ABSENT for an entry that does not exist', () => {
    expect(readEntry(fields, user(3))).toBe(ABSENT);
    expect(readEntry(fields, chat(1))).toBe(ABSENT);
    expect(readEntry(fields, bot('missing'))).toBe(ABSENT);
    expect(readEntry(fields, conversation('survey', '[9,9]'))).toBe(ABSENT);
    expect(readEntry(fields, conversation('unknown', '[1,2]'))).toBe(ABSENT);
    expect(readEntry(fields, { section: 'processed_updates', id: 901 })).toBe(ABSENT);
  });

  it('gives ABSENT for every entry of an empty snapshot', () => {
    const empty: SnapshotFields = new Map();
    for (const ref of [user(1), chat(1), bot(null), bot('stats'), callbackData, conversation('survey', '[1,2]')]) {
      expect(readEntry(empty, ref)).toBe(ABSENT);
    }
  });

  it('never reads an inherited property of bot data as an entry', () => {
    expect(readEntry(fields, bot('toString'))).toBe(ABSENT);
    expect(readEntry(fields, bot('constructor'))).toBe(ABSENT);
    expect(readEntry(fields, bot('__proto__'))).toBe(ABSENT);
  });

  it('reads a property of bot data only when bot data is a plain object', () => {
    expect(readEntry(new Map([['bot_data', new Map([['stats', 1]])]]), bot('stats'))).toBe(ABSENT);
  });

  it('tells a stored undefined or null from an absent entry', () => {
    const withEmptyValues: SnapshotFields = new Map<string, unknown>([
      ['user_data', new Map([[1, undefined]])],
      ['bot_data', { unset: undefined }],
      ['callback_data', null],
    ]);
    expect(readEntry(withEmptyValues, user(1))).toBeUndefined();
    expect(readEntry(withEmptyValues, bot('unset'))).toBeUndefined();
    expect(readEntry(withEmptyValues, callbackData)).toBeNull();
  });
});

describe('applyChanges', () => {
  it('never mutates the fields it is given, nor any container in them', () => {
    const fields = readFields();
    const before = structuredClone(fields);
    const sections = [...fields];
    const next = apply(
      fields,
      [user(1), { count: 100 }],
      [user(2), ABSENT],
      [user(3), { count: 3 }],
      [chat(-1001234567890), ABSENT],
      [bot('stats'), 11],
      [bot('motd'), ABSENT],
      [callbackData, ABSENT],
      [conversation('survey', '[1,2]'), ABSENT],
      [conversation('survey', '["1",2]'), ABSENT],
      [conversation('order', '[6,6]'), 'START'],
      [{ section: 'processed_updates', id: 901 }, true],
    );
    expect(fields).toStrictEqual(before);
    for (const [name, section] of sections) expect(fields.get(name), name).toBe(section);
    expect(next).not.toBe(fields);
  });

  it('leaves the sections it does not touch as they were, the same objects', () => {
    const fields = readFields();
    const next = apply(fields, [user(1), { count: 5 }]);
    expect(next.get('user_data')).not.toBe(fields.get('user_data'));
    for (const name of ['chat_data', 'bot_data', 'callback_data', 'conversations', 'future_section']) {
      expect(next.get(name), name).toBe(fields.get(name));
    }
  });

  it('sets and replaces user and chat entries by id', () => {
    const next = apply(readFields(), [user(1), { count: 100 }], [user(7), { count: 7 }], [chat(5), { note: 'new' }]);
    expect(next.get('user_data')).toStrictEqual(new Map([[1, { count: 100 }], [2, { count: 2 }], [7, { count: 7 }]]));
    expect((next.get('chat_data') as Map<number, unknown>).get(5)).toStrictEqual({ note: 'new' });
    expect((next.get('chat_data') as Map<number, unknown>).get(-1001234567890)).toStrictEqual({ note: 'hi' });
  });

  it('removes an entry whose change is ABSENT', () => {
    const next = apply(
      readFields(),
      [user(2), ABSENT],
      [chat(-1001234567890), ABSENT],
      [{ section: 'processed_updates', id: 900 }, ABSENT],
      [conversation('order', '[5,5]'), ABSENT],
    );
    expect(next.get('user_data')).toStrictEqual(new Map([[1, { count: 1 }]]));
    expect(next.get('chat_data')).toStrictEqual(new Map());
    expect(next.get('processed_updates')).toStrictEqual(new Map());
    expect(readEntry(next, conversation('order', '[5,5]'))).toBe(ABSENT);
  });

  it('removes callback data and bot data as a whole when their change is ABSENT', () => {
    const next = apply(readFields(), [callbackData, ABSENT], [bot(null), ABSENT]);
    expect(next.has('callback_data')).toBe(false);
    expect(next.has('bot_data')).toBe(false);
  });

  it('removing an entry that does not exist changes nothing else', () => {
    const fields = readFields();
    const next = apply(fields, [user(99), ABSENT], [conversation('survey', '[9,9]'), ABSENT]);
    expect(next).toStrictEqual(fields);
  });

  it('drops a conversation whose last state was removed, and keeps the others', () => {
    const next = apply(readFields(), [conversation('order', '[5,5]'), ABSENT]);
    const conversations = next.get('conversations') as Map<string, States>;
    expect([...conversations.keys()]).toEqual(['survey']);
    expect(conversations.get('survey')).toStrictEqual(new Map([['[1,2]', 'AGE'], ['["1",2]', 'NAME']]));
  });

  it('keeps a conversation while one of its states remains', () => {
    const next = apply(readFields(), [conversation('survey', '[1,2]'), ABSENT]);
    expect((next.get('conversations') as Map<string, States>).get('survey')).toStrictEqual(new Map([['["1",2]', 'NAME']]));
  });

  it('changes one property of bot data and keeps the other properties', () => {
    const next = apply(readFields(), [bot('stats'), 11], [bot('added'), [1]]);
    expect(next.get('bot_data')).toStrictEqual({ stats: 11, motd: 'hello', added: [1] });
  });

  it('removes one property of bot data and keeps the other properties', () => {
    const next = apply(readFields(), [bot('motd'), ABSENT]);
    expect(next.get('bot_data')).toStrictEqual({ stats: 10 });
  });

  it('stores a bot data property named __proto__ as an own property', () => {
    const next = apply(readFields(), [bot('__proto__'), { polluted: true }]);
    const botData = next.get('bot_data') as Record<string, unknown>;
    expect(Object.getPrototypeOf(botData)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(botData, '__proto__')?.value).toStrictEqual({ polluted: true });
    expect(botData.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('applies a property change on top of an earlier whole bot data change, without mutating that value', () => {
    const whole = { fresh: 1 };
    const next = apply(readFields(), [bot(null), whole], [bot('stats'), 12]);
    expect(next.get('bot_data')).toStrictEqual({ fresh: 1, stats: 12 });
    expect(whole).toStrictEqual({ fresh: 1 });
  });

  it('lets a later whole bot data change replace earlier property changes', () => {
    const next = apply(readFields(), [bot('stats'), 12], [bot(null), { only: true }]);
    expect(next.get('bot_data')).toStrictEqual({ only: true });
  });

  it('applies changes in order: the last change to an entry wins', () => {
    const next = apply(readFields(), [user(1), { count: 5 }], [user(1), ABSENT], [user(1), { count: 6 }]);
    expect(readEntry(next, user(1))).toStrictEqual({ count: 6 });
    const removed = apply(readFields(), [conversation('x', '[1]'), 'A'], [conversation('x', '[1]'), ABSENT]);
    expect((removed.get('conversations') as Map<string, States>).has('x')).toBe(false);
  });

  it('applies every change of one batch to the same section', () => {
    const next = apply(
      new Map(),
      [user(1), 'a'],
      [user(2), 'b'],
      [conversation('survey', '[1]'), 'S1'],
      [conversation('order', '[1]'), 'O1'],
      [conversation('survey', '[2]'), 'S2'],
      [bot('x'), 1],
      [bot('y'), 2],
    );
    expect(next.get('user_data')).toStrictEqual(new Map([[1, 'a'], [2, 'b']]));
    expect(next.get('conversations')).toStrictEqual(
      new Map([['survey', new Map([['[1]', 'S1'], ['[2]', 'S2']])], ['order', new Map([['[1]', 'O1']])]]),
    );
    expect(next.get('bot_data')).toStrictEqual({ x: 1, y: 2 });
  });

  it('creates the sections a change needs in an empty snapshot', () => {
    const next = apply(new Map(), [chat(5), { note: 'n' }], [callbackData, [[], {}]]);
    expect(next).toStrictEqual(new Map<string, unknown>([['chat_data', new Map([[5, { note: 'n' }]])], ['callback_data', [[], {}]]]));
  });

  it('keeps fields this release does not know', () => {
    const next = apply(readFields(), [user(1), ABSENT]);
    expect(next.get('future_section')).toStrictEqual({ kept: true });
  });
});

describe('invalidSection', () => {
  it('accepts well-formed fields, an empty snapshot, null callback data and unknown fields of any shape', () => {
    expect(invalidSection(readFields())).toBeUndefined();
    expect(invalidSection(new Map())).toBeUndefined();
    expect(invalidSection(new Map<string, unknown>([['callback_data', null], ['future_section', 'anything']]))).toBeUndefined();
  });

  it('rejects user_data, chat_data or processed_updates that is not a Map', () => {
    expect(invalidSection(new Map([['user_data', { 1: {} }]]))).toBe('user_data is not a map');
    expect(invalidSection(new Map([['chat_data', [[1, {}]]]]))).toBe('chat_data is not a map');
    expect(invalidSection(new Map([['processed_updates', null]]))).toBe('processed_updates is not a map');
  });

  it('rejects a user or chat id that is not a number, such as the string "42"', () => {
    expect(invalidSection(new Map([['user_data', new Map([['42', {}]])]]))).toBe('user_data has an id that is a string, not a number');
    expect(invalidSection(new Map([['chat_data', new Map([[42n, {}]])]]))).toBe('chat_data has an id that is a bigint, not a number');
  });

  it('rejects conversations that are not nested Maps of string keys', () => {
    expect(invalidSection(new Map([['conversations', { survey: {} }]]))).toBe('conversations is not a map');
    expect(invalidSection(new Map([['conversations', new Map([['survey', { '[1,2]': 'AGE' }]])]]))).toBe(
      'conversations["survey"] is not a map',
    );
    expect(invalidSection(new Map([['conversations', new Map([[1, new Map()]])]]))).toBe('conversations has a name that is a number, not a string');
    expect(invalidSection(new Map([['conversations', new Map([['survey', new Map([[[1, 2], 'AGE']])]])]]))).toBe(
      'conversations[survey] has a non-string key',
    );
  });

  it('rejects callback data that is not a pair', () => {
    for (const value of [{ keyboards: [] }, 'data', 1, new Map(), [[]]]) {
      expect(invalidSection(new Map([['callback_data', value]]))).toMatch(/^callback_data is .*, not a \[keyboards, callbackQueries\] pair$/);
    }
  });

  it('rejects callback data whose parts are not in PTB\'s shape, naming the part', () => {
    expect(invalidSection(new Map([['callback_data', [[['k', 'yesterday', {}]], {}]]]))).toBe(
      'callback_data[0][0][1] (access time) is a string, not a number of seconds',
    );
  });

  it('accepts callback data in PTB\'s shape, and none', () => {
    for (const value of [null, [[], {}], [[['k', 1.5, { b: 1 }]], { q: 'k' }]]) {
      expect(invalidSection(new Map([['callback_data', value]]))).toBeUndefined();
    }
  });
});

describe('parseSections', () => {
  it('gives back the fields themselves, typed, when every section has its shape', () => {
    const users = new Map([[42, { n: 1 }]]);
    const fields = new Map<string, unknown>([['user_data', users], ['later_field', 'kept']]);
    const parsed = parseSections(fields);
    expect(parsed).toBe(fields);
    expect(parsed.get('user_data')?.get(42)).toEqual({ n: 1 });
  });

  it('throws UndecodableSnapshot with the reason invalidSection gives', () => {
    const fields = new Map<string, unknown>([['chat_data', new Map([['7', {}]])]]);
    expect(() => parseSections(fields)).toThrow(UndecodableSnapshot);
    expect(() => parseSections(fields)).toThrow('chat_data has an id that is a string, not a number');
  });
});

describe('invalidSection on handled-update marks', () => {
  it('rejects a handled-at time that is not a number', () => {
    expect(invalidSection(new Map([['processed_updates', new Map([[900, 'yesterday']])]]))).toBe('processed_updates[900] is not a time');
  });
});
