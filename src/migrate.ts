/**
 * Migration between layouts (single-file, multi-file, sharded), in either direction: copy, verify
 * counts and checksums, record the verified result beside the target, and only then, if asked,
 * delete the source. Re-running an interrupted migration skips what was already copied.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { writeOnce } from './engine/write-once.js';
import type { ObjectCodec } from './engine/conditional-object.js';
import { LayoutCollisionError, PersistenceError, WriteConflictError } from './errors.js';
import { collisionOf, OTHER_LAYOUT_EXPECTED, probeNesting } from './layout-collision.js';
import { eachLimited } from './limit.js';
import { S3Persistence, type LoadProgress } from './s3-persistence.js';
import { encodeSnapshot, UndecodableSnapshot } from './snapshot/codec.js';
import { listShardedKeys, parseFilepath, sectionKey, type LayoutName } from './snapshot/layout.js';
import { deepEqual, isPlainObject } from './snapshot/values.js';
import type { ObjectStore } from './store/object-store.js';
import { S3ObjectStore } from './store/s3-store.js';

/** One side of a migration. */
export interface MigrationEndpoint {
  /** `s3://bucket/prefix`, as for `S3Persistence`. */
  filepath: string;
  layout: LayoutName;
  client?: S3Client;
  /** Another object store in place of S3. */
  store?: ObjectStore;
}

export interface MigrationOptions {
  from: MigrationEndpoint;
  to: MigrationEndpoint;
  /** Delete the source's objects once the target is verified; default false. */
  deleteSource?: boolean;
  /** Requests in flight at once; default 16. */
  concurrency?: number;
  /** Copy-and-verify rounds before giving up when the source keeps changing (a bot still running); default 3. */
  maxRounds?: number;
  onProgress?: (progress: MigrationProgress) => void;
}

export type MigrationPhase = 'read source' | 'read target' | 'copy' | 'verify' | 'delete source';

export interface MigrationProgress {
  phase: MigrationPhase;
  round: number;
  done: number;
  total: number;
  /**
   * What `done` and `total` count: `users`, `chats`, `conversation keys` (a sharded read, kind by
   * kind), `entries` (copy) or `objects` (delete source). Absent at a phase's start (0/1) and end (1/1).
   */
  unit?: string;
}

const LOAD_UNITS: Record<LoadProgress['kind'], string> = { user_data: 'users', chat_data: 'chats', conversations: 'conversation keys' };

/** What a migration did; `verified` is always true in a returned report (failures throw). */
export interface MigrationReport {
  from: string;
  to: string;
  counts: StateCounts;
  /** SHA-256 of the canonical encoding of the whole state, equal on both sides. */
  checksum: string;
  /** Entries written to the target (0 when a re-run finds everything copied). */
  copied: number;
  /** Entries the target already held. */
  unchanged: number;
  rounds: number;
  verified: true;
  /** The object recording the verified migration, beside the target. */
  manifestKey: string;
  /** Source objects deleted (0 unless `deleteSource`). */
  deleted: number;
}

export interface StateCounts {
  users: number;
  chats: number;
  conversationKeys: number;
  botDataProperties: number;
  callbackKeyboards: number;
}

/** The state a layout holds, read whole. Handled-update marks are not state and are not moved. */
interface State {
  users: Map<number, unknown>;
  chats: Map<number, unknown>;
  botData: unknown;
  callbackData: unknown;
  conversations: Map<string, Map<string, unknown>>;
}

type AnyPersistence = S3Persistence<unknown, unknown, unknown>;

export class MigrationError extends PersistenceError {
  override readonly name = 'MigrationError';
  /** `INVALID_OPTIONS` for a migration asked wrongly; `STORAGE_FAILURE` for one the storage kept from completing. */
  constructor(message: string, options?: { cause?: unknown; code?: 'INVALID_OPTIONS' | 'STORAGE_FAILURE' }) {
    super(options?.code ?? 'STORAGE_FAILURE', message, {}, options);
  }
}

