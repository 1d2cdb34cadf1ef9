/**
 * One snapshot object in the bucket, as this instance knows it: the fields last read or written
 * with their ETag, the changes not yet durable, and the machinery that writes them: group commit,
 * conditional puts, and rebase of pending changes on conflict.
 */
import type { Environment } from '../engine/environment.js';
import { SnapshotDecodeError, StorageError, WriteConflictError } from '../errors.js';
import { backoffDelay, type ConflictHook, type MergeFunction, type RetryPolicy } from '../conflicts.js';
import { PreconditionLostError, type ObjectStore } from '../store/object-store.js';
import {
  decodeEntriesFresh,
  decodeSnapshotLazily,
  EncodedEntry,
  encodeSnapshot,
  storedValue,
  UndecodableSnapshot,
  type EntryEncodings,
  type SnapshotFields,
} from './codec.js';
import { ABSENT, applyChanges, entryId, entryLabel, invalidSection, readEntry, type EntryRef, type EntryValue } from './entries.js';
import { deepEqual } from './values.js';

/** Requests and outcomes, counted per persistence instance. */
export interface PersistenceMetrics {
  /** GETs sent, conditional ones included. */
  gets: number;
  /** Conditional GETs answered 304 Not Modified. */
  notModified: number;
  /** Conditional PUTs sent (a multipart upload counts once). */
  puts: number;
  /** PUTs that lost their condition (412, 409, or 404 on If-Match) and were retried or given up. */
  preconditionsLost: number;
  /** Entries that this instance and another writer both changed. */
  conflicts: number;
}

export function emptyMetrics(): PersistenceMetrics {
  return { gets: 0, notModified: 0, puts: 0, preconditionsLost: 0, conflicts: 0 };
}

export interface TrackedObjectOptions {
  store: ObjectStore;
  key: string;
  retry: RetryPolicy;
  metrics: PersistenceMetrics;
  merge?: MergeFunction;
  onConflict?: ConflictHook;
  /** Copies a stored value out for a hook, and a hook's answer in. */
  exportValue: (value: unknown) => unknown;
  importValue: (value: unknown, path: string) => unknown;
  environment: Environment;
}

interface PendingChange {
  ref: EntryRef;
  value: EntryValue;
  /** Bumped on every change, so a write only clears the changes it carried. */
  version: number;
}

interface ReadState {
  fields: SnapshotFields;
  etag: string | null; // null: the object does not exist
}

/**
 * The snapshot field listing the ids of its latest writes, newest last. A writer whose answer was
 * lost finds its id there and knows its write was stored, instead of taking it for another writer's.
 */
export const WRITE_IDS_FIELD = '$writes';
/**
 * A write id matters only until its writer knows whether the write landed: ids of other writers are
 * kept for 10 minutes, at most 64, so that a busy object holds enough; a writer drops its own ids
 * whose outcome it knows, so that an object one instance writes often (a sharded user) holds few.
 */
const WRITE_IDS_TTL_MS = 10 * 60 * 1000;
const WRITE_IDS_KEPT = 64;

/** The write ids in `fields`: a list of `[id, writtenAt]` pairs, newest last. */
function writeIdsOf(fields: SnapshotFields): string[] {
  const entries = fields.get(WRITE_IDS_FIELD);
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) => (Array.isArray(entry) && typeof entry[0] === 'string' ? [entry[0]] : []));
}

/** The write ids to store with a new write `writeId`: the recent ones still needed, then it. */
function recentWrites(stored: unknown, writeId: string, now: number, settled: (id: string) => boolean): Array<[string, number]> {
  const kept = (Array.isArray(stored) ? stored : []).filter(
    (entry: unknown): entry is [string, number] =>
      Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'number' && now - entry[1] < WRITE_IDS_TTL_MS && !settled(entry[0]),
  );
  return [...kept.slice(-(WRITE_IDS_KEPT - 1)), [writeId, now]];
}

