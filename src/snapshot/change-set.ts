/**
 * The changes one instance made to the entries of one snapshot object and has not stored yet, and
 * what its caller saw of each entry: the rebase policy of a snapshot object.
 *
 * The base of a change is what the caller saw: the entry it read (a get, a refresh) or last wrote,
 * an entry missing from a whole section it read as absent, and else the entry as this instance
 * holds it. When the stored entry differs from the base at write time, another writer changed it:
 * a conflict, counted, reported and decided by the merge function (else this, the later, write
 * wins).
 *
 * A change made for an update carries the update's id. A change whose update another writer
 * already stored in the object is dropped: that update's effect is there once already, and this
 * instance may have computed its change from older state.
 */
import type { ConflictHook, EntryConflict, MergeFunction } from '../conflicts.js';
import type { PersistenceMetrics } from '../engine/conditional-object.js';
import type { SnapshotFields } from './codec.js';
import { ABSENT, entryId, entryLabel, readEntry, type EntryRef, type EntryValue } from './entries.js';
import { deepEqual } from './values.js';

/** The change one update made, in the order they were made. */
interface Step {
  readonly updates: ReadonlySet<number>;
  readonly value: EntryValue;
}

export interface PendingChange {
  readonly ref: EntryRef;
  /** What the caller saw of the entry when it made the change. */
  base: EntryValue;
  /** The caller's value. */
  value: EntryValue;
  /** What goes out instead when the entry met another writer's change: the merge's decision. */
  outgoing?: EntryValue;
  /** The stored entry `outgoing` was decided against, so that one conflict is decided once. */
  decidedAgainst?: EntryValue;
  /**
   * What an earlier write of this instance stored for the entry as a merge's decision: the caller
   * never saw it, so finding it stored is no new conflict, and the caller's change is merged onto
   * it again without being counted or reported.
   */
  ownMerge?: EntryValue;
  /** Bumped on every change, so a write only clears the changes it carried. */
  readonly version: number;
  /** The updates whose handlers made the change. */
  updates: ReadonlySet<number>;
  /**
   * The change of each update in turn, when more than one update changed the entry before a write
   * (a failed write keeps its changes for the next): the steps of updates another writer stored
   * go from either end; one between two that stay cannot be taken out, and is merged as a conflict.
   */
  steps: readonly Step[];
}

const NO_UPDATES: ReadonlySet<number> = new Set();

/** How many handled update ids an object remembers, at most. */
export const PROCESSED_UPDATES_KEPT = 1000;
/** How long a handled update id is remembered: Telegram keeps an undelivered update for at most 24 hours. */
export const PROCESSED_UPDATES_TTL_MS = 24 * 60 * 60 * 1000;

export interface ChangeSetOptions {
  metrics: PersistenceMetrics;
  merge?: MergeFunction;
  onConflict?: ConflictHook;
  /** Copies a stored value out for a hook, and a hook's answer in. */
  exportValue: (value: unknown) => unknown;
  importValue: (value: unknown, path: string) => unknown;
  /** The fields this instance holds as stored, without its pending changes. */
  known: () => SnapshotFields;
  /** Runs a read of stored entries, turning an undecodable entry into the object's decode error. */
  decoding: <T>(read: () => T) => T;
}

/**
 * Which entries a caller sees together: a section, or one conversation. A caller that read a whole
 * scope (`getUserData()`) saw every entry missing from it as absent.
 */
function scopeOf(ref: EntryRef): string {
  return ref.section === 'conversations' ? `conversations:${JSON.stringify(ref.name)}` : ref.section;
}

export function sameEntry(a: EntryValue, b: EntryValue): boolean {
  if (a === ABSENT || b === ABSENT) return a === b;
  return deepEqual(a, b);
}

/** The value a write carries for the change. */
export function outgoingOf(change: PendingChange): EntryValue {
  return change.decidedAgainst === undefined ? change.value : change.outgoing;
}

