/**
 * One snapshot object in the bucket, as this instance knows it: the fields last read or written,
 * the changes not yet durable ({@link ChangeSet}), group commit, and the conditional writes, which
 * the engine makes ({@link ConditionalObject}) with the change set as its rebase policy.
 */
import type { ConflictHook, MergeFunction } from '../conflicts.js';
import { ConditionalObject, type ObjectCodec, type PersistenceMetrics, type RetryPolicy, type WriteRecord } from '../engine/conditional-object.js';
import type { Environment } from '../engine/environment.js';
import { SnapshotDecodeError } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { ChangeSet, outgoingOf, PROCESSED_UPDATES_KEPT, PROCESSED_UPDATES_TTL_MS, type PendingChange } from './change-set.js';
import {
  decodeSnapshotLazily,
  EncodedEntry,
  LazySection,
  NOT_READ,
  encodeSnapshot,
  encodeSnapshotChunks,
  UndecodableSnapshot,
  type EntryEncodings,
  type SnapshotFields,
} from './codec.js';
import { ABSENT, applyChanges, parseSections, readEntry, type EntryRef, type EntryValue } from './entries.js';

export { emptyMetrics, type PersistenceMetrics } from '../engine/conditional-object.js';
export { PROCESSED_UPDATES_KEPT, PROCESSED_UPDATES_TTL_MS } from './change-set.js';

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
  /** Snapshots larger than this are refused before they are read. */
  maxSnapshotBytes?: number;
}

/**
 * The snapshot field listing the ids of its latest writes, newest last (the engine's write
 * records): a writer whose answer was lost finds its id there.
 */
export const WRITE_IDS_FIELD = '$writes';

const EMPTY: SnapshotFields = new Map();

/**
 * Snapshots as the engine stores them: CBOR fields, the write records in {@link WRITE_IDS_FIELD}.
 * `whole` says whether the read in progress is for every `get*`: then every entry is decoded in the
 * same pass (see `decodeSnapshotLazily`).
 */
export function snapshotCodec(encodings: EntryEncodings, whole: () => boolean = () => false): ObjectCodec<SnapshotFields> {
  return {
    empty: () => new Map(),
    decode(body) {
      const fields = parseSections(decodeSnapshotLazily(body, whole()));
      const stored: unknown = fields.get(WRITE_IDS_FIELD);
      fields.delete(WRITE_IDS_FIELD);
      const writes = (Array.isArray(stored) ? stored : []).filter(
        (record: unknown): record is WriteRecord => Array.isArray(record) && typeof record[0] === 'string' && typeof record[1] === 'number',
      );
      return { value: fields, writes };
    },
    encode(fields, writes) {
      return encodeSnapshot(new Map([...fields, [WRITE_IDS_FIELD, writes]]), encodings);
    },
    encodeChunks(fields, writes) {
      return encodeSnapshotChunks(new Map([...fields, [WRITE_IDS_FIELD, writes]]), encodings);
    },
  };
}

/** The snapshot codec without an instance's memory of encoded entries: for one-shot writes. */
export const SNAPSHOT_CODEC = snapshotCodec(new WeakMap());

export class TrackedObject {
  readonly key: string;
  private readonly options: TrackedObjectOptions;
  private readonly engine: ConditionalObject<SnapshotFields, PendingChange[]>;
  private readonly changes: ChangeSet;
  private loading: Promise<void> | null = null;
  private loaded = false;
  /** Whether the read in flight is a whole one (see {@link load}). */
  private readingWhole = false;
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private revalidating: Promise<boolean> | null = null;