/** The migration manifest: JSON for people to read, without write records (a lost answer is a conflict). */
const MANIFEST_CODEC: ObjectCodec<unknown> = {
  empty: () => null,
  decode(body) {
    try {
      return { value: JSON.parse(new TextDecoder().decode(body)) as unknown, writes: [] };
    } catch (error) {
      throw new UndecodableSnapshot(`the migration manifest is not JSON (${(error as Error).message})`);
    }
  },
  encode: (manifest) => new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
};

function open(endpoint: MigrationEndpoint, concurrency: number, onProgress?: (progress: LoadProgress) => void): AnyPersistence {
  return new S3Persistence<unknown, unknown, unknown>({
    filepath: endpoint.filepath,
    layout: endpoint.layout,
    client: endpoint.client,
    store: endpoint.store,
    onFlush: true,
    loadConcurrency: concurrency,
    onProgress,
    contextTypes: { botData: () => undefined },
  });
}

async function readState(persistence: AnyPersistence): Promise<State> {
  const conversations = new Map<string, Map<string, unknown>>();
  for (const name of await persistence.conversationNames()) conversations.set(name, await persistence.getConversations(name));
  return {
    users: await persistence.getUserData(),
    chats: await persistence.getChatData(),
    botData: await persistence.getBotData(),
    callbackData: await persistence.getCallbackData(),
    conversations,
  };
}

function countsOf(state: State): StateCounts {
  const callback = state.callbackData as [unknown[], unknown] | null;
  return {
    users: state.users.size,
    chats: state.chats.size,
    conversationKeys: [...state.conversations.values()].reduce((sum, states) => sum + states.size, 0),
    botDataProperties: isPlainObject(state.botData) ? Object.keys(state.botData).length : state.botData === undefined ? 0 : 1,
    callbackKeyboards: Array.isArray(callback?.[0]) ? callback[0].length : 0,
  };
}

/** Sorted keys everywhere, so equal states give equal bytes whatever order entries were written in. */
function canonical(value: Map<string, unknown>): Map<string, unknown>;
function canonical(value: unknown): unknown;
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Map) {
    const entries = [...value].map(([key, entry]) => [key, canonical(entry)] as const);
    return new Map(entries.sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0)));
  }
  if (isPlainObject(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) Object.defineProperty(sorted, key, { value: canonical(value[key]), enumerable: true, writable: true, configurable: true });
    return sorted;
  }
  return value;
}

function checksumOf(state: State): string {
  const fields = new Map<string, unknown>([
    ['user_data', state.users],
    ['chat_data', state.chats],
    ['bot_data', state.botData ?? null],
    ['callback_data', state.callbackData ?? null],
    ['conversations', state.conversations],
  ]);
  return createHash('sha256').update(encodeSnapshot(canonical(fields))).digest('hex');
}

/** Makes `target` hold what `source` holds; returns the number of entries written and left as they were. */
async function copyState(
  source: State,
  target: State,
  persistence: AnyPersistence,
  concurrency: number,
  report: (done: number, total: number) => void,
) {
  let copied = 0;
  let unchanged = 0;
  const total = source.users.size + source.chats.size + countsOf(source).conversationKeys + 2;
  const step = (changed: boolean) => {
    if (changed) copied++;
    else unchanged++;
    report(copied + unchanged, total);
  };
  const writes: Array<() => Promise<void>> = [];
  for (const [kind, from, to] of [
    ['user', source.users, target.users],
    ['chat', source.chats, target.chats],
  ] as const) {
    for (const [id, value] of from) {
      const changed = !to.has(id) || !deepEqual(to.get(id), value);
      if (changed) writes.push(() => kind === 'user' ? persistence.updateUserData(id, value) : persistence.updateChatData(id, value));
      step(changed);
    }
    for (const id of to.keys()) {
      if (!from.has(id)) writes.push(() => kind === 'user' ? persistence.dropUserData(id) : persistence.dropChatData(id));
    }
  }
  for (const [name, states] of source.conversations) {
    const existing = target.conversations.get(name);
    for (const [key, state] of states) {
      const changed = !deepEqual(existing?.get(key), state);
      if (changed) writes.push(() => persistence.updateConversation(name, JSON.parse(key) as Array<number | string>, state));
      step(changed);
    }
  }
  for (const [name, states] of target.conversations) {
    for (const key of states.keys()) {
      if (!source.conversations.get(name)?.has(key)) writes.push(() => persistence.updateConversation(name, JSON.parse(key) as Array<number | string>, null));
    }
  }
  const botChanged = !deepEqual(source.botData, target.botData);
  if (botChanged && source.botData !== undefined) writes.push(() => persistence.updateBotData(source.botData));
  step(botChanged);
  const callbackChanged = !deepEqual(source.callbackData, target.callbackData);
  if (callbackChanged && source.callbackData !== null) writes.push(() => persistence.updateCallbackData(source.callbackData as never));
  step(callbackChanged);
  // Each write of a sharded target reads its object first: bounded, like the reads.
  await eachLimited(writes, concurrency, (write) => write());
  await persistence.flush();
  return { copied, unchanged };
}

