/**
 * A Map of a section's entries with some changed, made without copying the section: the write of
 * one update to a snapshot of a million users would otherwise copy the Map of every user (tens of
 * MB) to change one, and hold both until the write is stored.
 */

/**
 * A Map that reads through to `base`, a Map never changed after (the section as read or last
 * written), with its own changes on top. It behaves as `new Map(base)` changed by the same `set`
 * and `delete` calls would, iteration order included: entries of `base` in place (a changed one
 * with its new value), then the added ones in the order they were added (a key deleted from `base`
 * and set again among them, as a Map puts it last).
 *
 * An overlay of an overlay has the same base and a copy of the changes, never a chain; once the
 * changes reach half the base's size, {@link overlayOf} copies into a plain Map instead, so an
 * overlay holds at most half as much again as its base.
 */
export class OverlayMap<K, V> extends Map<K, V> {
  private readonly base: ReadonlyMap<K, V>;
  /** New values of keys of `base`, in place. */
  private readonly changed: Map<K, V>;
  /** Keys of `base` that are gone (and not set again). */
  private readonly removed: Set<K>;
  /** Keys that are not in `base`, or were deleted from it and set again: after the base's, in order. */
  private readonly added: Map<K, V>;

  private constructor(base: ReadonlyMap<K, V>, changed: Map<K, V>, removed: Set<K>, added: Map<K, V>) {
    super();
    this.base = base;
    this.changed = changed;
    this.removed = removed;
    this.added = added;
  }

  /** An overlay of `map` with no changes yet: of its base when `map` is an overlay itself. */
  static of<K, V>(map: ReadonlyMap<K, V>): OverlayMap<K, V> {
    if (map instanceof OverlayMap) {
      const overlay = map as OverlayMap<K, V>;
      return new OverlayMap(overlay.base, new Map(overlay.changed), new Set(overlay.removed), new Map(overlay.added));
    }
    return new OverlayMap(map, new Map(), new Set(), new Map());
  }

  /** How many changes the overlay holds beside its base. */
  get changes(): number {
    return this.changed.size + this.removed.size + this.added.size;
  }

  /** The size of the Map read through. */
  get baseSize(): number {
    return this.base.size;
  }

  override get size(): number {
    return this.base.size - this.removed.size + this.added.size;
  }

  override has(key: K): boolean {
    return this.added.has(key) || (this.base.has(key) && !this.removed.has(key));
  }

  override get(key: K): V | undefined {
    if (this.added.has(key)) return this.added.get(key);
    if (this.changed.has(key)) return this.changed.get(key);
    return this.removed.has(key) ? undefined : this.base.get(key);
  }

  override set(key: K, value: V): this {
    if (this.added.has(key) || !this.base.has(key) || this.removed.has(key)) this.added.set(key, value);
    else this.changed.set(key, value);
    return this;
  }

  override delete(key: K): boolean {
    if (this.added.delete(key)) return true;
    if (!this.base.has(key) || this.removed.has(key)) return false;
    this.changed.delete(key);
    this.removed.add(key);
    return true;
  }

  override clear(): void {
    for (const key of this.base.keys()) this.removed.add(key);
    this.changed.clear();
    this.added.clear();
  }

  override *entries(): MapIterator<[K, V]> {
    for (const [key, value] of this.base) {
      if (this.removed.has(key)) continue;
      yield [key, this.changed.has(key) ? (this.changed.get(key) as V) : value];
    }
    yield* this.added;
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  override *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  override *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/**
 * A Map to change that leaves `map` as it is: an {@link OverlayMap} of it, or a plain copy once the
 * overlay's changes have grown to half its base (then reading through costs more than it saves).
 */
export function overlayOf<K, V>(map: ReadonlyMap<K, V> | undefined): Map<K, V> {
  if (map === undefined) return new Map();
  if (map instanceof OverlayMap && (map as OverlayMap<K, V>).changes * 2 >= (map as OverlayMap<K, V>).baseSize) return new Map(map);
  return OverlayMap.of(map);
}