  constructor(options: TrackedObjectOptions) {
    this.options = options;
    this.key = options.key;
    const { store, key, retry, metrics, environment, maxSnapshotBytes: maxBytes } = options;
    this.changes = new ChangeSet({
      ...options,
      known: () => this.known,
      decoding: (read) => this.decoding(read),
    });
    // The bytes of entries this instance encoded, so that the next write of an unchanged entry reuses them.
    const codec = snapshotCodec(new WeakMap(), () => this.readingWhole);
    this.engine = new ConditionalObject({ store, key, codec, retry, metrics, environment, maxBytes, onLanded: (batch) => this.changes.acknowledge(batch) });
  }

  /** The fields as last read or written. */
  private get known(): SnapshotFields {
    return this.engine.current?.value ?? EMPTY;
  }

  /** True while a change made for update `updateId` is not yet stored. */
  carries(updateId: number): boolean {
    return this.changes.carries(updateId);
  }

  get hasPendingChanges(): boolean {
    return this.changes.size > 0;
  }

  /** True while a write of this object is in flight. */
  get isWriting(): boolean {
    return this.writing !== null;
  }

  /**
   * Reads the object once (cold start); later calls share that read. A failed read is tried again
   * next time. `whole`: the caller is about to read every entry (a `get*`, as PTB's start-up does),
   * so the read decodes them all in one pass; otherwise entries are decoded when first read.
   */
  load(whole = false): Promise<void> {
    this.engine.throwIfUnreadable();
    if (this.loaded) return Promise.resolve();
    if (this.loading === null) {
      this.readingWhole = whole;
      this.loading = this.engine
        .read()
        .then(() => {
          this.loaded = true;
        })
        .finally(() => {
          this.loading = null;
          this.readingWhole = false;
        });
    }
    return this.loading;
  }

  /**
   * The fields with pending changes applied: what this instance holds as current. With `section`,
   * only that section is brought up to date (the others as last read or written): a change of one
   * user then copies no map of every user for a look at bot data or conversations.
   */
  view(section?: EntryRef['section']): SnapshotFields {
    this.engine.throwIfUnreadable();
    if (this.changes.size === 0) return this.known;
    const changes = this.changes.entries();
    return applyChanges(this.known, section === undefined ? changes : changes.filter(([ref]) => ref.section === section));
  }

  /**
   * The current value of one entry. Throws {@link SnapshotDecodeError} when the entry is stored
   * but cannot be decoded; from then on the whole object is unreadable to this instance, as an
   * object that does not decode at all is, and is never written again by it.
   */
  entry(ref: EntryRef): EntryValue {
    this.engine.throwIfUnreadable();
    // Bot data changes per property and as a whole: only the applied view answers for both.
    if (ref.section === 'bot_data') return this.decoding(() => readEntry(this.view('bot_data'), ref));
    const change = this.changes.get(ref);
    return change === undefined ? this.decoding(() => readEntry(this.known, ref)) : outgoingOf(change);
  }

