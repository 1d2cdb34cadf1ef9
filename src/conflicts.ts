/**
 * What happens when two writers change the same entry, and how a caller can take part.
 */
import type { SectionName } from './snapshot/entries.js';

/** Two writers changed the same entry: this instance's change met another one already stored. */
export interface EntryConflict {
  /** The section: `user_data`, `chat_data`, `bot_data`, `callback_data` or `conversations`. */
  section: SectionName;
  /** The entry, e.g. `user_data[42]`, `bot_data.total`, `conversations["survey"][[1,2]]`. */
  entry: string;
  /** The entry as this instance last read it; `undefined` when it did not exist. */
  base: unknown;
  /** This instance's value; `undefined` when this instance removed the entry. */
  ours: unknown;
  /** The value another writer stored meanwhile; `undefined` when it removed the entry. */
  theirs: unknown;
}

/**
 * Decides a conflict: returns the value to store for the entry (`undefined` removes it).
 * Without one, this instance's write is the later one and wins, except for callback data, which is
 * merged per keyboard and per callback query (`mergeCallbackData`, which a merge function of one's
 * own can call too).
 *
 * @example
 * // counters add up instead of the later write winning
 * merge: ({ entry, base, ours, theirs }) =>
 *   entry === 'bot_data.total' ? (theirs as number) + (ours as number) - (base as number) : ours
 */
export type MergeFunction = (conflict: EntryConflict) => unknown;

/** Told of every same-entry conflict, with the value that was kept. */
export type ConflictHook = (conflict: EntryConflict & { resolution: unknown }) => void;

export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './engine/conditional-object.js';
