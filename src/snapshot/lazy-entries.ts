/**
 * Lazy entries: format 2 stores each entry of `user_data` and `chat_data` as an encoded CBOR data
 * item of its own (RFC 8949 tag 24, a byte string holding the entry's CBOR). Reading an object
 * decodes only the envelope; an entry is decoded and checked the first time it is read, and an entry
 * nobody changed is written back as the very bytes it was read as. A cold start that serves one user
 * therefore decodes one user, not the whole population; a full load (every `get*`) decodes them all
 * in the same pass as the envelope (`direct-decode.ts`).
 */
import { Tag } from '#cbor-x';
import { decodeEntryDirect, NOT_READ } from './direct-decode.js';
import { IdIndex } from './id-index.js';
import { writeHead, writeNumber, type ChunkWriter } from './chunk-writer.js';
import {
  decoder,
  encoder,
  formatStep,
  mayHoldBotPlaceholder,
  TAG_ENCODED_CBOR,
  toWire,
  UndecodableSnapshot,
  visitedSetFor,
  walk,
} from './value-tags.js';

/** Sections whose entries format 2 stores as encoded items, each decoded on first read. */
export const LAZY_SECTIONS: ReadonlySet<string> = new Set(['user_data', 'chat_data']);

/** What {@link EncodedEntry}'s value fields hold while they hold no value (no stored value is this symbol). */
const NONE: unique symbol = Symbol('none');

/**
 * One entry of a lazy section as it was read: its encoded bytes, decoded and checked against the
 * value model on first use (then kept). The bytes are what a rewrite of the unchanged entry stores.
 * A whole read (every `get*`) decodes the entry with the object, in the same pass: that value waits
 * here for the first caller, who takes it as its own ({@link freshValue}) or adopts it as the stored
 * value ({@link read}), so that nothing is decoded twice.
 *
 * A load makes these only for the entries asked for ({@link LazySection}); each keeps four fields:
 * its section and id, which only messages need, are the caller's to give (the section holds the id),
 * and one field holds either value, `stop` saying which.
 */
export class EncodedEntry {
  /** The value decoded and kept, or (while `stop` is negative) the value a whole read decoded, waiting for the first caller; {@link NONE} before either. */
  private held: unknown = NONE;
  /** `end`, or `-end - 1` while {@link held} is a whole read's value waiting for the first caller. */
  private stop: number;

  /**
   * `source[start..end)` is the entry's CBOR item (by default the whole of `source`): the bytes it
   * was read from, kept as they are. `fresh`, when given, is the value a whole read decoded from
   * them in the same pass (each object in it new, no bot placeholder).
   */
  constructor(
    readonly source: Uint8Array,
    readonly start = 0,
    end = source.length,
    fresh: unknown = NONE,
  ) {
    this.stop = end;
    if (fresh !== NONE) {
      this.held = fresh;
      this.stop = -end - 1;
    }
  }

  /** Where the entry's item ends in {@link source}. */
  get end(): number {
    return this.stop < 0 ? -this.stop - 1 : this.stop;
  }

  private get isDecoded(): boolean {
    return this.stop >= 0 && this.held !== NONE;
  }

  private get hasFresh(): boolean {
    return this.stop < 0;
  }

  /** The entry's own CBOR item (a new view each time: kept, it would cost every entry a field). */
  get bytes(): Uint8Array {
    const end = this.end;
    if (this.start === 0 && end === this.source.length) return this.source;
    return this.source.subarray(this.start, end);
  }

  /** The entry's value ({@link read}), its errors naming no entry: for tests and callers that know none. */
  get value(): unknown {
    return this.read();
  }

  /**
   * The entry's value, decoded and kept on first use; throws {@link UndecodableSnapshot} naming the
   * entry (`section.get(id)`) when its bytes are not one.
   */
  read(section = 'entry', id: unknown = '?'): unknown {
    if (this.hasFresh) {
      // The whole read's value becomes the stored one.
      this.stop = -this.stop - 1;
    } else if (this.held === NONE) {
      let value = decodeEntryDirect(this.source, this.start, this.stop, true);
      if (value === NOT_READ) value = decodeEntry(this.bytes, section, id);
      this.held = value;
    }
    return this.held;
  }