/** Every object key the source layout uses. */
async function sourceKeys(endpoint: MigrationEndpoint, store: ObjectStore): Promise<string[]> {
  const { path } = parseFilepath(endpoint.filepath);
  if (endpoint.layout !== 'sharded') {
    const keys = new Set(
      (['user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'] as const).map((section) =>
        sectionKey(path, endpoint.layout === 'single-file', section),
      ),
    );
    return [...keys];
  }
  const keys = [`${path}/bot_data`, `${path}/callback_data`];
  for await (const key of listShardedKeys((prefix) => store.list(prefix), path)) keys.push(key);
  return keys;
}

function storeOf(endpoint: MigrationEndpoint): ObjectStore {
  if (endpoint.store !== undefined) return endpoint.store;
  const { bucket } = parseFilepath(endpoint.filepath);
  if (endpoint.client === undefined) throw new MigrationError(`give a client or a store for ${endpoint.filepath}`, { code: 'INVALID_OPTIONS' });
  return new S3ObjectStore({ client: endpoint.client, bucket });
}

const describe = (endpoint: MigrationEndpoint) => `${endpoint.filepath} (${endpoint.layout})`;

/**
 * Refuses, before anything is written, a migration whose layouts collide on a server that cannot
 * hold both: one's object at a path under which the other keeps keys (single-file and sharded at
 * one filepath). Deleting the source afterwards would not help: the target is written and
 * verified while the source is still there. Where the server holds both (S3, MinIO), resolves.
 */
async function refuseCollision(from: MigrationEndpoint, to: MigrationEndpoint): Promise<void> {
  const collision = collisionOf(from, to);
  if (collision === undefined) return;
  const { object, other } = collision;
  const keys = { objectKey: object.key, otherKey: other.key };
  const location = { bucket: parseFilepath(to.filepath).bucket };
  const between = `"${object.key}" (${object.side.layout}, ${object.side === from ? 'the source' : 'the target'}) and "${other.key}" (${other.side.layout})`;
  const instead =
    `Nothing was written. Migrate to another filepath (to.filepath), then switch the bot's PERSISTENCE_URL to it; ` +
    'or, with the bot stopped, migrate to a temporary filepath with deleteSource: true, then from there back to this one';
  if (collision.same) throw new LayoutCollisionError(`cannot migrate: both layouts write the object ${between}. ${instead}`, keys, location);
  const failed = await probeNesting(storeOf(to), parseFilepath(to.filepath).path);
  if (failed === undefined) return;
  throw new LayoutCollisionError(
    `cannot migrate in place: ${between} share a path (an object, and keys under it), and the server ${failed}. ${instead}`,
    keys,
    location,
  );
}

/**
 * Copies the state of one layout into another, verifies it, records the verified migration in
 * `<target path>.migration.json`, and deletes the source only when asked and verified.
 *
 * @example
 * const report = await migrateLayout({
 *   from: { filepath: 's3://bot-state/prod/bot', layout: 'single-file', client },
 *   to: { filepath: 's3://bot-state/prod/bot', layout: 'sharded', client },
 *   onProgress: ({ phase, done, total }) => console.error(phase, done, '/', total),
 * });
 */
