/**
 * Migration between layouts (single-file, multi-file, sharded), in either direction: read the
 * source whole, split it into the target layout's objects, put those that differ, then verify
 * counts and checksums from fresh reads of both sides, record the verified result beside the
 * target, and only then, if asked, delete the source. Re-running an interrupted migration puts
 * only what is missing or different.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { writeOnce } from './engine/write-once.js';
import type { ObjectCodec } from './engine/conditional-object.js';
import { LayoutCollisionError, PersistenceError, WriteConflictError } from './errors.js';
import { SnapshotChangedError } from './import/errors.js';
import { collisionOf, probeNesting } from './layout-collision.js';
import { guardedS3Store } from './s3-persistence-options.js';
import { UndecodableSnapshot, type SnapshotFields } from './snapshot/codec.js';
import { layoutFor, parseFilepath, type LayoutName } from './snapshot/layout.js';
import { WRITE_IDS_FIELD } from './snapshot/tracked-object.js';
import { deepEqual } from './snapshot/values.js';
import type { LoadProgress } from './state/layout-objects.js';
import { countState, STATE_SECTIONS, stateChecksum, stateSections, type StateCounts } from './state/state-summary.js';
import { putObjects, readStoredState, stateFields, stateObjectKeys, type StoredState } from './state/whole-state.js';
import type { ObjectStore } from './store/object-store.js';

export type { StateCounts } from './state/state-summary.js';

/** The counts a migration reports and verifies. */
function countsOf(state: SnapshotFields): StateCounts {
  const { users, chats, conversationKeys, botDataProperties, callbackKeyboards } = countState(state);
  return { users, chats, conversationKeys, botDataProperties, callbackKeyboards };
}

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

/** One side of a migration, opened. */
interface Side {
  endpoint: MigrationEndpoint;
  store: ObjectStore;
  path: string;
}

/** The state of one side, read whole; a listing that comes back empty beside a single-file snapshot is refused unless `expectOther`. */
function readSide(side: Side, concurrency: number, onKindProgress?: (progress: LoadProgress) => void, expectOther = false): Promise<StoredState> {
  return readStoredState(side.store, side.path, { layout: side.endpoint.layout, concurrency, onKindProgress, refuseHiddenKeys: !expectOther });
}

/** The state a side holds: handled-update marks are not state and are not moved. */
const stateOf = (stored: StoredState) => stateSections(stateFields(stored));

/** How many of the source's entries the target lacks or holds otherwise, and how many it holds already. */
function compareEntries(source: SnapshotFields, target: SnapshotFields, report: (done: number, total: number) => void) {
  let copied = 0;
  let unchanged = 0;
  const step = (changed: boolean, total: number) => {
    if (changed) copied++;
    else unchanged++;
    report(copied + unchanged, total);
  };
  const counts = countState(source);
  const total = counts.users + counts.chats + counts.conversationKeys + 2;
  for (const section of ['user_data', 'chat_data'] as const) {
    const [from, to] = [source.get(section), target.get(section)] as Array<Map<number, unknown> | undefined>;
    for (const [id, value] of from ?? []) step(!to?.has(id) || !deepEqual(to.get(id), value), total);
  }
  const [from, to] = [source.get('conversations'), target.get('conversations')] as Array<Map<string, Map<string, unknown>> | undefined>;
  for (const [name, states] of from ?? []) {
    for (const [key, state] of states) step(!deepEqual(to?.get(name)?.get(key), state), total);
  }
  step(!deepEqual(source.get('bot_data'), target.get('bot_data')), total);
  step(!deepEqual(source.get('callback_data'), target.get('callback_data')), total);
  return { copied, unchanged };
}

/**
 * Makes the target hold the source's state: the state split into the target layout's objects,
 * each put only where it differs from what the target object holds. What a target object holds
 * besides the state (handled-update marks, fields of a later release) stays.
 */
async function copyState(source: SnapshotFields, target: StoredState, side: Side, concurrency: number, report: (done: number, total: number) => void) {
  const counted = compareEntries(source, stateOf(target), report);
  const wanted = layoutFor(target.layout).split(target.path, source);
  const stored = new Map(target.objects.map((object) => [object.key, object]));
  for (const object of target.objects) if (object.etag !== null && !wanted.has(object.key)) wanted.set(object.key, new Map());
  const changed = new Map<string, SnapshotFields>();
  for (const [key, fields] of wanted) {
    const current = stored.get(key)?.fields ?? new Map<string, unknown>();
    if (deepEqual(stateSections(current), stateSections(fields))) continue;
    const kept = [...current].filter(([name]) => name !== WRITE_IDS_FIELD && !(STATE_SECTIONS as readonly string[]).includes(name));
    changed.set(key, new Map([...kept, ...fields]));
  }
  await putObjects(side.store, target, changed, { concurrency });
  return counted;
}

