import { describe, expect, it } from 'vitest';
import type { SnapshotFields } from '../../src/snapshot/codec.js';
import { applyChanges } from '../../src/snapshot/entries.js';
import { OverlayMap, overlayOf } from '../../src/snapshot/overlay-map.js';

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a Map shows through every way of reading it. */
function shown(map: Map<number, string>, keys: readonly number[]) {
  const each: Array<[number, string]> = [];
  map.forEach((value, key) => each.push([key, value]));
  return {
    entries: [...map],
    viaEntries: [...map.entries()],
    keys: [...map.keys()],
    values: [...map.values()],
    each,
    size: map.size,
    has: keys.map((key) => map.has(key)),
    get: keys.map((key) => map.get(key)),
  };
}

describe('OverlayMap', () => {
  it('behaves as a copy of its base changed by the same calls, order included, and leaves the base alone', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const base = new Map(Array.from({ length: Math.floor(next() * 12) }, (_, i) => [i * 2, `b${i}`] as [number, string]));
      const baseBefore = [...base];
      const keys = Array.from({ length: 30 }, (_, i) => i);
      let overlay: Map<number, string> = overlayOf(base);
      let copy = new Map(base);
      for (let step = 0; step < 40; step++) {
        const key = Math.floor(next() * 30);
        const roll = next();
        if (roll < 0.45) {
          overlay.set(key, `v${step}`);
          copy.set(key, `v${step}`);
        } else if (roll < 0.85) {
          expect(overlay.delete(key)).toBe(copy.delete(key));
        } else if (roll < 0.88) {
          overlay.clear();
          copy.clear();
        } else {
          // A write's next overlay: of this one, which must not change from then on.
          const frozen = shown(overlay, keys);
          const previous = overlay;
          overlay = overlayOf(overlay);
          copy = new Map(copy);
          overlay.set(key, 'again');
          copy.set(key, 'again');
          expect(shown(previous, keys)).toEqual(frozen);
        }
        expect(shown(overlay, keys), `seed ${seed}, step ${step}`).toEqual(shown(copy, keys));
      }
      expect([...base]).toEqual(baseBefore);
    }
  });

  it('reads through to its base instead of copying it, and stays one level deep', () => {
    const base = new Map(Array.from({ length: 100 }, (_, i) => [i, { n: i }]));
    const first = OverlayMap.of(base).set(5, { n: -5 });
    const second = overlayOf(first);
    expect(second).toBeInstanceOf(OverlayMap);
    second.set(6, { n: -6 });
    expect((second as OverlayMap<number, { n: number }>).baseSize).toBe(100);
    expect((second as OverlayMap<number, { n: number }>).changes).toBe(2);
    expect(second.get(7)).toBe(base.get(7));
    expect(first.get(6)).toBe(base.get(6));
  });

  it('becomes a plain copy once its changes reach half its base', () => {
    const base = new Map(Array.from({ length: 10 }, (_, i) => [i, i]));
    const overlay = OverlayMap.of(base);
    for (let i = 0; i < 4; i++) overlay.set(i, -i);
    expect(overlayOf(overlay)).toBeInstanceOf(OverlayMap);
    overlay.delete(9);
    const copy = overlayOf(overlay);
    expect(copy).not.toBeInstanceOf(OverlayMap);
    expect([...copy]).toEqual([...overlay]);
  });

  it('is what applyChanges makes of the users and chats it changes, the sections read left as they were', () => {
    const users = new Map(Array.from({ length: 50 }, (_, i) => [i, { count: i }]));
    const fields: SnapshotFields = new Map<string, unknown>([['user_data', users]]);
    const next = applyChanges(fields, [[{ section: 'user_data', id: 3 }, { count: 300 }]]);
    const section = next.get('user_data')!;
    expect(section).toBeInstanceOf(OverlayMap);
    expect(section.get(3)).toEqual({ count: 300 });
    expect(section.get(4)).toBe(users.get(4));
    expect(users.get(3)).toEqual({ count: 3 });
    expect(fields.get('user_data')).toBe(users);
  });
});