export async function migrateLayout(options: MigrationOptions): Promise<MigrationReport> {
  const { from, to } = options;
  const concurrency = options.concurrency ?? 16;
  const maxRounds = options.maxRounds ?? 3;
  if (from.filepath === to.filepath && from.layout === to.layout) {
    throw new MigrationError(`source and target are the same: ${describe(from)}`, { code: 'INVALID_OPTIONS' });
  }
  const progress = (phase: MigrationPhase, round: number, unit?: string) => (done: number, total: number) =>
    options.onProgress?.(unit === undefined ? { phase, round, done, total } : { phase, round, done, total, unit });
  // A kind with nothing stored has nothing to count.
  const loading = (phase: MigrationPhase, round: number) => (step: LoadProgress) => {
    if (step.total > 0) progress(phase, round, LOAD_UNITS[step.kind])(step.loaded, step.total);
  };

  await refuseCollision(from, to);

  let copied = 0;
  let unchanged = 0;
  // Every phase reports at least its start and its end; sharded reads report entry by entry.
  const phase = async <T>(name: MigrationPhase, round: number, work: (onLoad: (step: LoadProgress) => void) => Promise<T>) => {
    progress(name, round)(0, 1);
    const result = await work(loading(name, round));
    progress(name, round)(1, 1);
    return result;
  };
  for (let round = 1; round <= maxRounds; round++) {
    const source = await phase('read source', round, (onLoad) => readState(open(from, concurrency, onLoad)));
    const targetPersistence = open(to, concurrency, loading('read target', round));
    // Before the copy, a sharded target at the source's path lists nothing beside the source's snapshot.
    OTHER_LAYOUT_EXPECTED.add(targetPersistence);
    const target = await phase('read target', round, () => readState(targetPersistence));
    const result = await copyState(source, target, targetPersistence, concurrency, progress('copy', round, 'entries'));
    copied += result.copied;
    unchanged += round === 1 ? result.unchanged : 0;

    // Verify from scratch: fresh reads of both sides, nothing taken from memory.
    const [sourceNow, targetNow] = await phase('verify', round, async (onLoad) => [
      await readState(open(from, concurrency, onLoad)),
      await readState(open(to, concurrency, onLoad)),
    ]);
    const counts = countsOf(sourceNow);
    const checksum = checksumOf(sourceNow);
    if (!deepEqual(counts, countsOf(targetNow)) || checksum !== checksumOf(targetNow)) continue; // the source changed meanwhile

    const targetStore = storeOf(to);
    const manifestKey = `${parseFilepath(to.filepath).path}.migration.json`;
    const manifest = { from: describe(from), to: describe(to), counts, checksum, verifiedAt: new Date().toISOString() };
    const existing = await targetStore.get(manifestKey);
    try {
      await writeOnce({ store: targetStore, key: manifestKey, codec: MANIFEST_CODEC, etag: existing.status === 'found' ? existing.etag : null }, manifest);
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
      throw new MigrationError(`another migration wrote ${manifestKey} at the same time: run the migration again once it is done`, { cause: error });
    }

    let deleted = 0;
    if (options.deleteSource === true) {
      const sourceStore = storeOf(from);
      const keys = await sourceKeys(from, sourceStore);
      const report = progress('delete source', round, 'objects');
      for (let i = 0; i < keys.length; i += concurrency) {
        await Promise.all(keys.slice(i, i + concurrency).map((key) => sourceStore.delete(key)));
        deleted = Math.min(i + concurrency, keys.length);
        report(deleted, keys.length);
      }
    }
    return { from: describe(from), to: describe(to), counts, checksum, copied, unchanged, rounds: round, verified: true, manifestKey, deleted };
  }
  throw new MigrationError(
    `the target did not match the source after ${maxRounds} rounds: the source is still changing (stop the bot, then run the migration again; it resumes)`,
  );
}
