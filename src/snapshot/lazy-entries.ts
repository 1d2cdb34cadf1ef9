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

/**
 * One entry of a lazy section as it was read: its encoded bytes, decoded and checked against the
 * value model on first use (then kept). The bytes are what a rewrite of the unchanged entry stores.
 * A whole read (every `get*`) decodes the entry with the object, in the same pass: that value waits
 * here for the first caller, who takes it as its own ({@link takeFresh}) or adopts it as the stored
 * value ({@link value}), so that nothing is decoded twice.
 */
export class EncodedEntry {
  /**
   * The entry's place in the order of the entries the one-pass decoder read (-1 for other entries):
   * an entry whose ordinal is one more than another's of the same section and bytes stood right
   * after it, so that a write copies the two, and every such neighbour, as one run of bytes.
   */
  ordinal = -1;
  private decoded: unknown;
  private isDecoded = false;
  private fresh: unknown;
  private hasFresh = false;
  /** The entry's bytes as a view of their own, made when first asked for (a view per entry is costly to make by the 100k). */
  private view: Uint8Array | undefined;

  /**
   * `bytes` holds the entry's own CBOR item, or, with `start` and `end`, the object it stands in
   * (the entry is `bytes[start..end)`).
   */
  constructor(
    /** The bytes the entry stands in: its own, or the whole object it was read from. */
    readonly source: Uint8Array,
    /** Where the entry is, for messages: its section and its id. */
    readonly section: string,
    readonly id: unknown,
    /** Where the entry's CBOR item starts and ends in {@link source}. */
    readonly start = 0,
    readonly end = source.length,
  ) {}

  /** An entry read with its value, decoded from its bytes in the same pass (each object in it new, no bot placeholder). */
  static withValue(source: Uint8Array, start: number, end: number, section: string, id: unknown, value: unknown): EncodedEntry {
    const entry = new EncodedEntry(source, section, id, start, end);
    entry.fresh = value;
    entry.hasFresh = true;
    return entry;
  }

  /** The entry's own CBOR item. */
  get bytes(): Uint8Array {
    if (this.start === 0 && this.end === this.source.length) return this.source;
    return (this.view ??= this.source.subarray(this.start, this.end));
  }

