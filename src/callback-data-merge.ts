/**
 * Callback data is one entry (PTB's `[keyboards, callbackQueries]` pair), but it holds many
 * independent things: every keyboard a bot sent, every callback query it answered. Two instances
 * that each send a keyboard change the entry at once; taking the later write whole would drop the
 * other keyboard, whose buttons would then answer "expired". This merge keeps both.
 */
import type { CallbackData } from './contract.js';
import { CallbackDataShapeError, parseCallbackData } from './snapshot/callback-data.js';
import { deepEqual } from './snapshot/values.js';

type Keyboard = CallbackData[0][number];

/**
 * Merges two writers' callback data, each a set: keyboards keyed by their uuid, callback queries
 * by their id. What `ours` added, changed or removed since `base` is applied to `theirs`; where both
 * changed one keyboard or query, ours is taken (the later write). A removal by ours of something
 * `theirs` changed since `base` keeps theirs. Keyboards stay ordered by access time, least recent
 * first, as PTB keeps them; a `CallbackDataCache` trims them to its `maxSize` when it next loads them.
 *
 * The persistence merges callback-data conflicts so when no `merge` option is given; a `merge`
 * function of one's own can hand them here. When a side is not in PTB's shape, or ours removed the
 * whole entry, `ours` is returned (the later write wins, as for any other entry).
 *
 * @example
 * merge: (conflict) =>
 *   conflict.section === 'callback_data'
 *     ? mergeCallbackData(conflict.base, conflict.ours, conflict.theirs)
 *     : conflict.ours,
 */
export function mergeCallbackData(base: unknown, ours: unknown, theirs: unknown): unknown {
  if (ours === undefined) return ours;
  const [baseSets, ourSets, theirSets] = [base, ours, theirs].map(asSets);
  if (baseSets === undefined || ourSets === undefined || theirSets === undefined) return ours;
  const keyboards = [...mergeKeyed(baseSets.keyboards, ourSets.keyboards, theirSets.keyboards).values()];
  // Stable: keyboards accessed at the same time keep the order they had.
  keyboards.sort((a, b) => a[1] - b[1]);
  const queries = mergeKeyed(baseSets.queries, ourSets.queries, theirSets.queries);
  return [keyboards, Object.fromEntries(queries)] satisfies CallbackData;
}

interface Sets {
  keyboards: Map<string, Keyboard>;
  queries: Map<string, string>;
}

/** Callback data (or none: `null`, `undefined`) as keyed sets; `undefined` when it is not PTB's shape. */
function asSets(data: unknown): Sets | undefined {
  let parsed: CallbackData | null;
  try {
    parsed = parseCallbackData(data);
  } catch (error) {
    if (error instanceof CallbackDataShapeError) return undefined;
    throw error;
  }
  const [keyboards, queries] = parsed ?? [[], {}];
  return { keyboards: new Map(keyboards.map((keyboard) => [keyboard[0], keyboard])), queries: new Map(Object.entries(queries)) };
}

/** A three-way merge of keyed sets: ours' additions, changes and removals since `base`, applied to `theirs`. */
function mergeKeyed<V>(base: Map<string, V>, ours: Map<string, V>, theirs: Map<string, V>): Map<string, V> {
  const merged = new Map(theirs);
  for (const [key, value] of ours) {
    if (!base.has(key) || !deepEqual(base.get(key), value)) merged.set(key, value);
  }
  for (const [key, value] of base) {
    if (!ours.has(key) && theirs.has(key) && deepEqual(theirs.get(key), value)) merged.delete(key);
  }
  return merged;
}
