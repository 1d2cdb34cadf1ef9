/**
 * Where the state lives in the bucket. A layout is one object that answers every question of
 * where: PTB's single-file layout (one object, the path itself), its multi-file layout
 * (`<path>_user_data`, `<path>_chat_data`, ...), or the sharded layout (one object per user, chat
 * and conversation key). Callers take one from {@link layoutFor} and never ask which it is.
 */
import { InvalidOptionsError } from '../errors.js';
import type { SnapshotFields } from './codec.js';
import { SECTION_NAMES, type EntryRef, type SectionName } from './entries.js';

export interface ObjectLocation {
  bucket: string;
  /** The path part of `filepath`: the object key in the single-file layout, the key prefix otherwise. */
  path: string;
}

/**
 * Parses `s3://bucket/some/prefix`, or `some/prefix` with a separate bucket.
 *
 * @example
 * parseFilepath('s3://my-bot-state/prod/bot') // { bucket: 'my-bot-state', path: 'prod/bot' }
 */
export function parseFilepath(filepath: string, bucket?: string): ObjectLocation {
  if (typeof filepath !== 'string' || filepath === '') {
    throw new InvalidOptionsError('filepath is required, e.g. "s3://my-bucket/bot/state"');
  }
  let location: ObjectLocation;
  const url = /^s3:\/\/([^/]*)\/?(.*)$/.exec(filepath);
  if (url !== null) {
    const [, urlBucket = '', path = ''] = url;
    if (urlBucket === '') throw new InvalidOptionsError(`filepath "${filepath}" names no bucket`);
    if (bucket !== undefined && bucket !== urlBucket) {
      throw new InvalidOptionsError(`filepath "${filepath}" names bucket "${urlBucket}" but the bucket option is "${bucket}"`);
    }
    location = { bucket: urlBucket, path };
  } else {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(filepath)) {
      throw new InvalidOptionsError(`filepath "${filepath}" must start with s3:// or be a key with the bucket option`);
    }
    if (bucket === undefined || bucket === '') {
      throw new InvalidOptionsError(`filepath "${filepath}" has no bucket: use "s3://bucket/${filepath}" or set the bucket option`);
    }
    location = { bucket, path: filepath.replace(/^\/+/, '') };
  }
  if (location.path === '' || location.path.endsWith('/')) {
    throw new InvalidOptionsError(
      `filepath "${filepath}" must name an object (the snapshot's key, or the prefix of the multi-file keys), e.g. "s3://${location.bucket}/bot/state"`,
    );
  }
  return location;
}

/** How a persistence spreads its data over objects. */
export type LayoutName = 'single-file' | 'multi-file' | 'sharded';

/** Every layout name, for validating configuration. */
export const LAYOUT_NAMES: readonly LayoutName[] = ['single-file', 'multi-file', 'sharded'];

export function isLayoutName(value: unknown): value is LayoutName {
  return (LAYOUT_NAMES as readonly unknown[]).includes(value);
}

/** The kinds a layout may keep one object per entry of, found by listing a prefix. */
export type ShardedKind = 'user_data' | 'chat_data' | 'conversations';

/** The kinds with one object per entry, in the order their prefixes sort (that of one listing of `<path>/`). */
export const SHARDED_KINDS: readonly ShardedKind[] = ['chat_data', 'conversations', 'user_data'];

/** Every answer of where a state lives, for one layout. */
export interface Layout {
  readonly name: LayoutName;
  /** True for PTB's single-file layout (`S3Persistence`'s `singleFile`). */
  readonly singleFile: boolean;
  /** True when entries live in objects of their own: a driver reads them one by one, not whole sections. */
  readonly entryObjects: boolean;
  /** The key of the object that holds `ref`. */
  keyOf(path: string, ref: EntryRef): string;
  /**
   * The prefix whose listing gives the objects holding `kind` (of one conversation name, if given);
   * undefined where one known object holds the whole kind.
   */
  listingOf(path: string, kind: ShardedKind, conversationName?: string): string | undefined;
  /** The prefix whose listing gives the objects of the entry `ref` (see {@link listingOf}). */
  listingOfEntry(path: string, ref: EntryRef): string | undefined;
  /** The entry a listed key holds; undefined for a key that holds none. */
  entryOfKey(path: string, key: string): EntryRef | undefined;
  /** Where the ids of the handled updates of a user's (or chat's) update are kept. */
  processedRef(owner: { userId?: number; chatId?: number }): EntryRef;
  /**
   * The objects this layout uses whatever the state holds, and the prefixes it keeps one object
   * per entry under: with the objects that listing {@link listingOf} finds, every object of the state.
   */
  footprint(path: string): { objects: string[]; prefixes: string[] };
  /** Where a person would find the state, for messages: `prod/bot_user_data, prod/bot_chat_data, ...`. */
  describe(path: string): string;
  /** The objects that hold `fields`: each key with the fields (sections, or entries of them) it holds. */
  split(path: string, fields: SnapshotFields): Map<string, SnapshotFields>;
  /** The fields of the objects together: {@link split} undone. */
  join(objects: Iterable<SnapshotFields>): SnapshotFields;
}