export class ChangeSet {
  private readonly options: ChangeSetOptions;
  private readonly pending = new Map<string, PendingChange>();
  private nextVersion = 0;
  /** What the caller last saw of single entries (read, refreshed or written), by scope, then entry id. */
  private readonly seenEntries = new Map<string, Map<string, EntryValue>>();
  /** The fields as they were when the caller last read a whole scope. */
  private readonly seenScopes = new Map<string, SnapshotFields>();
  /** Entries a write of this instance stored as a merge's decision that the caller was not handed since. */
  private readonly ownMerges = new Map<string, EntryValue>();
  /** Updates whose changes a write of this instance stored in the object. */
  private readonly ownUpdates = new Set<number>();

  constructor(options: ChangeSetOptions) {
    this.options = options;
  }

  get size(): number {
    return this.pending.size;
  }

  /** The pending change of an entry. */
  get(ref: EntryRef): PendingChange | undefined {
    return this.pending.get(entryId(ref));
  }

  /** Every pending change with the value it carries, in the order they were made. */
  entries(): Array<readonly [EntryRef, EntryValue]> {
    return [...this.pending.values()].map((change) => [change.ref, outgoingOf(change)] as const);
  }

  /** What a write would carry now. */
  batch(): PendingChange[] {
    return [...this.pending.values()];
  }

  /** True while a change made for update `updateId` is not yet stored. */
  carries(updateId: number): boolean {
    for (const change of this.pending.values()) if (change.updates.has(updateId) && change.ref.section !== 'processed_updates') return true;
    return false;
  }

