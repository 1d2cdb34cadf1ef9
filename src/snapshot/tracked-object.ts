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
  /** What the caller saw of the entry when it made the change: a stored value that differs is another writer's. */
  base: EntryValue;
  /** The caller's value. */
  value: EntryValue;
  /** What goes out instead when the entry met another writer's change: the merge's decision. */
  outgoing?: EntryValue;
  /** The stored entry `outgoing` was decided against, so that one conflict is decided once. */
  decidedAgainst?: EntryValue;
  /**
   * What an earlier write of this instance stored for the entry when that was a merge: the caller
   * never saw it, so finding it stored is no new conflict, and the caller's change is merged onto
   * it again without being counted or reported.
   */
  ownMerge?: EntryValue;
  /** Bumped on every change, so a write only clears the changes it carried. */
  version: number;
  /** The updates whose handlers made the change; a change of an update another writer stored first is dropped. */
  updates: ReadonlySet<number>;
  /**
   * The change made by each update in turn, oldest first, when more than one update changed the
   * entry before a write (a failed write keeps its changes for the next): the oldest ones another
   * writer stored already are dropped from the bottom, and the rest still apply.
   */
  steps: ReadonlyArray<{ readonly updates: ReadonlySet<number>; readonly value: EntryValue }>;
}

const NO_UPDATES: ReadonlySet<number> = new Set();

/** How many handled update ids an object remembers, at most. */
export const PROCESSED_UPDATES_KEPT = 1000;
/** How long a handled update id is remembered: Telegram keeps an undelivered update for at most 24 hours. */
export const PROCESSED_UPDATES_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Which entries a caller sees together: a section, or one conversation. A caller that read a whole
 * scope (`getUserData()`) saw every entry missing from it as absent.
 */