  /**
   * Whether a caller may hand out a fresh decode ({@link decodeEntriesFresh}) without copying it:
   * the entry has not been decoded yet (no one holds its value) and its bytes cannot hold the bot
   * placeholder, which only a copy replaces with the bot.
   */
  get decodesFresh(): boolean {
    return this.hasFresh || (!this.isDecoded && !mayHoldBotPlaceholder(this.bytes));
  }

  /**
   * The entry's value as the caller's own when that takes no copy: the value a whole read decoded
   * (handed over once), or a fresh decode by the one-pass decoder of an entry nobody holds the value
   * of, its bytes free of the bot placeholder. Otherwise {@link NOT_READ}, and the caller goes the
   * long way ({@link decodesFresh}, {@link freshValue}, or a copy). Cheaper than asking
   * {@link decodesFresh} first: the bytes are read once, by the decode itself.
   */
  plainFreshValue(): unknown {
    if (this.hasFresh) return this.freshValue();
    return this.isDecoded ? NOT_READ : decodeEntryDirect(this.source, this.start, this.end, false);
  }

  /**
   * The entry's value, not kept: the caller's own. A value the whole read decoded is handed over
   * (once); otherwise the one-pass decoder reads the bytes, and cbor-x (with the walk) reads what
   * that one leaves, naming the entry (`section.get(id)`) when its bytes are not a value
   * ({@link UndecodableSnapshot}).
   */
  freshValue(section = 'entry', id: unknown = '?'): unknown {
    if (this.hasFresh) {
      const taken = this.held;
      this.held = NONE;
      this.stop = -this.stop - 1;
      return taken;
    }
    const value = decodeEntryDirect(this.source, this.start, this.stop, false);
    return value === NOT_READ ? decodeEntry(this.bytes, section, id) : value;
  }
}

/** The value of a stored entry (`section.get(id)`), decoding it first when it is still an {@link EncodedEntry}. */
export function storedValue(entry: unknown, section: string, id: unknown): unknown {
  return entry instanceof EncodedEntry ? entry.read(section, id) : entry;
}

/** The values of a lazy section's entries, each the caller's own (see {@link EncodedEntry.freshValue}). */
export function decodeEntriesFresh(section: string, entries: ReadonlyMap<unknown, EncodedEntry>): unknown[] {
  return Array.from(entries, ([id, entry]) => entry.freshValue(section, id));
}

/**
 * A lazy section as a load reads it: a Map of id to {@link EncodedEntry}, in the order of the object
 * read, held as a compact index ({@link IdIndex}: ids and offsets in typed arrays) instead of an
 * entry object per id, which for a million users was most of what a load kept beside the bytes
 * (bench/README, Memory).
 *
 * An entry object is made when asked for. One looked up by id is kept (in {@link kept}), so that its
 * decoded value is decoded once and stays the same value; one met while iterating is kept only once
 * its value is read and kept ({@link SectionEntry}): a write, which iterates every entry to send the
 * unchanged ones as the bytes read, leaves nothing behind. A whole read's values wait in
 * {@link fresh}, each handed to the entry made first for its id.
 *
 * Sections as read are never changed (changes are overlaid, see overlay-map.ts); should one be, it
 * becomes a plain Map of its entries first ({@link thaw}), and behaves as one from then on.
 */
export class LazySection extends Map<unknown, unknown> {
  private readonly index: IdIndex;
  /**
   * A whole read's values by id, in the order read (an entry without one, or whose value was taken,
   * is not there), or `undefined` for a lazy read and once handed over whole ({@link takeFresh}).
   */
  private fresh: Map<unknown, unknown> | undefined;
  /** Whether every entry added came with its value, so that {@link fresh} holds them in the order of the index. */
  private freshWhole: boolean;
  /** The entries made so far whose state must last, by index. */
  private readonly kept = new Map<number, EncodedEntry>();
  /** Whether the section was changed, and is now the plain Map it extends. */
  private thawed = false;

  /** A section of at most `capacity` entries, each bytes of `source`; `whole`: each added with its value. */
  constructor(
    readonly source: Uint8Array,
    capacity: number,
    whole: boolean,
  ) {
    super();
    this.index = new IdIndex(capacity);
    this.fresh = whole ? new Map() : undefined;
    this.freshWhole = whole;
  }

