/**
 * Callback data merged per keyboard and per callback query when two writers changed it at once.
 */
import { describe, expect, it } from 'vitest';
import { mergeConcurrentChanges } from '../../handlers/bot.js';
import { MemoryObjectStore, mergeCallbackData, S3Persistence, type CallbackData, type S3PersistenceOptions } from '../../src/index.js';

type Data = Record<string, unknown>;

const keyboard = (uuid: string, time: number, buttons: Record<string, unknown> = { [`${uuid}-b`]: uuid }): CallbackData[0][number] => [uuid, time, buttons];
const data = (keyboards: CallbackData[0], queries: Record<string, string> = {}): CallbackData => [keyboards, queries];

describe('mergeCallbackData', () => {
  const base = data([keyboard('a', 1), keyboard('b', 2)], { q1: 'a' });

  it('keeps the keyboards both writers added, ordered by access time', () => {
    const ours = data([...base[0], keyboard('ours', 5)], base[1]);
    const theirs = data([...base[0], keyboard('theirs', 4)], base[1]);
    expect(mergeCallbackData(base, ours, theirs)).toEqual(data([keyboard('a', 1), keyboard('b', 2), keyboard('theirs', 4), keyboard('ours', 5)], { q1: 'a' }));
  });

  it('applies what ours removed, unless theirs changed it since', () => {
    const ours = data([], {});
    const theirs = data([keyboard('a', 1), keyboard('b', 7)], { q1: 'a', q2: 'b' });
    // 'a' and q1 were untouched by theirs: removed; 'b' was accessed again by theirs: kept; q2 is theirs' new one.
    expect(mergeCallbackData(base, ours, theirs)).toEqual(data([keyboard('b', 7)], { q2: 'b' }));
  });

  it('takes ours where both changed one keyboard, and theirs where only they did', () => {
    const ours = data([keyboard('a', 9), keyboard('b', 2)], { q1: 'b' });
    const theirs = data([keyboard('a', 8), keyboard('b', 3)], { q1: 'a', q3: 'a' });
    expect(mergeCallbackData(base, ours, theirs)).toEqual(data([keyboard('b', 3), keyboard('a', 9)], { q1: 'b', q3: 'a' }));
  });

  it('treats null and absent as empty, and gives ours when a side is not PTB\'s shape or ours removed it all', () => {
    expect(mergeCallbackData(undefined, data([keyboard('x', 1)]), null)).toEqual(data([keyboard('x', 1)]));
    expect(mergeCallbackData(null, data([keyboard('x', 1)]), data([keyboard('y', 2)]))).toEqual(data([keyboard('x', 1), keyboard('y', 2)]));
    const ours = data([keyboard('x', 1)]);
    expect(mergeCallbackData(base, ours, { not: 'callback data' })).toBe(ours);
    expect(mergeCallbackData(base, ours, [[['a', 'not a time', {}]], {}])).toBe(ours);
    expect(mergeCallbackData(base, undefined, base)).toBeUndefined();
  });
});

describe('callback data written by two instances at once', () => {
  const open = (store: MemoryObjectStore, options: Partial<S3PersistenceOptions<Data, Data, Data>> = {}) =>
    new S3Persistence<Data, Data, Data>({ filepath: `s3://${store.bucket}/bot`, store, retry: { baseDelayMs: 0, maxDelayMs: 0 }, ...options });

  it('keeps both keyboards without a merge option, and reports the conflict with the merged value', async () => {
    const store = new MemoryObjectStore();
    const conflicts: unknown[] = [];
    const a = open(store);
    const b = open(store, { onConflict: (conflict) => conflicts.push(conflict.resolution) });
    await Promise.all([a.getCallbackData(), b.getCallbackData()]);
    await a.updateCallbackData(data([keyboard('a', 1)], { qa: 'a' }));
    await b.updateCallbackData(data([keyboard('b', 2)], { qb: 'b' }));
    const merged = data([keyboard('a', 1), keyboard('b', 2)], { qa: 'a', qb: 'b' });
    expect(await open(store).getCallbackData()).toEqual(merged);
    expect(conflicts).toEqual([merged]);
  });

  it('leaves the decision to a merge option, which the sample bot hands to mergeCallbackData', async () => {
    const store = new MemoryObjectStore();
    const a = open(store);
    const b = open(store, { merge: (conflict) => conflict.ours });
    await Promise.all([a.getCallbackData(), b.getCallbackData()]);
    await a.updateCallbackData(data([keyboard('a', 1)]));
    await b.updateCallbackData(data([keyboard('b', 2)]));
    expect(await open(store).getCallbackData()).toEqual(data([keyboard('b', 2)]));

    const sample = open(store, { merge: mergeConcurrentChanges });
    const other = open(store);
    await Promise.all([sample.getCallbackData(), other.getCallbackData()]);
    await other.updateCallbackData(data([keyboard('b', 2), keyboard('c', 3)]));
    await sample.updateCallbackData(data([keyboard('b', 2), keyboard('d', 4)]));
    expect(await open(store).getCallbackData()).toEqual(data([keyboard('b', 2), keyboard('c', 3), keyboard('d', 4)]));
  });
});
