/**
 * A persistence's whole stored state, read and written object by object under a layout: what the
 * command-line tool inspects, exports and imports, and what a PTB import writes.
 *
 * A layout says which objects hold the state at a path and which object holds each entry (the
 * keys themselves are `snapshot/layout.ts`'s). Every object is a snapshot holding some sections,
 * or some entries of them; the state is all of them together. Moving a state between layouts with
 * verification is `migrateLayout` (`src/migrate.ts`), which the `migrate` command runs.
 */
import { SnapshotDecodeError, WriteConflictError } from '../errors.js';
import { decodeSnapshot, UndecodableSnapshot, type SnapshotFields } from '../snapshot/codec.js';
import { invalidSection, SECTION_NAMES, type EntryRef, type SectionName } from '../snapshot/entries.js';
import { LAYOUT_NAMES, listShardedKeys, sectionKey, shardedKey, type LayoutName } from '../snapshot/layout.js';
import { SNAPSHOT_CODEC, WRITE_IDS_FIELD } from '../snapshot/tracked-object.js';
import { writeOnce } from '../engine/write-once.js';
import type { ObjectStore } from '../store/object-store.js';
import { AmbiguousLayoutError, SnapshotChangedError, SnapshotExistsError } from './errors.js';

export type { LayoutName } from '../snapshot/layout.js';

/** Where the objects of one layout are. */
export interface StateLayout {
  readonly name: LayoutName;
  /** The keys of the objects that may hold the state at `path`, listing the bucket where the layout needs it. */
  objectKeys(store: ObjectStore, path: string): Promise<string[]>;
  /** The objects that hold `fields`: key to the fields (sections, or entries of them) that object holds. */
  split(path: string, fields: SnapshotFields): Map<string, SnapshotFields>;
}

const isSection = (field: string): field is SectionName => (SECTION_NAMES as readonly string[]).includes(field);

/** Puts `value` as field `name` of the object `key` in `objects`. */
function place(objects: Map<string, SnapshotFields>, key: string, name: string, value: unknown): void {
  let fields = objects.get(key);
  if (fields === undefined) objects.set(key, (fields = new Map()));
  mergeField(fields, name, value);
}

/** PTB's layouts: each section in one object (all in one for the single file). */
function sectionLayout(name: 'single-file' | 'multi-file'): StateLayout {
  const singleFile = name === 'single-file';
  // Fields of a later release go with bot data, as processed updates (not a PTB section) already do.
  const keyOf = (path: string, field: string) => sectionKey(path, singleFile, isSection(field) ? field : 'bot_data');
  return {
    name,
    objectKeys: async (_store, path) => [...new Set(SECTION_NAMES.map((section) => sectionKey(path, singleFile, section)))],
    split(path, fields) {
      const objects = new Map<string, SnapshotFields>();
      for (const [field, value] of fields) place(objects, keyOf(path, field), field, value);
      return objects;
    },
  };
}

/** One object per user, chat and conversation key, one for bot data and one for callback data. */
const sharded: StateLayout = {
  name: 'sharded',
  async objectKeys(store, path) {
    const keys = new Set([shardedKey(path, { section: 'bot_data', property: null }), shardedKey(path, { section: 'callback_data' })]);
    for await (const key of listShardedKeys((prefix) => store.list(prefix), path)) keys.add(key);
    return [...keys];
  },
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
        entry({ section: 'callback_data' }, value);
      } else {
        // Bot data, handled-update marks, and fields of a later release: the bot data object.
        place(objects, shardedKey(path, { section: 'bot_data', property: null }), field, value);
      }
    }
    return objects;
  },
};

/** The layouts, by the name `--layout` (and `S3Persistence`'s `layout` option) takes. */
export const LAYOUTS: Readonly<Record<LayoutName, StateLayout>> = {
  'single-file': sectionLayout('single-file'),
  'multi-file': sectionLayout('multi-file'),
  sharded,
};


/** One object as read. */
export interface StoredObject {
  key: string;
  /** `null` when the object does not exist. */
  etag: string | null;
  /** The object's bytes; `null` when it does not exist. */
  body: Uint8Array | null;
  /** Its fields, write bookkeeping included; empty when it does not exist or cannot be decoded. */
  fields: SnapshotFields;
  /** Why it cannot be decoded. */
  error?: SnapshotDecodeError;
}

/** The objects of one layout at one path, as read. */
export interface StoredState {
  bucket: string;
  path: string;
  layout: LayoutName;
  objects: StoredObject[];
}

export interface ProgressReport {
  /**
   * Told of each step, e.g. `reading s3://bucket/path`, and with `count` how far it has come (a
   * total known before the first count).
   */
  onProgress?: (message: string, count?: { done: number; total: number }) => void;
  /** Objects read or written at once; default 16. */
  concurrency?: number;
}