/** How many of its own write ids an instance remembers, to drop them from the object once settled. */
const OWN_WRITE_IDS_REMEMBERED = 256;

export class TrackedObject {
  readonly key: string;
  private readonly options: TrackedObjectOptions;
  private known: SnapshotFields = new Map();
  private etag: string | null = null;
  /** Bumped whenever `known` changes, so a read that raced a write is not taken as newer. */
  private generation = 0;
  private loading: Promise<void> | null = null;
  private loaded = false;
  private unreadable: SnapshotDecodeError | null = null;
  private readonly pending = new Map<string, PendingChange>();
  private nextVersion = 0;
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private revalidating: Promise<boolean> | null = null;
  /** Writes sent but not answered with success, by write id, with the changes each carried. */
  private readonly unconfirmed = new Map<string, PendingChange[]>();
  /** The ids of this instance's latest writes, oldest first. */
  private readonly ownWriteIds = new Set<string>();
  /** The bytes of entries this instance encoded, so that the next write of an unchanged entry reuses them. */
  private readonly encodings: EntryEncodings = new WeakMap();

  constructor(options: TrackedObjectOptions) {
    this.options = options;
    this.key = options.key;
  }

  get hasPendingChanges(): boolean {
    return this.pending.size > 0;
  }

  /** True while a write of this object is in flight. */
  get isWriting(): boolean {
    return this.writing !== null;
  }

