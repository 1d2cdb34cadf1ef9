/**
 * Lazy entries: format 2 stores each entry of `user_data` and `chat_data` as an encoded CBOR data
 * item of its own (RFC 8949 tag 24, a byte string holding the entry's CBOR). Reading an object
 * decodes only the envelope; an entry is decoded and checked the first time it is read, and an entry
 * nobody changed is written back as the very bytes it was read as. A cold start that serves one user
 * therefore decodes one user, not the whole population.
 */
import { Tag } from '#cbor-x';
import {
  decoder,
  encoder,
  formatStep,
  mayHoldBotPlaceholder,
  TAG_BOT,
  TAG_DATE_MS,
  TAG_NEGATIVE_ZERO,
  TAG_OBJECT_ENTRIES,
  toWire,
  UndecodableSnapshot,
  visitedSetFor,
  walk,
} from './value-tags.js';
import { MAX_DEPTH } from './values.js';

/** RFC 8949's "encoded CBOR data item": a byte string that holds one CBOR item. */
const TAG_ENCODED_CBOR = 24;

/** Sections whose entries format 2 stores as encoded items, each decoded on first read. */
export const LAZY_SECTIONS: ReadonlySet<string> = new Set(['user_data', 'chat_data']);

/**
 * One entry of a lazy section as it was read: its encoded bytes, decoded and checked against the
 * value model on first use (then kept). The bytes are what a rewrite of the unchanged entry stores.
 */
export class EncodedEntry {
  private decoded: unknown;
  private isDecoded = false;

  constructor(
    /** The entry's own CBOR item. */
    readonly bytes: Uint8Array,
    /** Where the entry is, for messages: its section and its id. */
    readonly section: string,
    readonly id: unknown,
  ) {}

  /** The entry's value; throws {@link UndecodableSnapshot} (naming the entry) when its bytes are not one. */
  get value(): unknown {
    if (!this.isDecoded) {
      this.decoded = decodeEntry(this.bytes, this.section, this.id);
      this.isDecoded = true;
    }
    return this.decoded;
  }

  /**
   * Whether a caller may hand out a fresh decode ({@link decodeEntriesFresh}) without copying it:
   * the entry has not been decoded yet (no one holds its value) and its bytes cannot hold the bot
   * placeholder, which only a copy replaces with the bot.
   */
  get decodesFresh(): boolean {
    return !this.isDecoded && !mayHoldBotPlaceholder(this.bytes);
  }
}

/** The value of a stored entry, decoding it first when it is still an {@link EncodedEntry}. */
export function storedValue(entry: unknown): unknown {
  return entry instanceof EncodedEntry ? entry.value : entry;
}

/**
 * The values of `entries`, each decoded afresh and checked, none kept: the caller's own. Entries
 * whose bytes are plainly one item each (only the tags this format writes, no shared references)
 * are decoded together in one cbor-x call, which is what makes reading every entry of a large
 * snapshot affordable; any other entry is decoded alone. Throws {@link UndecodableSnapshot} naming
 * the first entry that is not a value.
 */
export function decodeEntriesFresh(entries: readonly EncodedEntry[]): unknown[] {
  const values = new Array<unknown>(entries.length);
  const joined: number[] = [];
  let joinedBytes = 0;
  entries.forEach((entry, i) => {
    if (itemEnd(entry.bytes, 0, 0) === entry.bytes.length) {
      joined.push(i);
      joinedBytes += entry.bytes.length;
    } else {
      values[i] = decodeEntry(entry.bytes, entry.section, entry.id);
    }
  });
  if (joined.length === 0) return values;
  // One CBOR array of the entries' items, exactly as they are stored.
  const head = arrayHead(joined.length);
  const bytes = new Uint8Array(head.length + joinedBytes);
  bytes.set(head, 0);
  let offset = head.length;
  for (const i of joined) {
    bytes.set(entries[i]!.bytes, offset);
    offset += entries[i]!.bytes.length;
  }
  let items: unknown;
  try {
    items = decoder.decode(bytes);
  } catch {
    items = undefined;
  }
  if (!Array.isArray(items) || items.length !== joined.length) {
    // Something in one of them is not a value: decoded alone, the first such entry is named.
    for (const i of joined) values[i] = decodeEntry(entries[i]!.bytes, entries[i]!.section, entries[i]!.id);
    return values;
  }
  joined.forEach((i, k) => {
    values[i] = walk(items[k], entryPath(entries[i]!.section, entries[i]!.id), undefined);
  });
  return values;
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
  const encoded = [...entries.values()].filter((entry): entry is EncodedEntry => entry instanceof EncodedEntry);
  const values = decodeEntriesFresh(encoded);
  encoded.forEach((entry, i) => entries.set(entry.id, values[i]));
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

// The CBOR header scanner: tells whether an entry's bytes may be decoded together with others.

/** The head of a CBOR array of `length` items. */
function arrayHead(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x80 | length);
  if (length < 0x100) return Uint8Array.of(0x98, length);
  if (length < 0x10000) return Uint8Array.of(0x99, length >> 8, length & 0xff);
  return Uint8Array.of(0x9a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

/**
 * Tags that may stand in an entry decoded together with others: those this format and cbor-x
 * write for the value model (bignums 2 and 3, Set 258, Map 259, the private tags). Every other tag
 * (shared references, packed values, records, which carry state from one item to the next within
 * one decode) sends the entry to a decode of its own.
 */
const JOINABLE_TAGS: ReadonlySet<number> = new Set([2, 3, 258, 259, TAG_BOT, TAG_DATE_MS, TAG_NEGATIVE_ZERO, TAG_OBJECT_ENTRIES]);

/**
 * The offset just past the well-formed CBOR item that starts at `at`, or -1 when there is none
 * there, or when it holds an indefinite length or a tag outside {@link JOINABLE_TAGS}. Reads heads
 * only; what the item holds is checked by the decode and the walk.
 */
function itemEnd(bytes: Uint8Array, at: number, depth: number): number {
  if (at >= bytes.length || depth > MAX_DEPTH) return -1;
  const initial = bytes[at]!;
  const major = initial >> 5;
  const info = initial & 0x1f;
  let position = at + 1;
  let argument: number;
  if (info < 24) {
    argument = info;
  } else if (info <= 27) {
    const size = 1 << (info - 24);
    if (position + size > bytes.length) return -1;
    argument = 0;
    for (let i = 0; i < size; i++) argument = argument * 256 + bytes[position + i]!;
    position += size;
  } else {
    return -1; // reserved (28-30) or indefinite (31)
  }
  switch (major) {
    case 0:
    case 1:
    case 7:
      return position;
    case 2:
    case 3:
      return position + argument <= bytes.length ? position + argument : -1;
    case 4:
    case 5: {
      const items = major === 4 ? argument : argument * 2;
      // Each item takes a byte at least: a longer count than bytes left is malformed.
      if (items > bytes.length - position) return -1;
      for (let i = 0; i < items && position !== -1; i++) position = itemEnd(bytes, position, depth + 1);
      return position;
    }
    default: // 6, a tag
      return JOINABLE_TAGS.has(argument) ? itemEnd(bytes, position, depth + 1) : -1;
  }
}