  /**
   * Every current entry of an id section, added to `into` (a new Map when none is given, which it
   * returns), each a value of the caller's own: the value a whole read decoded, or a fresh decode
   * when nobody holds the entry's value, or else a copy (`exportValue`). A section as a whole read
   * left it hands over the Map of its values itself. See {@link entry} for the errors.
   */
  readIdSection(section: 'user_data' | 'chat_data', into?: Map<number, unknown>): Map<number, unknown> {
    const stored = this.view(section).get(section);
    if (stored === undefined) return into ?? new Map();
    if (into === undefined && stored instanceof LazySection) {
      const taken = stored.takeFresh();
      if (taken !== undefined) return taken;
    }
    const entries = into ?? new Map<number, unknown>();
    const { exportValue } = this.options;
    const other = (value: unknown, id: number): void => {
      if (value instanceof EncodedEntry) {
        const plain = value.plainFreshValue();
        entries.set(id, plain !== NOT_READ ? plain : value.decodesFresh ? value.freshValue(section, id) : exportValue(value.read(section, id)));
      } else {
        entries.set(id, exportValue(value));
      }
    };
    // A section as read hands most values over without an entry object being made for each.
    this.decoding(() => (stored instanceof LazySection ? stored.forEachPlain(entries, other) : stored.forEach(other)));
    return entries;
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
      const unreadable = new SnapshotDecodeError(error.message, { bucket: store.bucket, key }, { cause: error });
      this.engine.refuse(unreadable);
      throw unreadable;
    }
  }

  /**
   * Records a change, made by the handler of update `updateId` when given; returns false (and
   * records nothing) when the entry already holds `value` (see {@link ChangeSet.set}). A change of
   * an update records the update as handled in this object too, so that another delivery of it
   * finds its effect here.
   */
  set(ref: EntryRef, value: EntryValue, updateId?: number): boolean {
    if (!this.changes.set(ref, value, this.entry(ref), updateId)) return false;
    if (updateId !== undefined && ref.section !== 'processed_updates') this.recordUpdate(updateId, this.options.environment.now());
    return true;
  }

  /**
   * Records that update `updateId` was handled, and forgets ids older than
   * {@link PROCESSED_UPDATES_TTL_MS} or beyond the newest {@link PROCESSED_UPDATES_KEPT}. Returns
   * whether anything changed.
   */
  recordUpdate(updateId: number, now: number): boolean {
    // Each change of one update records it: once it waits to be written, the rest need not sort the ids again.
    if (this.changes.get({ section: 'processed_updates', id: updateId })?.updates.has(updateId) === true) return false;
    let changed = this.set({ section: 'processed_updates', id: updateId }, now, updateId);
    const remembered = this.view('processed_updates').get('processed_updates') ?? new Map<number, number>();
    const newestFirst = [...remembered].sort(([, a], [, b]) => b - a);
    for (const [index, [id, handledAt]] of newestFirst.entries()) {
      if (index >= PROCESSED_UPDATES_KEPT || now - handledAt > PROCESSED_UPDATES_TTL_MS) {
        changed = this.set({ section: 'processed_updates', id }, ABSENT) || changed;
      }
    }
    return changed;
  }

  /** The caller read `value` as the entry (a get or a refresh): its next change is based on it. */
  sawEntry(ref: EntryRef, value: EntryValue): void {
    this.changes.sawEntry(ref, value);
  }

  /** The caller read the whole scope of `ref` (every user, every state of a conversation) as it is now. */
  sawScope(ref: EntryRef): void {
    this.changes.sawScope(ref, this.view(ref.section));
  }

  /** The caller saw the scope of `ref` empty (a sharded key its listing did not show). */
  sawNothing(ref: EntryRef): void {
    this.changes.sawScope(ref, new Map());
  }

  /**
   * Revalidates with a conditional GET (If-None-Match); concurrent calls share one request.
   * Returns true when the stored object had changed (or was read for the first time).
   */
  revalidate(): Promise<boolean> {
    this.engine.throwIfUnreadable();
    if (!this.loaded) return this.load().then(() => true);
    this.revalidating ??= this.engine
      .revalidate()
      .then((fresh) => fresh !== undefined)
      .finally(() => {
        this.revalidating = null;
      });
    return this.revalidating;
  }

  /**
   * Makes every pending change durable. Changes made while a write is in flight go out together
   * in the next write (group commit); the promise resolves when the changes pending at the time of
   * the call are stored.
   */
  commit(): Promise<void> {
    if (this.writing === null) {
      if (this.changes.size === 0) return Promise.resolve();
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
    const { changes } = this;
    await this.engine.commit({
      prepare: (current) => {
        // The object may hold more than the caller saw (a refresh, a merge, another writer): decide that first.
        this.decoding(() => changes.reconcile(current.value));
        const batch = changes.batch();
        if (batch.length === 0) return undefined;
        return { value: applyChanges(current.value, changes.entries()), carries: batch };
      },
      stored: (batch) => changes.acknowledge(batch),
      rebase: () => undefined, // reconciled with the fresh state when the next attempt prepares
    });
  }
}