  /** The entry's value; throws {@link UndecodableSnapshot} (naming the entry) when its bytes are not one. */
  get value(): unknown {
    if (!this.isDecoded) {
      let value = this.hasFresh ? this.fresh : decodeEntryDirect(this.source, this.start, this.end, true);
      if (value === NOT_READ) value = decodeEntry(this.bytes, this.section, this.id);
      this.decoded = value;
      this.isDecoded = true;
      this.fresh = undefined;
      this.hasFresh = false;
    }
    return this.decoded;
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
   * The entry's value, not kept: the caller's own. A value the whole read decoded is handed over
   * (once); otherwise the one-pass decoder reads the bytes, and cbor-x (with the walk) reads what
   * that one leaves, naming the entry when its bytes are not a value ({@link UndecodableSnapshot}).
   */
  freshValue(): unknown {
    if (this.hasFresh) {
      const taken = this.fresh;
      this.fresh = undefined;
      this.hasFresh = false;
      return taken;
    }
    const value = decodeEntryDirect(this.source, this.start, this.end, false);
    return value === NOT_READ ? decodeEntry(this.bytes, this.section, this.id) : value;
  }
}

/** The value of a stored entry, decoding it first when it is still an {@link EncodedEntry}. */
export function storedValue(entry: unknown): unknown {
  return entry instanceof EncodedEntry ? entry.value : entry;
}

/** The values of `entries`, each the caller's own (see {@link EncodedEntry.freshValue}). */
export function decodeEntriesFresh(entries: readonly EncodedEntry[]): unknown[] {
  return entries.map((entry) => entry.freshValue());
}

/** The ordinal of the next entry the one-pass decoder reads (see {@link EncodedEntry.ordinal}). */
let nextOrdinal = 0;

/** Makes an entry of a lazy section for the one-pass decoder (`source[start..end)`): with its value when it read one. */
export function lazyEntry(source: Uint8Array, start: number, end: number, section: string, id: unknown, value: unknown, decoded: boolean): EncodedEntry {
  const entry = decoded ? EncodedEntry.withValue(source, start, end, section, id, value) : new EncodedEntry(source, section, id, start, end);
  entry.ordinal = nextOrdinal++;
  return entry;
}

/** The longest an entry's key, tag 24 and byte-string head can be: 9 + 2 + 9 bytes. */
const MAX_ENTRY_PREFIX = 20;

/**
 * Whether `next` stood right after `previous` in the object both were read from, so that the bytes
 * between them are `next`'s key, tag 24 and byte-string head, as read: the one-pass decoder read
 * them one after the other (consecutive ordinals) in the same section of the same bytes.
 */
function follows(previous: EncodedEntry, next: EncodedEntry): boolean {
  return (
    previous.ordinal >= 0 &&
    next.ordinal === previous.ordinal + 1 &&
    next.source === previous.source &&
    next.section === previous.section &&
    next.start > previous.end &&
    next.start - previous.end <= MAX_ENTRY_PREFIX
  );
}

/**
 * Reuses the encoding of entries written before: entry value to its bytes. Only for values nobody
 * mutates (the persistence's own stored copies); a caller's objects may change between encodes.
 */
export type EntryEncodings = WeakMap<object, Uint8Array>;

/** Bytes written one after the other into one growing array. */
export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  /** `capacity`: the bytes expected in all (the array grows when they are more). */
  constructor(capacity: number) {
    this.buffer = allocate(Math.max(capacity, 1024));
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = allocate(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A CBOR head: major type `major` with argument `value` (a length, a count, a tag number, an integer), in its shortest form. */
  head(major: number, value: number): void {
    this.reserve(5);
    const type = major << 5;
    const buffer = this.buffer;
    let at = this.length;
    if (value < 24) buffer[at++] = type | value;
    else if (value < 0x100) {
      buffer[at++] = type | 24;
      buffer[at++] = value;
    } else if (value < 0x10000) {
      buffer[at++] = type | 25;
      buffer[at++] = value >> 8;
      buffer[at++] = value & 0xff;
    } else {
      buffer[at++] = type | 26;
      buffer[at++] = value >>> 24;
      buffer[at++] = (value >> 16) & 0xff;
      buffer[at++] = (value >> 8) & 0xff;
      buffer[at++] = value & 0xff;
    }
    this.length = at;
  }

  /** `value` as cbor-x encodes it; a 32-bit integer (an id) written here in the same bytes. */
  item(value: unknown): void {
    const integer = typeof value === 'number' && !Object.is(value, -0);
    if (integer && value >>> 0 === value) this.head(0, value);
    else if (integer && value >> 0 === value) this.head(1, -1 - value);
    else this.bytes(encoder.encode(value));
  }

  /** The bytes written (a view of the writer's array). */
  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/** A byte array to write into: a Buffer where there is one, as cbor-x hands out. */
function allocate(size: number): Uint8Array {
  return typeof Buffer === 'undefined' ? new Uint8Array(size) : Buffer.allocUnsafeSlow(size);
}

/** The size of the object the first entry of each lazy section was read from: about what a rewrite of it takes. */
export function readSizeOf(fields: ReadonlyMap<string, unknown>): number {
  let size = 0;
  for (const name of LAZY_SECTIONS) {
    const section = fields.get(name);
    if (!(section instanceof Map)) continue;
    for (const entry of section.values()) {
      if (entry instanceof EncodedEntry) size = Math.max(size, entry.source.length);
      break;
    }
  }
  return size;
}

/** CBOR tag 259: a map whose keys are not all strings (cbor-x's tag for a `Map`). */
const TAG_MAP = 259;

/**
 * Writes a lazy section as cbor-x would write it as a `Map` of id to `Tag(bytes, 24)` (tag 259 over a
 * map of id to tag 24 over the entry's bytes), without a `Tag` per entry: entries that stood next to each other in the
 * object they were read from, keys and heads between them included, go out as one run of bytes. A
 * write that changes one user of a thousand copies two runs instead of encoding a thousand items.
 */
export function writeLazySection(entries: ReadonlyMap<unknown, unknown>, encodings: EntryEncodings | undefined, out: ByteWriter): void {
  out.head(6, TAG_MAP);
  out.head(5, entries.size);
  let run: { first: EncodedEntry; last: EncodedEntry } | undefined;
  const endRun = () => {
    if (run === undefined) return;
    out.bytes(run.first.source.subarray(run.first.start, run.last.end));
    run = undefined;
  };
  for (const [id, entry] of entries) {
    if (entry instanceof EncodedEntry && run !== undefined && follows(run.last, entry)) {
      run.last = entry;
      continue;
    }
    endRun();
    out.item(toWire(id));
    out.head(6, TAG_ENCODED_CBOR);
    if (entry instanceof EncodedEntry) {
      out.head(2, entry.end - entry.start);
      run = { first: entry, last: entry };
    } else {
      const bytes = entryBytes(entry, encodings);
      out.head(2, bytes.length);
      out.bytes(bytes);
    }
  }
  endRun();
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
    entries.set(id, new EncodedEntry(item.value, name, id));
  }
  return entries;
}

/** Replaces every {@link EncodedEntry} in a lazy section's map by its value, decoded afresh. */
export function decodeLazySection(entries: Map<unknown, unknown>): void {
  entries.forEach((entry, id) => {
    if (entry instanceof EncodedEntry) entries.set(id, entry.freshValue());
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