/**
 * Adds `value` as field `name` of `fields`: the entries of a section spread over objects (the
 * sharded layout) are joined, the first of two values that are not maps is kept.
 */
function mergeField(fields: SnapshotFields, name: string, value: unknown): void {
  const existing = fields.get(name);
  if (!(existing instanceof Map) || !(value instanceof Map)) {
    if (!fields.has(name)) fields.set(name, value);
    return;
  }
  const joined = new Map(existing);
  for (const [key, entry] of value) {
    const current = joined.get(key);
    // Conversations map a name to its keys' states, and each object holds some keys of a name.
    const nested = name === 'conversations' && current instanceof Map && entry instanceof Map;
    joined.set(key, nested ? new Map([...current, ...entry]) : entry);
  }
  fields.set(name, joined);
}

/** The fields of several objects together (the same for every layout). */
function joinFields(objects: Iterable<SnapshotFields>): SnapshotFields {
  const fields: SnapshotFields = new Map();
  for (const object of objects) for (const [name, value] of object) mergeField(fields, name, value);
  return fields;
}

/** Puts `value` as field `name` of the object `key` in `objects`. */
function place(objects: Map<string, SnapshotFields>, key: string, name: string, value: unknown): void {
  let fields = objects.get(key);
  if (fields === undefined) objects.set(key, (fields = new Map()));
  mergeField(fields, name, value);
}

const isSection = (field: string): field is SectionName => (SECTION_NAMES as readonly string[]).includes(field);

/**
 * PTB's layouts: each section in one object, all in one for the single file. The processed update
 * ids, which PTB does not have, travel with bot data, which every update refreshes anyway; so do
 * fields of a later release.
 */
function sectionLayout(options: {
  name: 'single-file' | 'multi-file';
  singleFile: boolean;
  sectionKey: (path: string, section: SectionName) => string;
  describe: (path: string) => string;
}): Layout {
  const { name, singleFile, sectionKey, describe } = options;
  const keyOfField = (path: string, field: string) => sectionKey(path, isSection(field) ? field : 'bot_data');
  return {
    name,
    singleFile,
    entryObjects: false,
    keyOf: (path, ref) => sectionKey(path, ref.section),
    listingOf: () => undefined,
    listingOfEntry: () => undefined,
    entryOfKey: () => undefined,
    processedRef: () => ({ section: 'processed_updates', id: 0 }),
    footprint: (path) => ({ objects: [...new Set(SECTION_NAMES.map((section) => sectionKey(path, section)))], prefixes: [] }),
    describe,
    split(path, fields) {
      const objects = new Map<string, SnapshotFields>();
      for (const [field, value] of fields) place(objects, keyOfField(path, field), field, value);
      return objects;
    },
    join: joinFields,
  };
}

const SINGLE_FILE = sectionLayout({ name: 'single-file', singleFile: true, sectionKey: (path) => path, describe: (path) => path });

const MULTI_FILE = sectionLayout({
  name: 'multi-file',
  singleFile: false,
  sectionKey: (path, section) => `${path}_${section === 'processed_updates' ? 'bot_data' : section}`,
  describe: (path) => `${path}_user_data, ${path}_chat_data, ...`,
});

/**
 * Two hex digits from the start of the entry's MD5: 256 shards per kind, so that keys spread over
 * S3's partitions instead of piling up behind one prefix.
 */
function shard(id: string): string {
  // node:crypto on first use: importing it costs a cold start a few milliseconds (bench/README.md).
  return process.getBuiltinModule('node:crypto').createHash('md5').update(id).digest('hex').slice(0, 2);
}

/**
 * The prefix under which the sharded layout keeps one kind (and, for conversations, one name),
 * so that a listing returns exactly those objects.
 *
 * @example
 * shardedPrefix('prod/bot', 'user_data') // 'prod/bot/user_data/'
 */
export function shardedPrefix(path: string, kind: ShardedKind, conversationName?: string): string {
  if (kind !== 'conversations') return `${path}/${kind}/`;
  return conversationName === undefined
    ? `${path}/conversations/`
    : `${path}/conversations/${encodeURIComponent(conversationName)}/`;
}

/**
 * The object key of an entry in the sharded layout: `<path>/user_data/<shard>/<id>`,
 * `<path>/chat_data/<shard>/<id>`, `<path>/conversations/<name>/<shard>/<key>` (URI-encoded), and one
 * object each for `<path>/bot_data` and `<path>/callback_data`.
 */
