/**
 * How a caller's whole value maps onto stored entries, both ways: the bot data entries that make
 * the stored bot data a new value, and a refreshed value put into the caller's live object.
 */
import { ABSENT, type EntryRef, type EntryValue } from '../snapshot/entries.js';
import { defineEntry, isPlainObject } from '../snapshot/values.js';

/**
 * The bot data entries to set so that the stored bot data (`current`) becomes `value`: per
 * top-level property when both are objects, so that writers changing different properties merge.
 */
export function botDataChanges(current: EntryValue, value: unknown): Array<[EntryRef, EntryValue]> {
  if (!isPlainObject(value) || !(current === ABSENT || isPlainObject(current))) return [[{ section: 'bot_data', property: null }, value]];
  const stored = current === ABSENT ? {} : current;
  const changes: Array<[EntryRef, EntryValue]> = Object.keys(value).map((property) => [{ section: 'bot_data', property }, value[property]]);
  for (const property of Object.keys(stored)) {
    if (!Object.prototype.hasOwnProperty.call(value, property)) changes.push([{ section: 'bot_data', property }, ABSENT]);
  }
  return changes;
}

/** Makes `target` hold what `source` holds, keeping its identity (the caller's live object). */
export function replaceInPlace(target: unknown, source: unknown): void {
  if (target instanceof Map && source instanceof Map) {
    target.clear();
    for (const [key, value] of source) target.set(key, value);
  } else if (Array.isArray(target) && Array.isArray(source)) {
    target.splice(0, target.length, ...(source as unknown[]));
  } else if (isPlainObject(target) && isPlainObject(source)) {
    for (const key of Object.keys(target)) delete target[key];
    for (const key of Object.keys(source)) defineEntry(target, key, source[key]);
  }
}
