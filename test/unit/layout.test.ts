import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/index.js';
import type { SnapshotFields } from '../../src/snapshot/codec.js';
import type { EntryRef } from '../../src/snapshot/entries.js';
import { LAYOUT_NAMES, layoutFor, layoutOfOptions, type LayoutName } from '../../src/snapshot/layout.js';

const PATH = 'prod/bot';

const REFS: Record<string, EntryRef> = {
  user: { section: 'user_data', id: 42 },
  chat: { section: 'chat_data', id: -1001234567890 },
  bot: { section: 'bot_data', property: 'total' },
  callback: { section: 'callback_data' },
  conversation: { section: 'conversations', name: 'survey', key: '[1,2]' },
  processed: { section: 'processed_updates', id: 7 },
};

/** A state with every section, and a field of a later release. */
function wholeState(): SnapshotFields {
  return new Map<string, unknown>([
    ['user_data', new Map([[1, { n: 1 }], [2, { n: 2 }]])],
    ['chat_data', new Map([[-5, { note: 'milk' }]])],
    ['bot_data', { total: 3 }],
    ['callback_data', [[['kb', 1, { b: 'A' }]], { q: 'kb' }]],
    ['conversations', new Map<string, Map<string, unknown>>([['survey', new Map([['[1,1]', 'AGE'], ['["1",1]', 'NAME']])], ['menu', new Map([['[2]', 1]])]])],
    ['processed_updates', new Map([[7, 1000]])],
    ['later_field', 'x'],
  ]);
}

describe('the key of each entry', () => {
  it('is the path itself for every section in the single-file layout', () => {
    const layout = layoutFor('single-file');
    for (const ref of Object.values(REFS)) expect(layout.keyOf(PATH, ref)).toBe(PATH);
  });

  it("is PTB's file of the section in the multi-file layout, with processed updates beside bot data", () => {
    const layout = layoutFor('multi-file');
    expect(Object.fromEntries(Object.entries(REFS).map(([name, ref]) => [name, layout.keyOf(PATH, ref)]))).toEqual({
      user: 'prod/bot_user_data',
      chat: 'prod/bot_chat_data',
      bot: 'prod/bot_bot_data',
      callback: 'prod/bot_callback_data',
      conversation: 'prod/bot_conversations',
      processed: 'prod/bot_bot_data',
    });
  });

  it('is one object per user, chat and conversation key in the sharded layout, under the prefix its listing reads', () => {
    const layout = layoutFor('sharded');
    expect(layout.keyOf(PATH, REFS.user!)).toMatch(/^prod\/bot\/user_data\/[0-9a-f]{2}\/42$/);
    expect(layout.keyOf(PATH, REFS.chat!)).toMatch(/^prod\/bot\/chat_data\/[0-9a-f]{2}\/-1001234567890$/);
    expect(layout.keyOf(PATH, REFS.conversation!)).toMatch(/^prod\/bot\/conversations\/survey\/[0-9a-f]{2}\/%5B1%2C2%5D$/);
    expect(layout.keyOf(PATH, REFS.bot!)).toBe('prod/bot/bot_data');
    expect(layout.keyOf(PATH, REFS.callback!)).toBe('prod/bot/callback_data');
    for (const ref of [REFS.user!, REFS.chat!, REFS.conversation!]) {
      const key = layout.keyOf(PATH, ref);
      expect(key.startsWith(layout.listingOfEntry(PATH, ref)!)).toBe(true);
      expect(layout.entryOfKey(PATH, key)).toEqual(ref);
    }
    expect(layout.listingOf(PATH, 'user_data')).toBe('prod/bot/user_data/');
    expect(layout.listingOf(PATH, 'conversations', 'sur vey')).toBe('prod/bot/conversations/sur%20vey/');
    expect(layout.listingOfEntry(PATH, REFS.bot!)).toBeUndefined();
  });

  it.each(['single-file', 'multi-file'] as const)('needs no listing in the %s layout', (name) => {
    const layout = layoutFor(name);
    for (const kind of ['user_data', 'chat_data', 'conversations'] as const) expect(layout.listingOf(PATH, kind)).toBeUndefined();
    expect(layout.entryOfKey(PATH, layout.keyOf(PATH, REFS.user!))).toBeUndefined();
    expect(layout.footprint(PATH).prefixes).toEqual([]);
  });
});

describe('where handled updates are kept', () => {
  it.each(['single-file', 'multi-file'] as const)('with bot data in the %s layout, whoever the update is from', (name) => {
    const layout = layoutFor(name);
    for (const owner of [{}, { userId: 1 }, { chatId: -5 }]) {
      expect(layout.keyOf(PATH, layout.processedRef(owner))).toBe(layout.keyOf(PATH, REFS.bot!));
    }
  });

  it("with the update's user, else its chat, else bot data in the sharded layout", () => {
    const layout = layoutFor('sharded');
    expect(layout.processedRef({ userId: 1, chatId: -5 })).toEqual({ section: 'user_data', id: 1 });
    expect(layout.processedRef({ chatId: -5 })).toEqual({ section: 'chat_data', id: -5 });
    expect(layout.keyOf(PATH, layout.processedRef({}))).toBe('prod/bot/bot_data');
  });
});

describe('splitting a whole state into objects', () => {
  it.each(LAYOUT_NAMES.map((name) => [name]))('%s: join undoes split', (name: LayoutName) => {
    const layout = layoutFor(name);
    const objects = layout.split(PATH, wholeState());
    expect(layout.join(objects.values())).toEqual(wholeState());
  });

  it('puts every object of a split where the layout keeps it', () => {
    const { footprint, split } = layoutFor('sharded');
    const keys = [...split(PATH, wholeState()).keys()];
    expect(keys).toHaveLength(2 + 2 + 1 + 3);
    const { objects, prefixes } = footprint(PATH);
    for (const key of keys) expect(objects.includes(key) || prefixes.some((prefix) => key.startsWith(prefix))).toBe(true);
  });

  it('keeps one object in the single-file layout and five in the multi-file one', () => {
    expect([...layoutFor('single-file').split(PATH, wholeState()).keys()]).toEqual([PATH]);
    expect([...layoutFor('multi-file').split(PATH, wholeState()).keys()].sort()).toEqual(
      ['prod/bot_bot_data', 'prod/bot_callback_data', 'prod/bot_chat_data', 'prod/bot_conversations', 'prod/bot_user_data'],
    );
  });
});

describe('the layout of S3Persistence options', () => {
  it("is single-file by default, multi-file for singleFile: false, and the layout named", () => {
    expect(layoutOfOptions({}).name).toBe('single-file');
    expect(layoutOfOptions({ singleFile: false }).name).toBe('multi-file');
    expect(layoutOfOptions({ layout: 'sharded' }).name).toBe('sharded');
    expect(layoutOfOptions({ layout: 'single-file', singleFile: true }).name).toBe('single-file');
  });

  it('refuses an unknown layout, and singleFile contradicting layout', () => {
    expect(() => layoutOfOptions({ layout: 'flat' as LayoutName })).toThrow(InvalidOptionsError);
    expect(() => layoutOfOptions({ layout: 'sharded', singleFile: true })).toThrow(/contradicts layout/);
  });
});
