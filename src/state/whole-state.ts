/**
 * A persistence's whole stored state, read and written object by object under a layout: what the
 * command-line tool exports, inspects and imports, what a PTB import writes, and what a migration
 * reads, puts and verifies (`migrateLayout`, `src/migrate.ts`).
 *
 * The layout says which objects hold the state at a path and which object holds each entry
 * (`snapshot/layout.ts`). Every object is a snapshot holding some sections, or some entries of
 * them; the state is all of them together. Every write goes through the conditional-object engine.
 */
import { SnapshotDecodeError, WriteConflictError } from '../errors.js';
import { AmbiguousLayoutError, SnapshotChangedError, SnapshotExistsError } from '../import/errors.js';
import { eachLimited } from '../limit.js';
import { decodeSnapshot, UndecodableSnapshot, type SnapshotFields } from '../snapshot/codec.js';
import { invalidSection } from '../snapshot/entries.js';
import { refuseSnapshotBeside } from '../layout-collision.js';
import { LAYOUT_NAMES, layoutFor, SHARDED_KINDS, type Layout, type LayoutName, type ShardedKind } from '../snapshot/layout.js';
import { SNAPSHOT_CODEC, WRITE_IDS_FIELD } from '../snapshot/tracked-object.js';
import { writeOnce } from '../engine/write-once.js';
import type { ObjectStore } from '../store/object-store.js';
import type { LoadProgress } from './layout-objects.js';

export type { LayoutName } from '../snapshot/layout.js';

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

export interface ReadStateOptions extends ProgressReport {
  /** The layout to read; default: the one stored (see {@link readStoredState}). */
  layout?: LayoutName;
  /** Told how far the objects of each listed kind (the sharded layout's users, chats, conversation keys) are read. */
  onKindProgress?: (progress: LoadProgress) => void;
  /**
   * Throw `LayoutCollisionError` where a listing of a kind comes back empty beside a single-file
   * snapshot at the path that holds entries of it, as `S3Persistence` does; default false.
   */
  refuseHiddenKeys?: boolean;
}

/** An object a layout may keep the state in; `kind` for one found by listing. */
interface LayoutObject {
  key: string;
  kind?: ShardedKind;
}

/** The objects `layout` may keep the state at `path` in: those it always uses, and those it lists. */
async function layoutObjects(store: ObjectStore, path: string, layout: Layout, refuseHiddenKeys = false): Promise<LayoutObject[]> {
  const objects: LayoutObject[] = layout.footprint(path).objects.map((key) => ({ key }));
  const unlisted = new Set<ShardedKind>();
  for (const kind of SHARDED_KINDS) {
    const prefix = layout.listingOf(path, kind);
    if (prefix === undefined) continue;
    const before = objects.length;
    for await (const key of store.list(prefix)) if (layout.entryOfKey(path, key) !== undefined) objects.push({ key, kind });
    if (objects.length === before) unlisted.add(kind);
  }
  // In the order S3Persistence reads the kinds, so that both name the same one first.
  for (const kind of ['user_data', 'chat_data', 'conversations'] as const) {
    if (refuseHiddenKeys && unlisted.has(kind)) await refuseSnapshotBeside(store, path, kind);
  }
  return objects;
}

/** The keys of every object `layout` keeps the state at `path` in (what deleting the state deletes). */
export async function stateObjectKeys(store: ObjectStore, path: string, layout: LayoutName): Promise<string[]> {
  return (await layoutObjects(store, path, layoutFor(layout))).map((object) => object.key);
}

/** Tells `report` how far each listed kind is read, kind by kind, each with its own total. */
function kindProgress(objects: readonly LayoutObject[], report: ((progress: LoadProgress) => void) | undefined) {
  const totals = new Map<ShardedKind, number>();
  for (const { kind } of objects) if (kind !== undefined) totals.set(kind, (totals.get(kind) ?? 0) + 1);
  const loaded = new Map<ShardedKind, number>();
  for (const [kind, total] of totals) report?.({ kind, loaded: 0, total });
  return (kind: ShardedKind | undefined) => {
    if (kind === undefined) return;
    loaded.set(kind, (loaded.get(kind) ?? 0) + 1);
    report?.({ kind, loaded: loaded.get(kind)!, total: totals.get(kind)! });
  };
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
  options: ReadStateOptions = {},
): Promise<StoredState> {
  const names = options.layout ? [options.layout] : LAYOUT_NAMES;
  const objectsOf = new Map<LayoutName, LayoutObject[]>();
  const reading = `reading s3://${store.bucket}/${path}`;
  options.onProgress?.(`${reading}: listing its objects`);
  for (const name of names) objectsOf.set(name, await layoutObjects(store, path, layoutFor(name), options.refuseHiddenKeys));
  const objects = [...new Map([...objectsOf.values()].flat().map((object) => [object.key, object])).values()];
  const read = new Map<string, StoredObject>();
  let done = 0;
  options.onProgress?.(reading, { done, total: objects.length });
  const readOne = kindProgress(objects, options.onKindProgress);
  await eachLimited(objects, options.concurrency ?? 16, async ({ key, kind }) => {
    read.set(key, await readObject(store, key));
    options.onProgress?.(reading, { done: ++done, total: objects.length });
    readOne(kind);
  });
  const stateOf = (layout: LayoutName): StoredState => ({
    bucket: store.bucket,
    path,
    layout,
    objects: objectsOf.get(layout)!.map(({ key }) => read.get(key)!),
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

/** The readable objects' fields together, without write bookkeeping (what `inspect` counts). */
export function readableFields(state: StoredState): SnapshotFields {
  const fields = layoutFor(state.layout).join(state.objects.map((object) => object.fields));
  fields.delete(WRITE_IDS_FIELD);
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
  const contents = layoutFor(current.layout).split(current.path, fields);
  for (const key of existing) if (!contents.has(key)) contents.set(key, new Map());
  return putObjects(store, current, contents, options);
}

/**
 * Writes each object of `contents` (key to its fields) in place of what `current` read of it, each
 * PUT conditional on that read; throws {@link SnapshotChangedError} naming what was written when
 * another writer changed an object meanwhile.
 */
export async function putObjects(
  store: ObjectStore,
  current: StoredState,
  contents: ReadonlyMap<string, SnapshotFields>,
  options: ProgressReport = {},
): Promise<Array<{ key: string; etag: string }>> {
  const etags = new Map(current.objects.map((object) => [object.key, object.etag]));
  const keys = [...contents.keys()];
  const written: Array<{ key: string; etag: string }> = [];
  const writing = `writing s3://${store.bucket}/${current.path}`;
  options.onProgress?.(writing, { done: 0, total: keys.length });
  try {
    await eachLimited(keys, options.concurrency ?? 16, async (key) => {
      const etag = await writeOnce({ store, key, codec: SNAPSHOT_CODEC, etag: etags.get(key) ?? null }, contents.get(key)!);
      written.push({ key, etag });
      options.onProgress?.(writing, { done: written.length, total: keys.length });
    });
  } catch (error) {
    if (!(error instanceof WriteConflictError)) throw error;
    throw new SnapshotChangedError(store.bucket, error.key ?? '', written.map((done) => done.key), { cause: error });
  }
  return written;
}