/** The store of a side: the one given, or S3 through `client`, checked for conditional writes as `S3Persistence` checks it. */
function open(endpoint: MigrationEndpoint): Side {
  const { bucket, path } = parseFilepath(endpoint.filepath);
  if (endpoint.store !== undefined) return { endpoint, store: endpoint.store, path };
  if (endpoint.client === undefined) throw new MigrationError(`give a client or a store for ${endpoint.filepath}`, { code: 'INVALID_OPTIONS' });
  return { endpoint, store: guardedS3Store(bucket, path, { client: endpoint.client }), path };
}

const describe = (endpoint: MigrationEndpoint) => `${endpoint.filepath} (${endpoint.layout})`;

/**
 * Refuses, before anything is written, a migration whose layouts collide on a server that cannot
 * hold both: one's object at a path under which the other keeps keys (single-file and sharded at
 * one filepath). Deleting the source afterwards would not help: the target is written and
 * verified while the source is still there. Where the server holds both (S3, MinIO), resolves.
 */
async function refuseCollision(from: MigrationEndpoint, to: MigrationEndpoint, target: Side): Promise<void> {
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
  const failed = await probeNesting(target.store, target.path);
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
  if (describe(from) === describe(to)) {
    throw new MigrationError(`source and target are the same: ${describe(from)}`, { code: 'INVALID_OPTIONS' });
  }
  const progress = (phase: MigrationPhase, round: number, unit?: string) => (done: number, total: number) =>
    options.onProgress?.(unit === undefined ? { phase, round, done, total } : { phase, round, done, total, unit });
  // A kind with nothing stored has nothing to count.
  const loading = (phase: MigrationPhase, round: number) => (step: LoadProgress) => {
    if (step.total > 0) progress(phase, round, LOAD_UNITS[step.kind])(step.loaded, step.total);
  };

  const [source, target] = [open(from), open(to)];
  await refuseCollision(from, to, target);

  let copied = 0;
  let unchanged = 0;
  // Every phase reports at least its start and its end; sharded reads report kind by kind.
  const phase = async <T>(name: MigrationPhase, round: number, work: (onLoad: (step: LoadProgress) => void) => Promise<T>) => {
    progress(name, round)(0, 1);
    const result = await work(loading(name, round));
    progress(name, round)(1, 1);
    return result;
  };
  for (let round = 1; round <= maxRounds; round++) {
    const sourceState = stateOf(await phase('read source', round, (onLoad) => readSide(source, concurrency, onLoad)));
    // Before the copy, a sharded target at the source's path lists nothing beside the source's snapshot.
    const targetState = await phase('read target', round, (onLoad) => readSide(target, concurrency, onLoad, true));
    try {
      const result = await copyState(sourceState, targetState, target, concurrency, progress('copy', round, 'entries'));
      copied += result.copied;
      unchanged += round === 1 ? result.unchanged : 0;
    } catch (error) {
      if (!(error instanceof SnapshotChangedError)) throw error;
      continue; // another writer changed the target meanwhile: read both again
    }

    // Verify from scratch: fresh reads of both sides, nothing taken from memory.
    const [sourceNow, targetNow] = await phase('verify', round, async (onLoad) => [
      stateOf(await readSide(source, concurrency, onLoad)),
      stateOf(await readSide(target, concurrency, onLoad)),
    ]);
    const counts = countsOf(sourceNow);
    const checksum = stateChecksum(sourceNow);
    if (!deepEqual(counts, countsOf(targetNow)) || checksum !== stateChecksum(targetNow)) continue; // the source changed meanwhile

    const manifestKey = `${target.path}.migration.json`;
    const manifest = { from: describe(from), to: describe(to), counts, checksum, verifiedAt: new Date().toISOString() };
    const existing = await target.store.get(manifestKey);
    try {
      await writeOnce({ store: target.store, key: manifestKey, codec: MANIFEST_CODEC, etag: existing.status === 'found' ? existing.etag : null }, manifest);
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
      throw new MigrationError(`another migration wrote ${manifestKey} at the same time: run the migration again once it is done`, { cause: error });
    }

    let deleted = 0;
    if (options.deleteSource === true) {
      const keys = await stateObjectKeys(source.store, source.path, from.layout);
      const report = progress('delete source', round, 'objects');
      for (let i = 0; i < keys.length; i += concurrency) {
        await Promise.all(keys.slice(i, i + concurrency).map((key) => source.store.delete(key)));
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