export function shardedKey(path: string, ref: EntryRef): string {
  switch (ref.section) {
    case 'user_data':
    case 'chat_data':
      return `${shardedPrefix(path, ref.section)}${shard(String(ref.id))}/${ref.id}`;
    case 'conversations':
      return `${shardedPrefix(path, 'conversations', ref.name)}${shard(ref.key)}/${encodeURIComponent(ref.key)}`;
    case 'bot_data':
    case 'processed_updates':
      return `${path}/bot_data`;
    case 'callback_data':
      return `${path}/callback_data`;
  }
}

/** The entry a listed key of the sharded layout holds, or undefined for a key that is not one. */
export function entryOfShardedKey(path: string, key: string): EntryRef | undefined {
  if (!key.startsWith(`${path}/`)) return undefined;
  const parts = key.slice(path.length + 1).split('/');
  const [kind] = parts;
  if ((kind === 'user_data' || kind === 'chat_data') && parts.length === 3) {
    const id = Number(parts[2]);
    return Number.isSafeInteger(id) && String(id) === parts[2] ? { section: kind, id } : undefined;
  }
  if (kind === 'conversations' && parts.length === 4) {
    try {
      return { section: 'conversations', name: decodeURIComponent(parts[1]!), key: decodeURIComponent(parts[3]!) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const BOT_DATA: EntryRef = { section: 'bot_data', property: null };
const CALLBACK_DATA: EntryRef = { section: 'callback_data' };

/**
 * One object per user, chat and conversation key, one for bot data and one for callback data.
 * The ids of handled updates are kept with the update's user (or chat), so that instances serving
 * different users never write one object.
 */
const SHARDED: Layout = {
  name: 'sharded',
  singleFile: false,
  entryObjects: true,
  keyOf: shardedKey,
  listingOf: shardedPrefix,
  listingOfEntry(path, ref) {
    if (ref.section === 'bot_data' || ref.section === 'callback_data' || ref.section === 'processed_updates') return undefined;
    return shardedPrefix(path, ref.section, ref.section === 'conversations' ? ref.name : undefined);
  },
  entryOfKey: entryOfShardedKey,
  processedRef({ userId, chatId }) {
    if (userId !== undefined) return { section: 'user_data', id: userId };
    if (chatId !== undefined) return { section: 'chat_data', id: chatId };
    return { section: 'processed_updates', id: 0 };
  },
  footprint: (path) => ({
    objects: [shardedKey(path, BOT_DATA), shardedKey(path, CALLBACK_DATA)],
    prefixes: (['user_data', 'chat_data', 'conversations'] as const).map((kind) => shardedPrefix(path, kind)),
  }),
  describe: (path) => `objects under ${path}/`,
  split(path, fields) {
    const objects = new Map<string, SnapshotFields>();
    const entry = (ref: EntryRef, value: unknown) => {
      const key = shardedKey(path, ref);
      if (ref.section === 'conversations') place(objects, key, 'conversations', new Map([[ref.name, new Map([[ref.key, value]])]]));
      else place(objects, key, ref.section, value);
    };
    for (const [field, value] of fields) {
      if ((field === 'user_data' || field === 'chat_data') && value instanceof Map) {
        for (const [id, data] of fields.get(field) ?? []) place(objects, shardedKey(path, { section: field, id }), field, new Map([[id, data]]));
      } else if (field === 'conversations' && value instanceof Map) {
        for (const [name, states] of fields.get(field) ?? []) {
          for (const [key, state] of states) entry({ section: 'conversations', name, key }, state);
        }
      } else if (field === 'callback_data') {
        entry(CALLBACK_DATA, value);
      } else {
        // Bot data, handled-update marks, and fields of a later release: the bot data object.
        place(objects, shardedKey(path, BOT_DATA), field, value);
      }
    }
    return objects;
  },
  join: joinFields,
};

const LAYOUTS: Readonly<Record<LayoutName, Layout>> = { 'single-file': SINGLE_FILE, 'multi-file': MULTI_FILE, sharded: SHARDED };

/**
 * The layout of that name.
 *
 * @example
 * layoutFor('multi-file').keyOf('prod/bot', { section: 'user_data', id: 42 }) // 'prod/bot_user_data'
 */
export function layoutFor(name: LayoutName): Layout {
  return LAYOUTS[name];
}

/**
 * The layout `S3Persistence`'s options choose: `layout`, or PTB's `singleFile` (default true);
 * both only when they agree.
 */
export function layoutOfOptions(options: { layout?: LayoutName; singleFile?: boolean }): Layout {
  const { layout, singleFile } = options;
  if (layout === undefined) return singleFile === false ? MULTI_FILE : SINGLE_FILE;
  if (!isLayoutName(layout)) {
    throw new InvalidOptionsError(`layout must be one of ${LAYOUT_NAMES.join(', ')}, not ${JSON.stringify(layout)}`);
  }
  const chosen = layoutFor(layout);
  if (singleFile !== undefined && singleFile !== chosen.singleFile) {
    throw new InvalidOptionsError(`singleFile: ${singleFile} contradicts layout: '${layout}'; set only layout`);
  }
  return chosen;
}