  /** Reads the object once (cold start); later calls share that read. A failed read is tried again next time. */
  load(): Promise<void> {
    this.throwIfUnreadable();
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.read()
      .then((state) => {
        this.adopt(state);
        this.loaded = true;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /** The fields with pending changes applied: what this instance holds as current. */
  view(): SnapshotFields {
    this.throwIfUnreadable();
    return this.pending.size === 0 ? this.known : applyChanges(this.known, this.changes());
  }

  /**
   * The current value of one entry. Throws {@link SnapshotDecodeError} when the entry is stored
   * but cannot be decoded; from then on the whole object is unreadable to this instance, as an
   * object that does not decode at all is, and is never written again by it.
   */
  entry(ref: EntryRef): EntryValue {
    this.throwIfUnreadable();
    // Bot data changes per property and as a whole: only the applied view answers for both.
    if (ref.section === 'bot_data') return this.decoding(() => readEntry(this.view(), ref));
    const change = this.pending.get(entryId(ref));
    return change === undefined ? this.decoding(() => readEntry(this.known, ref)) : change.value;
  }

  /**
   * Every current entry of an id section, decoded (see {@link entry} for the errors), each with
   * whether the value is the caller's own (decoded for this call, nothing to copy) or stored (to
   * be copied before it is handed out).
   */
  idEntries(section: 'user_data' | 'chat_data'): Array<[id: number, value: unknown, own: boolean]> {
    const stored = this.view().get(section) as Map<number, unknown> | undefined;
    return this.decoding(() => {
      const entries = [...(stored ?? [])];
      // Entries nobody read yet are decoded together, each a value of the caller's own.
      const fresh = entries.flatMap(([, value]) => (value instanceof EncodedEntry && value.decodesFresh ? [value] : []));
      const values = decodeEntriesFresh(fresh);
      let next = 0;
      return entries.map(([id, value]): [number, unknown, boolean] =>
        value instanceof EncodedEntry && value === fresh[next] ? [id, values[next++], true] : [id, storedValue(value), false],
      );
    });
  }

  /**
   * Runs `read`; an entry that cannot be decoded makes the object unreadable (a
   * {@link SnapshotDecodeError} naming it, for this read and every later one).
   */
  private decoding<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof UndecodableSnapshot)) throw error;
      const { store, key } = this.options;
      this.unreadable = new SnapshotDecodeError(error.message, { bucket: store.bucket, key }, { cause: error });
      throw this.unreadable;
    }
  }

  /** Records a change; returns false (and records nothing) when the entry already holds `value`. */
  set(ref: EntryRef, value: EntryValue): boolean {
    const current = this.entry(ref);
    if (current === ABSENT ? value === ABSENT : value !== ABSENT && deepEqual(current, value)) return false;
    const id = entryId(ref);
    this.pending.delete(id); // re-inserted last: changes apply in the order they were made
    this.pending.set(id, { ref, value, version: ++this.nextVersion });
    return true;
  }

  /**
   * Revalidates with a conditional GET (If-None-Match); concurrent calls share one request.
   * Returns true when the stored object had changed (or was read for the first time).
   */
  revalidate(): Promise<boolean> {
    this.throwIfUnreadable();
    if (!this.loaded) return this.load().then(() => true);
    this.revalidating ??= this.revalidateOnce().finally(() => {
      this.revalidating = null;
    });
    return this.revalidating;
  }

  private async revalidateOnce(): Promise<boolean> {
    const generation = this.generation;
    const state = await this.read(this.etag ?? undefined);
    if (state === 'not-modified') return false;
    if (generation !== this.generation) return true; // a write landed meanwhile: what we hold is newer
    if (state.etag === this.etag) return false;
    this.rebase(state);
    return true;
  }

  /**
   * Makes every pending change durable. Changes made while a write is in flight go out together
   * in the next write (group commit); the promise resolves when the changes pending at the time of
   * the call are stored.
   */
  commit(): Promise<void> {
    if (this.writing === null) {
      if (this.pending.size === 0) return Promise.resolve();
      this.writing = this.writeRound().finally(() => {
        this.writing = null;
      });
      return this.writing;
    }
    this.queued ??= this.writing
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.queued = null;
        return this.commit();
      });
    return this.queued;
  }

  private async writeRound(): Promise<void> {
    await this.load();
    const { store, key, retry, metrics } = this.options;
    for (let attempt = 1; ; attempt++) {
      this.throwIfUnreadable();
      const batch = [...this.pending.values()];
      if (batch.length === 0) return;
      const writeId = this.options.environment.writeId();
      const next = applyChanges(this.known, this.changes());
      // This instance's own ids are needed only while it does not know whether their write landed.
      const settled = (id: string) => this.ownWriteIds.has(id) && !this.unconfirmed.has(id);
      next.set(WRITE_IDS_FIELD, recentWrites(this.known.get(WRITE_IDS_FIELD), writeId, this.options.environment.now(), settled));
      this.ownWriteIds.add(writeId);
      for (const oldest of this.ownWriteIds) {
        if (this.ownWriteIds.size <= OWN_WRITE_IDS_REMEMBERED) break;
        this.ownWriteIds.delete(oldest);
      }
      const condition = this.etag === null ? ({ ifNoneMatch: '*' } as const) : { ifMatch: this.etag };
      // Until a write is answered, it may have landed (a lost response, the SDK's own retry): its id tells later.
      this.unconfirmed.set(writeId, batch);
      try {
        metrics.puts++;
        const { etag } = await store.put(key, encodeSnapshot(next, this.encodings), condition);
        this.unconfirmed.clear();
        this.acknowledge(batch);
        this.adopt({ fields: next, etag });
        return;
      } catch (error) {
        if (!(error instanceof PreconditionLostError)) throw error;
        metrics.preconditionsLost++;
        if (attempt >= retry.maxAttempts) {
          // Leave with the stored state in hand, so the next write does not start from a known-stale ETag.
          await this.read().then(
            (fresh) => this.rebase(fresh),
            () => undefined,
          );
          throw new WriteConflictError(attempt, { bucket: store.bucket, key }, { cause: error });
        }
      }
      const { environment } = this.options;
      await environment.sleep(backoffDelay(retry, attempt, environment.random));
      this.rebase(await this.read());
    }
  }

  /** Drops the pending changes a stored write carried, unless they were changed again since. */
  private acknowledge(batch: readonly PendingChange[]): void {
    for (const change of batch) {
      const id = entryId(change.ref);
      if (this.pending.get(id)?.version === change.version) this.pending.delete(id);
    }
  }

  /**
   * Takes `fresh` as the stored state and re-applies pending changes on top. A write of this
   * instance whose answer was lost but which `fresh` shows as stored is acknowledged first. An entry
   * that another writer changed while this instance changed it too is a conflict: counted,
   * reported, and decided by the merge function, or else this (later) write wins.
   */
  private rebase(fresh: ReadState): void {
    this.decoding(() => this.rebaseOnto(fresh));
  }

  private rebaseOnto(fresh: ReadState): void {
    const { merge, onConflict, metrics, exportValue, importValue } = this.options;
    const landed = new Set(writeIdsOf(fresh.fields));
    // What this instance last knew, with its own writes that `fresh` shows as landed: a change made
    // while such a write was in flight is based on it, not on the older state.
    let known = this.known;
    for (const [writeId, batch] of this.unconfirmed) {
      if (!landed.has(writeId)) continue;
      known = applyChanges(known, batch.map((change) => [change.ref, change.value] as const));
      this.acknowledge(batch);
      this.unconfirmed.delete(writeId);
    }
    for (const change of this.pending.values()) {
      const base = readEntry(known, change.ref);
      const theirs = readEntry(fresh.fields, change.ref);
      if (sameEntry(base, theirs)) continue;
      metrics.conflicts++;
      const conflict = {
        section: change.ref.section,
        entry: entryLabel(change.ref),
        base: exportEntry(base, exportValue),
        ours: exportEntry(change.value, exportValue),
        theirs: exportEntry(theirs, exportValue),
      };
      if (merge !== undefined) {
        const decided = merge(conflict);
        change.value = decided === undefined ? ABSENT : importValue(decided, conflict.entry);
      }
      onConflict?.({ ...conflict, resolution: exportEntry(change.value, exportValue) });
    }
    this.adopt(fresh);
  }

  private adopt(state: ReadState): void {
    this.known = state.fields;
    this.etag = state.etag;
    this.generation++;
  }

  private changes(): Array<readonly [EntryRef, EntryValue]> {
    return [...this.pending.values()].map((change) => [change.ref, change.value] as const);
  }

  private read(): Promise<ReadState>;
  private read(ifNoneMatch: string | undefined): Promise<ReadState | 'not-modified'>;
  private async read(ifNoneMatch?: string): Promise<ReadState | 'not-modified'> {
    const { store, key, metrics } = this.options;
    metrics.gets++;
    const result = await store.get(key, ifNoneMatch === undefined ? {} : { ifNoneMatch });
    if (result.status === 'not-modified') {
      metrics.notModified++;
      if (ifNoneMatch === undefined) {
        throw new StorageError('the server answered 304 to an unconditional read', { bucket: store.bucket, key });
      }
      return 'not-modified';
    }
    if (result.status === 'absent') return { fields: new Map(), etag: null };
    try {
      const fields = decodeSnapshotLazily(result.body);
      const invalid = invalidSection(fields);
      if (invalid !== undefined) throw new UndecodableSnapshot(invalid);
      return { fields, etag: result.etag };
    } catch (error) {
      if (!(error instanceof UndecodableSnapshot)) throw error;
      this.unreadable = new SnapshotDecodeError(error.message, { bucket: store.bucket, key }, { cause: error });
      throw this.unreadable;
    }
  }

  private throwIfUnreadable(): void {
    if (this.unreadable !== null) throw this.unreadable;
  }
}

function sameEntry(a: EntryValue, b: EntryValue): boolean {
  if (a === ABSENT || b === ABSENT) return a === b;
  return deepEqual(a, b);
}

function exportEntry(value: EntryValue, exportValue: (value: unknown) => unknown): unknown {
  return value === ABSENT ? undefined : exportValue(value);
}