  /** Adds (or, for an id already there, replaces) the entry `source[start..end)`, with `value` when a whole read decoded one ({@link NOT_READ} when not). */
  add(id: number, start: number, end: number, value: unknown): void {
    this.index.add(id, start, end);
    const fresh = this.fresh;
    if (fresh === undefined) return;
    if (value !== NOT_READ) {
      fresh.set(id, value);
    } else {
      fresh.delete(id);
      this.freshWhole = false;
    }
  }

  /**
   * A whole read's values as a Map of id to value, in order, for the caller to take as its own:
   * only while every entry has its value there and none was asked for, so that the Map is what a
   * walk over the section would build (then the entries decode afresh from their bytes when read).
   * Otherwise `undefined`.
   */
  takeFresh(): Map<number, unknown> | undefined {
    const fresh = this.fresh;
    // As many values as adds: no id was added twice, and none was taken. (The index's size would hash
    // every id, which only a lookup by id needs: a full load makes none.)
    if (fresh === undefined || !this.freshWhole || this.thawed || this.kept.size !== 0 || fresh.size !== this.index.addedCount) return undefined;
    this.fresh = undefined;
    return fresh as Map<number, unknown>;
  }

  /** A whole read's value of entry `id`, handed over once; {@link NONE} when there is none (any more). */
  private takeFreshValue(id: number): unknown {
    const fresh = this.fresh;
    if (fresh === undefined || fresh.size === 0) return NONE;
    const value = fresh.get(id);
    // A value may be undefined: only a miss needs the second lookup.
    if (value === undefined && !fresh.has(id)) return NONE;
    fresh.delete(id);
    return value;
  }

  /** Keeps `entry`, made for index `at` while iterating, now that it holds a value that must last. */
  keep(at: number, entry: EncodedEntry): void {
    if (!this.thawed && !this.kept.has(at)) this.kept.set(at, entry);
  }

  /** The entry at index `at`: the one kept, or a new one (kept when `keep`) that takes a whole read's value. */
  private entryAt(at: number, keep: boolean): EncodedEntry {
    // Most sections keep no entry or a few: the lookup is skipped for none.
    const kept = this.kept.size === 0 ? undefined : this.kept.get(at);
    if (kept !== undefined) return kept;
    const value = this.takeFreshValue(this.index.idAt(at));
    const entry = new SectionEntry(this.source, this.index.startAt(at), this.index.endAt(at), value, this, at);
    if (keep) this.kept.set(at, entry);
    return entry;
  }

  private indexOf(id: unknown): number {
    return typeof id === 'number' ? this.index.indexOf(id) : -1;
  }

  /** Makes the section the plain Map it extends, its entries in order, before it is changed. */
  private thaw(): void {
    if (this.thawed) return;
    const entries = Array.from(this.entries());
    this.thawed = true;
    for (const [id, entry] of entries) super.set(id, entry);
    this.kept.clear();
  }

  override get size(): number {
    return this.thawed ? super.size : this.index.size;
  }

  override has(id: unknown): boolean {
    return this.thawed ? super.has(id) : this.indexOf(id) >= 0;
  }

  override get(id: unknown): unknown {
    if (this.thawed) return super.get(id);
    const at = this.indexOf(id);
    return at < 0 ? undefined : this.entryAt(at, true);
  }

  override set(id: unknown, value: unknown): this {
    this.thaw();
    return super.set(id, value);
  }

  override delete(id: unknown): boolean {
    this.thaw();
    return super.delete(id);
  }

  override clear(): void {
    this.thaw();
    super.clear();
  }

  override *entries(): MapIterator<[unknown, unknown]> {
    if (this.thawed) return yield* super.entries();
    for (let at = 0; at < this.index.size; at++) yield [this.index.idAt(at), this.entryAt(at, false)];
  }

  override [Symbol.iterator](): MapIterator<[unknown, unknown]> {
    return this.entries();
  }

  override *keys(): MapIterator<unknown> {
    if (this.thawed) return yield* super.keys();
    for (let at = 0; at < this.index.size; at++) yield this.index.idAt(at);
  }

