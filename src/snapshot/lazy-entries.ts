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
 * A load holds one of these per user and chat, so it keeps four fields (56 bytes; bench/README,
 * Memory): its section and id, which only messages need, are the caller's to give (the Map holds the
 * id as its key), and one field holds either value, `stop` saying which.
 */
export class EncodedEntry {
  /** The value decoded and kept, or (while `stop` is negative) the value a whole read decoded, waiting for the first caller; {@link NONE} before either. */
  private held: unknown = NONE;
  /** `end`, or `-end - 1` while {@link held} is a whole read's value waiting for the first caller. */
  private stop: number;

  /**
   * `source[start..end)` is the entry's CBOR item (by default the whole of `source`): the bytes it
   * was read from, kept as they are.
   */
  constructor(
    readonly source: Uint8Array,
    readonly start = 0,
    end = source.length,
  ) {
    this.stop = end;
  }

  /** An entry read with its value, decoded from its bytes in the same pass (each object in it new, no bot placeholder). */
  static withValue(source: Uint8Array, start: number, end: number, value: unknown): EncodedEntry {
    const entry = new EncodedEntry(source, start, end);
    entry.held = value;
    entry.stop = -end - 1;
    return entry;
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

/** Makes an entry of a lazy section for the one-pass decoder (`source[start..end)`): with its value when it read one. */
export function lazyEntry(source: Uint8Array, start: number, end: number, _section: string, _id: unknown, value: unknown, decoded: boolean): EncodedEntry {
  return decoded ? EncodedEntry.withValue(source, start, end, value) : new EncodedEntry(source, start, end);
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

/** A lazy section's map as read, with each entry left encoded; anything else is walked (and then refused by its shape check). */
export function fromWireLazySection(name: string, value: unknown, seen: Set<object> | undefined): unknown {
  if (!(value instanceof Map)) return walk(value, [name], seen);
  const entries = new Map<unknown, unknown>();
  const wire: Map<unknown, unknown> = value;
  for (const [key, item] of wire) {
    const id = typeof key === 'object' && key !== null ? walk(key, [name, ' key'], seen) : key;
    if (!(item instanceof Tag) || item.tag !== TAG_ENCODED_CBOR || !(item.value instanceof Uint8Array)) {
      throw new UndecodableSnapshot(`${name}.get(${formatStep(id)}) is not an encoded entry (tag ${TAG_ENCODED_CBOR} holding bytes)`);
    }
    entries.set(id, new EncodedEntry(item.value));
  }
  return entries;
}

/** Replaces every {@link EncodedEntry} in a lazy section's map by its value, decoded afresh. */
export function decodeLazySection(name: string, entries: Map<unknown, unknown>): void {
  entries.forEach((entry, id) => {
    if (entry instanceof EncodedEntry) entries.set(id, entry.freshValue(name, id));
  });
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