function scopeOf(ref: EntryRef): string {
  return ref.section === 'conversations' ? `conversations:${JSON.stringify(ref.name)}` : ref.section;
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
  /** What the caller last saw of single entries (read, refreshed or written), by scope, then entry id. */
  private readonly seenEntries = new Map<string, Map<string, EntryValue>>();
  /** The fields as they were when the caller last read a whole scope. */
  private readonly seenScopes = new Map<string, SnapshotFields>();
  /** Entries a write of this instance stored as a merge's decision that the caller was not handed since. */
  private readonly ownMerges = new Map<string, EntryValue>();
  /** Updates whose changes a write of this instance stored in the object. */
  private readonly ownUpdates = new Set<number>();

  constructor(options: TrackedObjectOptions) {
    this.options = options;
    this.key = options.key;
  }

  /** True while a change made for update `updateId` is not yet stored. */
  carries(updateId: number): boolean {
    for (const change of this.pending.values()) if (change.updates.has(updateId) && change.ref.section !== 'processed_updates') return true;
    return false;
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
    return change === undefined ? this.decoding(() => readEntry(this.known, ref)) : outgoingOf(change);
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

  /**
   * Records a change, made by the handler of update `updateId` when given; returns false (and
   * records nothing) when the entry already holds `value`. The change is based on what the caller
   * saw of the entry (see {@link saw}); when the stored entry differs from that at write time,
   * another writer changed it: a conflict.
   */
  set(ref: EntryRef, value: EntryValue, updateId?: number): boolean {
    const current = this.entry(ref);
    const id = entryId(ref);
    const previous = this.pending.get(id);
    const seen = this.baseOf(ref);
    let base = previous === undefined ? seen : previous.base;
    let steps = [...(previous?.steps ?? [])];
    if (previous?.decidedAgainst !== undefined && seen === outgoingOf(previous)) {
      // The caller built on a merge's decision it was handed: the change now runs from what the merge met.
      base = previous.decidedAgainst;
      steps = [{ updates: previous.updates, value: seen }];
    }
    const ownMerge = previous?.ownMerge ?? this.ownMerges.get(id);
    this.noteSeen(ref, value);
    this.ownMerges.delete(id);
    // Unchanged, unless another writer stored this very value since the caller looked: that is a conflict too.
    if (sameEntry(current, value) && sameEntry(base, current)) return false;
    this.pending.delete(id); // re-inserted last: changes apply in the order they were made
    let updates = previous?.updates ?? NO_UPDATES;
    if (updateId !== undefined && !updates.has(updateId)) updates = new Set([...updates, updateId]);
    const last = steps.at(-1);
    if (last !== undefined && (updateId === undefined || last.updates.has(updateId) || last.updates.size === 0)) {
      steps[steps.length - 1] = { updates: updateId === undefined ? last.updates : new Set([...last.updates, updateId]), value };
    } else {
      steps.push({ updates: updateId === undefined ? NO_UPDATES : new Set([updateId]), value });
    }
    this.pending.set(id, { ref, base, value, version: ++this.nextVersion, updates, steps, ownMerge });
    if (updateId !== undefined && ref.section !== 'processed_updates') this.recordUpdate(updateId, this.options.environment.now());
    return true;
  }

  /**
   * Records that update `updateId` was handled (its changes, if any, travel in the same write), and
   * forgets ids older than {@link PROCESSED_UPDATES_TTL_MS} or beyond the newest
   * {@link PROCESSED_UPDATES_KEPT}. Returns whether anything changed.
   */
  recordUpdate(updateId: number, now: number): boolean {
    let changed = this.set({ section: 'processed_updates', id: updateId }, now, updateId);
    const remembered = (this.view().get('processed_updates') as Map<number, number> | undefined) ?? new Map<number, number>();
    const newestFirst = [...remembered].sort(([, a], [, b]) => b - a);
    for (const [index, [id, handledAt]] of newestFirst.entries()) {
      if (index >= PROCESSED_UPDATES_KEPT || now - handledAt > PROCESSED_UPDATES_TTL_MS) {
        changed = this.set({ section: 'processed_updates', id }, ABSENT) || changed;
      }
    }
    return changed;
  }

  /** The caller read `value` as the entry (a get or a refresh). */
  sawEntry(ref: EntryRef, value: EntryValue): void {
    this.ownMerges.delete(entryId(ref));
    this.noteSeen(ref, value);
  }

  private noteSeen(ref: EntryRef, value: EntryValue): void {
    const scope = scopeOf(ref);
    let entries = this.seenEntries.get(scope);
    if (entries === undefined) this.seenEntries.set(scope, (entries = new Map()));
    entries.set(entryId(ref), value);
  }

  /** The caller read the whole scope of `ref` (every user, every state of a conversation) as it is now. */
  sawScope(ref: EntryRef): void {
    const scope = scopeOf(ref);
    this.ownMerges.clear();
    this.seenEntries.delete(scope);
    this.seenScopes.set(scope, this.view());
  }

  /** The caller saw the scope of `ref` empty (a sharded key its listing did not show). */
  sawNothing(ref: EntryRef): void {
    const scope = scopeOf(ref);
    this.seenEntries.delete(scope);
    this.seenScopes.set(scope, new Map());
  }

  /** What the caller last saw of an entry; when it saw nothing of it, the entry as this instance holds it now. */
  private baseOf(ref: EntryRef): EntryValue {
    const scope = scopeOf(ref);
    const id = entryId(ref);
    const entries = this.seenEntries.get(scope);
    if (entries?.has(id)) return entries.get(id);
    // Bot data seen as a whole answers for each of its properties.
    if (ref.section === 'bot_data' && ref.property !== null && entries?.has('bot_data')) {
      return readEntry(new Map([['bot_data', entries.get('bot_data')]]), ref);
    }
    const fields = this.seenScopes.get(scope);
    return this.decoding(() => readEntry(fields ?? this.known, ref));
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
      // The object may hold more than the caller saw (a refresh, a merge): that is a conflict too.
      this.decoding(() => this.reconcile(this.known));
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

  /**
   * Drops the pending changes a stored write carried; a change made since is based on the stored
   * one. The write's updates are this instance's from now on.
   */
  private acknowledge(batch: readonly PendingChange[]): void {
    for (const change of batch) {
      const id = entryId(change.ref);
      const pending = this.pending.get(id);
      const stored = outgoingOf(change);
      if (stored !== change.value) this.ownMerges.set(id, stored);
      if (pending?.version === change.version) {
        this.pending.delete(id);
      } else if (pending !== undefined) {
        // A change the caller made while this write was in flight builds on the caller's value.
        pending.base = change.value;
        pending.updates = new Set([...pending.updates].filter((update) => !change.updates.has(update)));
        pending.steps = [{ updates: pending.updates, value: pending.value }];
        pending.ownMerge = stored === change.value ? undefined : stored;
      }
      for (const update of change.updates) this.ownUpdates.add(update);
    }
    for (const oldest of this.ownUpdates) {
      if (this.ownUpdates.size <= PROCESSED_UPDATES_KEPT) break;
      this.ownUpdates.delete(oldest);
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
    const landed = new Set(writeIdsOf(fresh.fields));
    for (const [writeId, batch] of this.unconfirmed) {
      if (!landed.has(writeId)) continue;
      this.acknowledge(batch);
      this.unconfirmed.delete(writeId);
    }
    this.adopt(fresh);
  }

  /**
   * Compares each pending change with the entry in `stored`. A change whose updates another writer
   * already stored is dropped: those updates' effects are there once already, and this instance's
   * view of them may be older. An entry that differs from what the caller saw is a conflict:
   * counted, reported, and decided by the merge function, or else this (later) write wins.
   */
  private reconcile(stored: SnapshotFields): void {
    const { merge, onConflict, metrics, exportValue, importValue } = this.options;
    const handled = stored.get('processed_updates') as Map<number, unknown> | undefined;
    const storedElsewhere = (update: number) => handled?.has(update) === true && !this.ownUpdates.has(update);
    for (const [id, change] of this.pending) {
      // Even when the entry looks unchanged: the handler may have seen the update's effect already.
      // Steps of updates stored elsewhere go, from the oldest and from the newest; one between two
      // that stay cannot be taken out of the value, and is merged as a conflict.
      const storedAlready = (step: PendingChange['steps'][number]) => step.updates.size > 0 && [...step.updates].every(storedElsewhere);
      let first = 0;
      let end = change.steps.length;
      while (first < end && storedAlready(change.steps[first]!)) first++;
      while (end > first && storedAlready(change.steps[end - 1]!)) end--;
      if (first === end) {
        this.pending.delete(id);
        continue;
      }
      if (first > 0 || end < change.steps.length) {
        if (first > 0) change.base = change.steps[first - 1]!.value;
        change.steps = change.steps.slice(first, end);
        change.value = change.steps.at(-1)!.value;
        change.updates = new Set(change.steps.flatMap((step) => [...step.updates]));
        change.outgoing = change.decidedAgainst = undefined;
      }
      const theirs = readEntry(stored, change.ref);
      if (sameEntry(change.base, theirs)) {
        change.outgoing = change.decidedAgainst = undefined;
        continue;
      }
      if (change.decidedAgainst !== undefined && sameEntry(change.decidedAgainst, theirs)) continue;
      change.decidedAgainst = theirs;
      // When an update was handled is bookkeeping, not data: any writer's time will do.
      if (change.ref.section === 'processed_updates') {
        change.outgoing = change.value;
        continue;
      }
      const conflict = {
        section: change.ref.section,
        entry: entryLabel(change.ref),
        base: exportEntry(change.base, exportValue),
        ours: exportEntry(change.value, exportValue),
        theirs: exportEntry(theirs, exportValue),
      };
      const decide = () => {
        const decided = merge?.(conflict);
        return merge === undefined ? change.value : decided === undefined ? ABSENT : importValue(decided, conflict.entry);
      };
      if (change.ownMerge !== undefined && sameEntry(change.ownMerge, theirs)) {
        change.outgoing = decide();
        continue;
      }
      metrics.conflicts++;
      change.outgoing = decide();
      onConflict?.({ ...conflict, resolution: exportEntry(change.outgoing, exportValue) });
    }
  }

  private adopt(state: ReadState): void {
    this.known = state.fields;
    this.etag = state.etag;
    this.generation++;
  }

  private changes(): Array<readonly [EntryRef, EntryValue]> {
    return [...this.pending.values()].map((change) => [change.ref, outgoingOf(change)] as const);
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

function outgoingOf(change: PendingChange): EntryValue {
  return change.decidedAgainst === undefined ? change.value : change.outgoing;
}

function sameEntry(a: EntryValue, b: EntryValue): boolean {
  if (a === ABSENT || b === ABSENT) return a === b;
  return deepEqual(a, b);
}

function exportEntry(value: EntryValue, exportValue: (value: unknown) => unknown): unknown {
  return value === ABSENT ? undefined : exportValue(value);
}