async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      try {
        await task(items[next++]!);
      } catch (error) {
        failed = true; // no new work; the tasks in flight finish
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/**
 * Reads the objects of `layout` at `path`. Without a layout, reads the objects of every layout and
 * keeps the one that has any; when none has, the state is empty in the single-file layout
 * (S3Persistence's default). Objects that do not decode are kept with their `error`.
 *
 * @example
 * const state = await readStoredState(new S3ObjectStore({ client, bucket: 'bot-state' }), 'prod/bot');
 * console.log(state.layout, stateFields(state).get('user_data'));
 */
export async function readStoredState(
  store: ObjectStore,
  path: string,
  options: ProgressReport & { layout?: LayoutName } = {},
): Promise<StoredState> {
  const names = options.layout === undefined ? LAYOUT_NAMES : [options.layout];
  const keysOf = new Map<LayoutName, string[]>();
  const reading = `reading s3://${store.bucket}/${path}`;
  options.onProgress?.(`${reading}: listing its objects`);
  for (const name of names) keysOf.set(name, await LAYOUTS[name].objectKeys(store, path));
  const keys = [...new Set([...keysOf.values()].flat())];
  const read = new Map<string, StoredObject>();
  let done = 0;
  options.onProgress?.(reading, { done, total: keys.length });
  await eachLimited(keys, options.concurrency ?? 16, async (key) => {
    read.set(key, await readObject(store, key));
    options.onProgress?.(reading, { done: ++done, total: keys.length });
  });
  const stateOf = (layout: LayoutName): StoredState => ({
    bucket: store.bucket,
    path,
    layout,
    objects: keysOf.get(layout)!.map((key) => read.get(key)!),
  });
  const found = names.map(stateOf).filter((state) => stateExists(state));
  if (found.length > 1) {
    const described = found.map((state) => {
      const existing = existingKeys(state);
      return `${state.layout}: ${existing.slice(0, 3).join(', ')}${existing.length > 3 ? `, and ${existing.length - 3} more` : ''}`;
    });
    throw new AmbiguousLayoutError(store.bucket, path, described);
  }
  return found[0] ?? stateOf(options.layout ?? 'single-file');
}

async function readObject(store: ObjectStore, key: string): Promise<StoredObject> {
  const result = await store.get(key);
  if (result.status !== 'found') return { key, etag: null, body: null, fields: new Map() };
  try {
    const fields = decodeSnapshot(result.body);
    const invalid = invalidSection(fields);
    if (invalid !== undefined) throw new UndecodableSnapshot(invalid);
    return { key, etag: result.etag, body: result.body, fields };
  } catch (error) {
    if (!(error instanceof UndecodableSnapshot)) throw error;
    const unreadable = new SnapshotDecodeError(error.message, { bucket: store.bucket, key }, { cause: error });
    return { key, etag: result.etag, body: result.body, fields: new Map(), error: unreadable };
  }
}

export function stateExists(state: StoredState): boolean {
  return state.objects.some((object) => object.etag !== null);
}

export function existingKeys(state: StoredState): string[] {
  return state.objects.filter((object) => object.etag !== null).map((object) => object.key);
}

/** Adds `value` as field `name`: the entries of a section spread over objects (the sharded layout) are joined. */
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

/** The readable objects' fields together, without write bookkeeping (what `inspect` counts). */
export function readableFields(state: StoredState): SnapshotFields {
  const fields: SnapshotFields = new Map();
  for (const object of state.objects) {
    for (const [name, value] of object.fields) if (name !== WRITE_IDS_FIELD) mergeField(fields, name, value);
  }
  return fields;
}

/**
 * The state's fields: all objects together, without write bookkeeping. Throws the first object's
 * decode error, as nothing can be said of a state with an unreadable part.
 */
export function stateFields(state: StoredState): SnapshotFields {
  const unreadable = state.objects.find((object) => object.error !== undefined);
  if (unreadable !== undefined) throw unreadable.error;
  return readableFields(state);
}

export interface WriteStateOptions extends ProgressReport {
  /** Replace a state that exists; without it, an existing object refuses the write. Default false. */
  overwrite?: boolean;
}

/**
 * Makes `fields` the stored state in place of `current` (as read by {@link readStoredState}), in
 * `current`'s layout. Every PUT is conditional on what was read: `If-Match` on its ETag, or
 * `If-None-Match: *` where nothing was, so a writer that changed an object meanwhile is never
 * overwritten ({@link SnapshotChangedError}). An existing object that holds none of `fields` is
 * replaced by an empty snapshot. The values must be in the value model (`copyIn`).
 *
 * @example
 * const current = await readStoredState(store, 'prod/bot');
 * await writeStoredState(store, current, new Map([['bot_data', { total: 0 }]]), { overwrite: true });
 */
export async function writeStoredState(
  store: ObjectStore,
  current: StoredState,
  fields: SnapshotFields,
  options: WriteStateOptions = {},
): Promise<Array<{ key: string; etag: string }>> {
  const existing = existingKeys(current);
  if (existing.length > 0 && options.overwrite !== true) throw new SnapshotExistsError(store.bucket, existing);
  const contents = LAYOUTS[current.layout].split(current.path, fields);
  const etags = new Map(current.objects.map((object) => [object.key, object.etag]));
  const keys = [...new Set([...contents.keys(), ...existing])];
  const written: Array<{ key: string; etag: string }> = [];
  const writing = `writing s3://${store.bucket}/${current.path}`;
  options.onProgress?.(writing, { done: 0, total: keys.length });
  try {
    await eachLimited(keys, options.concurrency ?? 16, async (key) => {
      const etag = await writeOnce({ store, key, codec: SNAPSHOT_CODEC, etag: etags.get(key) ?? null }, contents.get(key) ?? new Map());
      written.push({ key, etag });
      options.onProgress?.(writing, { done: written.length, total: keys.length });
    });
  } catch (error) {
    if (!(error instanceof WriteConflictError)) throw error;
    throw new SnapshotChangedError(store.bucket, error.key ?? '', written.map((done) => done.key), { cause: error });
  }
  return written;
}