  override *values(): MapIterator<unknown> {
    if (this.thawed) return yield* super.values();
    for (let at = 0; at < this.index.size; at++) yield this.entryAt(at, false);
  }

  /**
   * A full load's walk over the section, in order: each value the caller may take as its own
   * without an entry object being made (what {@link EncodedEntry.plainFreshValue} gives: a whole
   * read's value, handed over once, or a fresh decode of an entry nobody holds the value of, free of
   * the bot placeholder) is set in `into`, and `other` is called with the entry for the rest. (Set
   * here rather than through a callback: a new callback per section, inlined for the first, would
   * throw the optimized walk back to slow code for the next.)
   */
  forEachPlain(into: Map<number, unknown>, other: (entry: unknown, id: number) => void): void {
    if (this.thawed) return super.forEach((entry, id) => other(entry, id as number));
    const { index, source, kept } = this;
    // Read once: a getter called per entry costs a call each in code not yet optimized.
    const size = index.size;
    for (let at = 0; at < size; at++) {
      const id = index.idAt(at);
      if (kept.size === 0 || !kept.has(at)) {
        let value = this.takeFreshValue(id);
        if (value === NONE) value = decodeEntryDirect(source, index.startAt(at), index.endAt(at), false);
        if (value !== NOT_READ) {
          into.set(id, value);
          continue;
        }
      }
      other(this.entryAt(at, false), id);
    }
  }

  override forEach(callback: (value: unknown, id: unknown, map: Map<unknown, unknown>) => void, thisArg?: unknown): void {
    if (this.thawed) return super.forEach(callback, thisArg);
    for (let at = 0; at < this.index.size; at++) callback.call(thisArg, this.entryAt(at, false), this.index.idAt(at), this);
  }
}

/** An entry of a {@link LazySection}, made while iterating: once it keeps a decoded value, the section keeps it too. */
class SectionEntry extends EncodedEntry {
  constructor(
    source: Uint8Array,
    start: number,
    end: number,
    fresh: unknown,
    private readonly section: LazySection,
    private readonly at: number,
  ) {
    super(source, start, end, fresh);
  }

  override read(section?: string, id?: unknown): unknown {
    const value = super.read(section, id);
    this.section.keep(this.at, this);
    return value;
  }
}

/** Makes a lazy section for the one-pass decoder. */
export function newLazySection(source: Uint8Array, count: number, whole: boolean): LazySection {
  return new LazySection(source, count, whole);
}

/**
 * Reuses the encoding of entries written before: entry value to its bytes. Only for values nobody
 * mutates (the persistence's own stored copies); a caller's objects may change between encodes.
 */
export type EntryEncodings = WeakMap<object, Uint8Array>;

/** A lazy section on the wire: each entry as an encoded item, an unchanged one as the bytes it was read as. */
export function toWireLazySection(entries: ReadonlyMap<unknown, unknown>, encodings: EntryEncodings | undefined): Map<unknown, Tag> {
  const wire = new Map<unknown, Tag>();
  for (const [id, entry] of entries) wire.set(toWire(id), new Tag(entryBytes(entry, encodings), TAG_ENCODED_CBOR));
  return wire;
}

/** What cbor-x writes before a Map with this codec's options: tag 259 ("a map, not an object"), or nothing. */
const MAP_TAG = (() => {
  const { mapsAsObjects, useTag259ForMaps } = encoder as unknown as { mapsAsObjects?: boolean; useTag259ForMaps?: boolean };
  return (mapsAsObjects ? useTag259ForMaps !== false : useTag259ForMaps) ? Uint8Array.of(0xd9, 0x01, 0x03) : new Uint8Array(0);
})();

/**
 * Appends a lazy section to `out` exactly as cbor-x encodes {@link toWireLazySection}'s map: an entry
 * read before as a view of the bytes it was read from, so that a run of unchanged entries is one view
 * of the object read, not a copy.
 */