  /**
   * Records a change of the entry, which holds `current` now; returns false (and records nothing)
   * when it holds `value` already and nobody else changed it since the caller saw it.
   */
  set(ref: EntryRef, value: EntryValue, current: EntryValue, updateId?: number): boolean {
    const id = entryId(ref);
    const previous = this.pending.get(id);
    const seen = this.baseOf(ref);
    let base = previous === undefined ? seen : previous.base;
    let steps = [...(previous?.steps ?? [])];
    if (previous?.decidedAgainst !== undefined && seen === outgoingOf(previous)) {
      // The caller built on a merge's decision it was handed: the change now runs from what the merge
      // met, each step as the merge makes it of that step alone, so that each can still be dropped.
      const met = previous.decidedAgainst;
      base = met;
      steps = previous.steps.map((step, index) => ({
        updates: step.updates,
        value: index === previous.steps.length - 1 ? seen : this.merged(previous, step.value, met),
      }));
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
    return true;
  }

  /** The caller read `value` as the entry (a get or a refresh). */
  sawEntry(ref: EntryRef, value: EntryValue): void {
    this.ownMerges.delete(entryId(ref));
    this.noteSeen(ref, value);
  }

  /** The caller read the whole scope of `ref` (every user, every state of a conversation) as `fields` hold it. */
  sawScope(ref: EntryRef, fields: SnapshotFields): void {
    const scope = scopeOf(ref);
    this.ownMerges.clear();
    this.seenEntries.delete(scope);
    this.seenScopes.set(scope, fields);
  }

  private noteSeen(ref: EntryRef, value: EntryValue): void {
    const scope = scopeOf(ref);
    let entries = this.seenEntries.get(scope);
    if (entries === undefined) this.seenEntries.set(scope, (entries = new Map()));
    entries.set(entryId(ref), value);
  }

  /** What the caller last saw of an entry; when it saw nothing of it, the entry as this instance holds it. */
  private baseOf(ref: EntryRef): EntryValue {
    const scope = scopeOf(ref);
    const id = entryId(ref);
    const entries = this.seenEntries.get(scope);
    if (entries?.has(id)) return entries.get(id);
    // Bot data seen as a whole answers for each of its properties.
    if (ref.section === 'bot_data' && ref.property !== null && entries?.has('bot_data')) {
      return readEntry(new Map([['bot_data', entries.get('bot_data')]]), ref);
    }
    const fields = this.seenScopes.get(scope) ?? this.options.known();
    return this.options.decoding(() => readEntry(fields, ref));
  }

  /**
   * Drops the pending changes a stored write carried; a change made since builds on the caller's
   * value. The write's updates are this instance's from now on.
   */
  acknowledge(batch: readonly PendingChange[]): void {
    for (const change of batch) {
      const id = entryId(change.ref);
      const pending = this.pending.get(id);
      const stored = outgoingOf(change);
      if (stored !== change.value) this.ownMerges.set(id, stored);
      if (pending?.version === change.version) {
        this.pending.delete(id);
      } else if (pending !== undefined) {
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
   * Compares each pending change with the entry in `stored` (what the write will be conditional
   * on): drops the steps of updates another writer stored, and decides each conflict once.
   */
  reconcile(stored: SnapshotFields): void {
    const handled = stored.get('processed_updates');
    const storedElsewhere = (update: number) => handled?.has(update) === true && !this.ownUpdates.has(update);
    const storedAlready = (step: Step) => step.updates.size > 0 && [...step.updates].every(storedElsewhere);
    for (const [id, change] of this.pending) {
      // Even when the entry looks unchanged: the handler may have seen the update's effect already.
      if (change.steps.some(storedAlready) && !this.dropSteps(change, storedAlready)) {
        this.pending.delete(id);
        continue;
      }
      this.decide(change, readEntry(stored, change.ref));
    }
  }

  /**
   * Takes the steps `drop` picks out of `change`: from the oldest end the base moves up; a later step
   * is rebased onto the steps kept before it by the merge (quietly), as "the changes since the
   * dropped step, applied to what was kept". Returns false when no step is left.
   */
  private dropSteps(change: PendingChange, drop: (step: Step) => boolean): boolean {
    let base = change.base;
    const kept: Step[] = [];
    let original = change.base; // the value before the next step, as the caller made it
    let rebased = change.base; // the same, with the dropped steps taken out
    for (const step of change.steps) {
      if (drop(step)) {
        if (kept.length === 0) base = rebased = step.value;
        original = step.value;
        continue;
      }
      const value = original === rebased ? step.value : this.merged({ ...change, base: original }, step.value, rebased);
      kept.push({ updates: step.updates, value });
      original = step.value;
      rebased = value;
    }
    if (kept.length === 0) return false;
    change.base = base;
    change.steps = kept;
    change.value = rebased;
    change.updates = new Set(kept.flatMap((step) => [...step.updates]));
    change.outgoing = change.decidedAgainst = undefined;
    return true;
  }

  /** What the merge makes of `ours` over `theirs` for `change`'s entry, quietly (not counted, not reported). */
  private merged(change: PendingChange, ours: EntryValue, theirs: EntryValue): EntryValue {
    const { merge, exportValue, importValue } = this.options;
    if (merge === undefined) return ours;
    const entry = entryLabel(change.ref);
    const conflict = { section: change.ref.section, entry, base: exportEntry(change.base, exportValue), ours: exportEntry(ours, exportValue), theirs: exportEntry(theirs, exportValue) };
    return importEntry(merge(conflict), entry, importValue);
  }

  /** Decides what `change` writes over `theirs`, the stored entry. */
  private decide(change: PendingChange, theirs: EntryValue): void {
    if (sameEntry(change.base, theirs)) {
      change.outgoing = change.decidedAgainst = undefined;
      return;
    }
    if (change.decidedAgainst !== undefined && sameEntry(change.decidedAgainst, theirs)) return;
    change.decidedAgainst = theirs;
    // When an update was handled is bookkeeping, not data: any writer's time will do.
    if (change.ref.section === 'processed_updates') {
      change.outgoing = change.value;
      return;
    }
    const { merge, onConflict, metrics, exportValue, importValue } = this.options;
    const conflict: EntryConflict = {
      section: change.ref.section,
      entry: entryLabel(change.ref),
      base: exportEntry(change.base, exportValue),
      ours: exportEntry(change.value, exportValue),
      theirs: exportEntry(theirs, exportValue),
    };
    const decided = merge === undefined ? change.value : importEntry(merge(conflict), conflict.entry, importValue);
    change.outgoing = decided;
    if (change.ownMerge !== undefined && sameEntry(change.ownMerge, theirs)) return; // our own merge, merged onto again
    metrics.conflicts++;
    onConflict?.({ ...conflict, resolution: exportEntry(decided, exportValue) });
  }
}

function exportEntry(value: EntryValue, exportValue: (value: unknown) => unknown): unknown {
  return value === ABSENT ? undefined : exportValue(value);
}

function importEntry(decided: unknown, entry: string, importValue: (value: unknown, path: string) => unknown): EntryValue {
  return decided === undefined ? ABSENT : importValue(decided, entry);
}
