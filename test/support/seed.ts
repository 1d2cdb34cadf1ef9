// Seeded randomness for tests that explore: the same seed gives the same choices, so a failure
// reproduces from the seed it prints.

/**
 * A pseudo-random generator in [0, 1) (mulberry32): small, fast, and the same sequence for the same seed.
 *
 * @example
 * const random = seededRandom(42);
 * const delayMs = Math.floor(random() * 200);
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed of its own for one part of a run (a writer, a trial), derived from the run's seed, so that
 * parts do not share a sequence and each is reproducible alone.
 *
 * @example
 * const trialSeed = deriveSeed(runSeed, `trial-${n}`);
 */
export function deriveSeed(seed: number, label: string | number): number {
  // FNV-1a over the label, mixed with the seed.
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (const char of String(label)) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A uniformly chosen integer in [min, max]. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of `items`, uniformly. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