export function writeLazySection(out: ChunkWriter, entries: ReadonlyMap<unknown, unknown>, encodings: EntryEncodings | undefined): void {
  const head = new Uint8Array(32);
  out.copy(MAP_TAG);
  out.copy(head.subarray(0, writeHead(head, 0, 5, entries.size)));
  for (const [id, entry] of entries) {
    const key = toWire(id);
    let at = 0;
    if (typeof key === 'number') at = writeNumber(head, 0, key);
    else out.copy(encoder.encode(key));
    const encoded = entry instanceof EncodedEntry;
    const bytes = encoded ? undefined : entryBytes(entry, encodings);
    at = writeHead(head, at, 6, TAG_ENCODED_CBOR);
    at = writeHead(head, at, 2, encoded ? entry.end - entry.start : bytes!.length);
    if (encoded) {
      out.viewAfter(head, at, entry.source, entry.start, entry.end);
    } else {
      out.copy(head.subarray(0, at));
      out.keep(bytes!);
    }
  }
}

function entryBytes(entry: unknown, encodings: EntryEncodings | undefined): Uint8Array {
  if (entry instanceof EncodedEntry) return entry.bytes;
  const cacheable = encodings !== undefined && typeof entry === 'object' && entry !== null;
  const cached = cacheable ? encodings.get(entry) : undefined;
  if (cached !== undefined) return cached;
  // cbor-x hands out a view of its working buffer; the entry keeps a copy of its own.
  const bytes = encoder.encode(toWire(entry)).slice();
  if (cacheable) encodings.set(entry, bytes);
  return bytes;
}

/**
 * A lazy section's map as cbor-x read it from `bytes`, with each entry left encoded: a
 * {@link LazySection} standing in `bytes` while every id is a number and every entry's bytes a
 * view of them (as cbor-x reads byte strings), else a plain Map of {@link EncodedEntry}. Anything
 * but a map is walked (and then refused by its shape check).
 */
export function fromWireLazySection(name: string, value: unknown, seen: Set<object> | undefined, bytes: Uint8Array): unknown {
  if (!(value instanceof Map)) return walk(value, [name], seen);
  const wire: Map<unknown, unknown> = value;
  let section: LazySection | undefined = new LazySection(bytes, wire.size, false);
  let entries: Map<unknown, unknown> | undefined;
  for (const [key, item] of wire) {
    const id = typeof key === 'object' && key !== null ? walk(key, [name, ' key'], seen) : key;
    if (!(item instanceof Tag) || item.tag !== TAG_ENCODED_CBOR || !(item.value instanceof Uint8Array)) {
      throw new UndecodableSnapshot(`${name}.get(${formatStep(id)}) is not an encoded entry (tag ${TAG_ENCODED_CBOR} holding bytes)`);
    }
    const entry: Uint8Array = item.value;
    const start = entry.byteOffset - bytes.byteOffset;
    if (section !== undefined && typeof id === 'number' && entry.buffer === bytes.buffer && start >= 0 && start + entry.length <= bytes.length) {
      section.add(id, start, start + entry.length, NOT_READ);
      continue;
    }
    // An id or entry the index cannot hold: the entries so far move to a plain Map, and the rest follow.
    entries ??= new Map(section);
    section = undefined;
    entries.set(id, new EncodedEntry(entry));
  }
  return entries ?? section;
}

/** A lazy section's map with each {@link EncodedEntry} replaced by its value, decoded afresh (a new Map: the one read is left as it is). */
export function decodeLazySection(name: string, entries: ReadonlyMap<unknown, unknown>): Map<unknown, unknown> {
  const values = new Map<unknown, unknown>();
  entries.forEach((entry, id) => values.set(id, entry instanceof EncodedEntry ? entry.freshValue(name, id) : entry));
  return values;
}

function decodeEntry(bytes: Uint8Array, section: string, id: unknown): unknown {
  let item: unknown;
  try {
    if (bytes.length === 0) throw new Error('no bytes at all');
    item = decoder.decode(bytes);
  } catch (error) {
    throw new UndecodableSnapshot(`${section}.get(${formatStep(id)}) is not valid CBOR (${(error as Error).message})`);
  }
  return walk(item, entryPath(section, id), visitedSetFor(bytes));
}

/** The start of the walk's path to an entry's value, for messages. */
function entryPath(section: string, id: unknown): unknown[] {
  return [section, '.get(', id, ')'];
}
