/**
 * The compact index of a lazy section (bench/README, Memory): the ids of its entries and where each
 * entry's bytes stand in the object read, in typed arrays, with an open-addressing hash of the ids
 * for lookups by id. A load of a million users holds one of these instead of a Map of an object per
 * user: 24 to 32 bytes per entry (an id, two offsets, two to four hash slots) where the Map and its
 * objects took about 115.
 */

/** The two 32-bit halves of a double, for hashing an id that is not a small integer. */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * The hash of an id (any number): equal for ids a Map takes as the same key (SameValueZero: 0 and
 * -0 alike, every NaN alike), spread over all 32 bits (murmur3's finalizer) so that the low bits,
 * which pick the slot, depend on every bit of the id.
 */
export function hashId(id: number): number {
  let hash: number;
  // An integer of 32 bits is its own hash (this also takes -0 as 0).
  if ((id | 0) === id) hash = id;
  else if (id !== id) hash = 0x7ff80000;
  else {
    scratch[0] = id;
    hash = scratchWords[0]! ^ Math.imul(scratchWords[1]!, 0x9e3779b1);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/**
 * Ids (numbers) in the order they were added, each with the `[start, end)` of its entry's bytes.
 * Adding an id already there keeps its place and takes the new offsets, as `Map#set` would. The
 * arrays are sized once, from the count the section's CBOR head gives, and never grow.
 *
 * Adding only appends: the ids are hashed on the first question asked after, all in one loop. A
 * load adds every entry of a section before it asks anything, and in a fresh process a call per
 * entry into a hash insert ran mostly before V8 had optimized it, where one loop soon is.
 */
export class IdIndex {
  private readonly ids: Float64Array;
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  /** Open addressing with linear probing: index + 1 of the id hashed to the slot, 0 where empty; at most half full. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Ids hashed, each once (an id added again merged into its first place). */
  private count = 0;
  /** Ids in the arrays: the hashed ones, then those added since, not yet hashed. */
  private added = 0;

  /** An index for at most `capacity` ids. */
  constructor(readonly capacity: number) {
    this.ids = new Float64Array(capacity);
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
    // The smallest power of two at least twice the capacity, so that a probe soon finds an empty slot.
    const slotCount = 2 ** (32 - Math.clz32(Math.max(1, capacity * 2 - 1)));
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
  }

  /** How many ids the index holds. */
  get size(): number {
    if (this.added > this.count) this.hashAdded();
    return this.count;
  }

  /**
   * How many ids were added, each added again counted again until a question merges it: at least
   * {@link size}, and equal when no id was added twice. Asks nothing, so hashes nothing.
   */
  get addedCount(): number {
    return this.added;
  }

  /**
   * Adds `id` with its entry's `[start, end)`; an id already there takes these offsets and keeps its
   * place. Throws a RangeError when the index is full.
   */
  add(id: number, start: number, end: number): void {
    let at = this.added;
    if (at >= this.capacity) {
      // Full: merging the ids added again may make room, and an id already there needs none.
      const there = this.indexOf(id);
      if (there >= 0) {
        this.starts[there] = start;
        this.ends[there] = end;
        return;
      }
      at = this.added;
      if (at >= this.capacity) throw new RangeError(`an index of ${this.capacity} ids is full`);
    }
    // A Map keeps -0 as 0: `id + 0` is 0 for both and the id itself otherwise.
    this.ids[at] = id + 0;
    this.starts[at] = start;
    this.ends[at] = end;
    this.added = at + 1;
  }

  /** Hashes the ids added since the last question: each new one takes the next place, one already there gives its first place the new offsets. */
  private hashAdded(): void {
    const { ids, starts, ends, slots, mask } = this;
    let count = this.count;
    for (let at = count; at < this.added; at++) {
      const id = ids[at]!;
      let slot = hashId(id) & mask;
      let held = slots[slot]!;
      for (; held !== 0; held = slots[slot]!) {
        const other = ids[held - 1]!;
        if (other === id || (other !== other && id !== id)) break;
        slot = (slot + 1) & mask;
      }
      if (held !== 0) {
        starts[held - 1] = starts[at]!;
        ends[held - 1] = ends[at]!;
        continue;
      }
      // The arrays close up over the ids merged away: an id's place is its index.
      ids[count] = id;
      starts[count] = starts[at]!;
      ends[count] = ends[at]!;
      slots[slot] = ++count;
    }
    this.count = count;
    this.added = count;
  }

  /** The index of `id`, or -1 when it is not there. */
  indexOf(id: number): number {
    if (this.added > this.count) this.hashAdded();
    const { ids, slots, mask } = this;
    let slot = hashId(id) & mask;
    for (let held = slots[slot]!; held !== 0; held = slots[slot]!) {
      const other = ids[held - 1]!;
      if (other === id || (other !== other && id !== id)) return held - 1;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** The id at `index` (below {@link size}). */
  idAt(index: number): number {
    if (this.added > this.count) this.hashAdded();
    return this.ids[index]!;
  }

  /** Where the entry at `index` starts in the object read. */
  startAt(index: number): number {
    if (this.added > this.count) this.hashAdded();
    return this.starts[index]!;
  }

  /** Where the entry at `index` ends in the object read. */
  endAt(index: number): number {
    if (this.added > this.count) this.hashAdded();
    return this.ends[index]!;
  }
}
