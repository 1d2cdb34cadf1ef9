/**
 * The one-pass decoder: from a snapshot's bytes straight to the value model, with no cbor-x tree
 * and no walk after it. Each item is built as the value it stands for (Maps, Sets, Dates and this
 * format's private tags revived as they are read). A lazy section is handed, entry by entry, to the
 * caller's builder (the compact index of `lazy-entries.ts`), and a whole read decodes each entry
 * where it stands, beside its offsets: one pass over the object, however many entries it holds.
 *
 * It reads only what this format writes: definite lengths, the tags of `value-tags.ts`, text that is
 * valid UTF-8, plain objects with string keys. On anything else it gives up, and the cbor-x path
 * (`envelope.ts`, `lazy-entries.ts`) decodes the bytes, so that what was accepted before still is,
 * and what was refused is refused with the same message, naming the path.
 */
import { TAG_BOT, TAG_DATE_MS, TAG_ENCODED_CBOR, TAG_NEGATIVE_ZERO, TAG_OBJECT_ENTRIES } from './value-tags.js';
import { BOT_PLACEHOLDER, defineEntry, MAX_DEPTH } from './values.js';

/** Thrown (never escapes this module) when the bytes hold something only the cbor-x path reads. */
const GIVE_UP: unique symbol = Symbol('give up');

/** What {@link decodeEntryDirect} answers when only the cbor-x path may read the bytes. */
export const NOT_READ: unique symbol = Symbol('not read');

// cbor-x's tags for a Set and a Map (the format's own are in value-tags.ts).
const TAG_SET = 258;
const TAG_MAP = 259;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lazy section as it is read (the caller's `LazySection`): its entries added in order. */
export interface LazySectionBuilder {
  /** Entry `id` stands in `source[start..end)`; `value` is what a whole read decoded of it, {@link NOT_READ} when nothing. */
  add(id: number, start: number, end: number, value: unknown): void;
}

/** Makes the builder of a lazy section of `count` entries (as its head says) of `source`; `whole`: each entry comes with its value. */
export type LazySectionFactory = (source: Uint8Array, count: number, whole: boolean) => LazySectionBuilder;

/** Where a lazy section stands: the top-level fields whose entries are encoded items, from which version on. */
export interface LazySections {
  names: ReadonlySet<string>;
  fromVersion: number;
}

// The decoder's state: one decode at a time (JavaScript runs one), as cbor-x's own.
let source: Uint8Array | undefined;
let src: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(src.buffer);
let position = 0;
let end = 0;
let depth = 0;
/** Set when the item just read holds the bot placeholder. */
let heldBot = false;
let releaseScheduled = false;

/** Reads `bytes[from..to)` next. Entries of one object decoded one after another share the views made for the first. */
function start(bytes: Uint8Array, from: number, to: number): void {
  if (bytes !== source) {
    source = bytes;
    // A plain view: a Buffer's subarray would be a Buffer, built by a slower constructor.
    src = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The cached texts' places are in the object read before.
    textCacheAt.fill(-1);
    if (!releaseScheduled) {
      releaseScheduled = true;
      queueMicrotask(release);
    }
  }
  position = from;
  end = to;
  depth = 0;
  heldBot = false;
}

/** Lets go of the object read last, once the code that reads it is done, so that it is not kept alive here. */
function release(): void {
  releaseScheduled = false;
  source = undefined;
  src = new Uint8Array(0);
  view = new DataView(src.buffer);
}

/**
 * The value of one entry (`bytes[from..to)`, exactly one item), each object in it new, or
 * {@link NOT_READ} when the bytes hold something only the cbor-x path reads. The bot placeholder
 * is read only with `allowBot`: a value handed to a caller as its own must not hold it (only a
 * copy replaces it with the bot).
 */
export function decodeEntryDirect(bytes: Uint8Array, from: number, to: number, allowBot: boolean): unknown {
  start(bytes, from, to);
  try {
    const value = readItem();
    return position === to && (allowBot || !heldBot) ? value : NOT_READ;
  } catch (error) {
    if (error === GIVE_UP || error instanceof RangeError) return NOT_READ;
    throw error;
  }
}

/**
 * A snapshot's envelope as a plain object of final values, each lazy section a builder made by
 * `newSection` (its entries with their values when `whole`), or `undefined` when the bytes hold
 * anything only the cbor-x path reads. The format and version are not checked here.
 */
export function decodeEnvelopeDirect(bytes: Uint8Array, lazy: LazySections, whole: boolean, newSection: LazySectionFactory): Record<string, unknown> | undefined {
  start(bytes, 0, bytes.length);
  try {
    const envelope = readEnvelope(lazy, whole, newSection);
    return position === bytes.length ? envelope : undefined;
  } catch (error) {
    if (error === GIVE_UP || error instanceof RangeError) return undefined;
    throw error;
  }
}

function readEnvelope(lazy: LazySections, whole: boolean, newSection: LazySectionFactory): Record<string, unknown> {
  const initial = src[position++]!;
  if (initial >> 5 !== 5) throw GIVE_UP;
  const count = readArgument(initial & 0x1f);
  const envelope: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const name = readObjectKey();
    const version = envelope.$version;
    envelope[name] =
      lazy.names.has(name) && typeof version === 'number' && version >= lazy.fromVersion ? readLazySection(whole, newSection) : readItem();
  }
  return envelope;
}

/**
 * A lazy section: tag 259 over a map of id to tag 24 over the entry's bytes. Only ids that are
 * numbers fit the compact index; any other the cbor-x path reads (and the section's shape check
 * refuses).
 */
function readLazySection(whole: boolean, newSection: LazySectionFactory): LazySectionBuilder {
  if (readHead(6) !== TAG_MAP) throw GIVE_UP;
  const count = readHead(5);
  // Each entry takes four bytes at least (id, tag, byte string head, item): no head makes the index larger than the object.
  if (count > (end - position) / 4) throw GIVE_UP;
  const section = newSection(source!, count, whole);
  const sectionEnd = end;
  const sectionDepth = depth;
  for (let i = 0; i < count; i++) {
    // The commonest ids read here (a double, as cbor-x writes an integer from 2^32 on, and a 32-bit integer), any other by readId.
    let id: unknown;
    const first = position < end ? src[position]! : -1;
    if (first === 0xfb && position + 9 <= end) {
      id = view.getFloat64(position + 1);
      position += 9;
    } else if (first === 0x1a && position + 5 <= end) {
      id = view.getUint32(position + 1);
      position += 5;
    } else {
      id = readId();
    }
    if (typeof id !== 'number') throw GIVE_UP;
    // Tag 24 as its short head writes it (any other head of it read as such), then the byte string's head.
    if (position + 1 < end && src[position] === 0xd8 && src[position + 1] === TAG_ENCODED_CBOR) position += 2;
    else if (readHead(6) !== TAG_ENCODED_CBOR) throw GIVE_UP;
    // The byte string's head: most entries are shorter than 256 bytes.
    let length: number;
    const head = position < end ? src[position]! : 0;
    if (head === 0x58 && position + 1 < end) {
      length = src[position + 1]!;
      position += 2;
    } else {
      length = readHead(2);
    }
    const from = position;
    const to = from + length;
    if (to > end) throw GIVE_UP;
    let value: unknown = NOT_READ;
    if (whole) {
      // The entry's value read where it stands (not plainly one value: none, for the cbor-x path later).
      end = to;
      heldBot = false;
      try {
        value = readItem();
        if (position !== to || heldBot) value = NOT_READ;
      } catch (error) {
        if (error !== GIVE_UP) throw error;
      }
      end = sectionEnd;
      depth = sectionDepth;
      heldBot = false;
    }
    section.add(id, from, to, value);
    position = to;
  }
  return section;
}

/**
 * An id of a lazy section, apart from {@link readItem}: when an id is the first thing read (a load
 * reads the ids of every entry before any entry), `readItem` would otherwise be compiled for
 * numbers alone, and thrown back to slow code by the first entry that holds anything else.
 */
function readId(): unknown {
  if (position >= end) throw GIVE_UP;
  const initial = src[position]!;
  if (initial === 0xfb && position + 9 <= end) {
    const value = view.getFloat64(position + 1);
    position += 9;
    return value;
  }
  // Integers (below 2^32, as readItem reads them): ids of users below 2^32 are written so.
  if (initial < 0x1b) {
    position++;
    return readArgument(initial);
  }
  if (initial >= 0x20 && initial < 0x3b) {
    position++;
    return -1 - readArgument(initial & 0x1f);
  }
  return readItemElsewhere();
}

/** {@link readItem} called from its own place: a call site of its own keeps its own type feedback. */
function readItemElsewhere(): unknown {
  return readItem();
}

/** The argument of a head of major type `major`, which must be there, definite. */
function readHead(major: number): number {
  if (position >= end) throw GIVE_UP;
  const initial = src[position++]!;
  if (initial >> 5 !== major) throw GIVE_UP;
  return readArgument(initial & 0x1f);
}

/** A head's argument (below 2^32; longer ones, and indefinite lengths, only the cbor-x path reads). */
function readArgument(info: number): number {
  if (info < 24) return info;
  let value: number;
  switch (info) {
    case 24:
      if (position + 1 > end) throw GIVE_UP;
      return src[position++]!;
    case 25:
      if (position + 2 > end) throw GIVE_UP;
      value = view.getUint16(position);
      position += 2;
      return value;
    case 26:
      if (position + 4 > end) throw GIVE_UP;
      value = view.getUint32(position);
      position += 4;
      return value;
    default:
      throw GIVE_UP;
  }
}

function readItem(): unknown {
  if (position >= end) throw GIVE_UP;
  const initial = src[position++]!;
  const major = initial >> 5;
  let argument = initial & 0x1f;
  if (argument >= 24) {
    if (major === 7) return readSimple(argument);
    if (argument === 27 && major < 2) return readUint64(major === 1);
    argument = readArgument(argument);
  }
  switch (major) {
    case 0:
      return argument;
    case 1:
      return -1 - argument;
    case 2:
      if (position + argument > end) throw GIVE_UP;
      // A copy of its own, a plain Uint8Array (the walk makes the same of cbor-x's view).
      return new Uint8Array(src.subarray(position, (position += argument)));
    case 3:
      return readText(argument);
    case 4:
      return readArray(argument);
    case 5: {
      // A plain object (a map not tagged 259, as cbor-x reads it with `mapsAsObjects`), string keys only.
      if (argument > (end - position) / 2) throw GIVE_UP;
      enter();
      const object: Record<string, unknown> = {};
      for (let i = 0; i < argument; i++) {
        if (position >= end) throw GIVE_UP;
        const head = src[position]!;
        let key: string;
        // Most keys are short texts met before: looked up here, not through calls that cost most in a fresh process.
        if (head > 0x60 && head < 0x78) {
          const length = head - 0x60;
          const from = position + 1;
          const to = from + length;
          if (to > end) throw GIVE_UP;
          const slot = (length * 0x3f1 + src[from]! * 0x1f + src[to - 1]!) & (TEXT_CACHE_SIZE - 1);
          const cachedAt = textCacheAt[slot]!;
          key = textCache[slot]!;
          position = from;
          if (cachedAt < 0 || key.length !== length || !sameBytes(cachedAt, from, length)) key = newText(length, to, slot);
          position = to;
        } else {
          key = readText(readHead(3));
        }
        if (key === '__proto__') throw GIVE_UP;
        object[key] = readItem();
      }
      depth--;
      return object;
    }
    case 6:
      return readTagged(argument);
    default:
      return readSimple(argument);
  }
}

/** An 8-byte integer, which cbor-x reads as a bigint. */
function readUint64(negative: boolean): bigint {
  if (position + 8 > end) throw GIVE_UP;
  const value = view.getBigUint64(position);
  position += 8;
  return negative ? -1n - value : value;
}

function readSimple(info: number): unknown {
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 27: {
      if (position + 8 > end) throw GIVE_UP;
      const value = view.getFloat64(position);
      position += 8;
      return value;
    }
    default:
      throw GIVE_UP; // half and single floats (this format writes doubles), other simple values
  }
}

function enter(): void {
  if (++depth > MAX_DEPTH) throw GIVE_UP;
}

function readArray(length: number): unknown[] {
  if (length > end - position) throw GIVE_UP;
  enter();
  const items = new Array<unknown>(length);
  for (let i = 0; i < length; i++) items[i] = readItem();
  depth--;
  return items;
}

function readMap(): Map<unknown, unknown> {
  const count = readHead(5);
  if (count > (end - position) / 2) throw GIVE_UP;
  enter();
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < count; i++) {
    const key = readItem();
    // cbor-x reads an object key as a new object; the walk then copies it: only that path keeps its rules.
    if (typeof key === 'object' && key !== null) throw GIVE_UP;
    map.set(key, readItem());
  }
  depth--;
  return map;
}

function readTagged(tag: number): unknown {
  switch (tag) {
    case TAG_MAP:
      return readMap();
    case TAG_SET: {
      const items = readArray(readHead(4));
      return new Set(items);
    }
    case TAG_DATE_MS: {
      // A tagged time (its tag revived here, -0 say) is no number to the cbor-x path, which refuses it.
      if (position < end && src[position]! >> 5 === 6) throw GIVE_UP;
      const time = readItem();
      if (typeof time !== 'number') throw GIVE_UP;
      return new Date(time);
    }
    case TAG_NEGATIVE_ZERO:
      readItem();
      return -0;
    case TAG_BOT:
      readItem();
      heldBot = true;
      return BOT_PLACEHOLDER;
    case TAG_OBJECT_ENTRIES: {
      const length = readHead(4);
      if (length % 2 !== 0 || length > end - position) throw GIVE_UP;
      enter();
      const object: Record<string, unknown> = {};
      for (let i = 0; i < length; i += 2) {
        const key = readText(readHead(3));
        defineEntry(object, key, readItem());
      }
      depth--;
      return object;
    }
    default:
      throw GIVE_UP;
  }
}

/** A key of a plain object: text, not `__proto__` (which cbor-x renames). */
function readObjectKey(): string {
  if (position >= end) throw GIVE_UP;
  const initial = src[position]!;
  // Most keys are short texts: their head is their length.
  const key = initial >= 0x60 && initial < 0x78 ? (position++, readText(initial - 0x60)) : readText(readHead(3));
  if (key === '__proto__') throw GIVE_UP;
  return key;
}

/** Texts up to this many bytes come from a cache when ASCII: keys and common values repeat across entries. */
const SHORT_TEXT = 32;
const TEXT_CACHE_SIZE = 4096;
const textCache = new Array<string>(TEXT_CACHE_SIZE).fill('');
/**
 * Where in the object being read each cached text's bytes stand (-1: nowhere, as after a change of
 * object): a text met again is compared with its first occurrence in place, and caching a text
 * copies no bytes (a copy through a view cost most of a cold load's misses: usernames, each new).
 */
const textCacheAt = new Int32Array(TEXT_CACHE_SIZE).fill(-1);
/** Reused argument lists of `String.fromCharCode`, one per length: building a short text makes no garbage. */
const CHAR_CODES = Array.from({ length: SHORT_TEXT + 1 }, (_, length) => new Array<number>(length).fill(0));

/**
 * Node's native decoder of a range of UTF-8 bytes (`Buffer#utf8Slice`, which takes any Uint8Array),
 * or `undefined` outside Node. Native from the first call and cheap per call, where TextDecoder costs
 * a view and more per text, and a loop of JavaScript runs interpreted for much of a load in a fresh
 * process. It replaces a byte that is not UTF-8 with U+FFFD instead of throwing, so a text holding
 * U+FFFD is decoded again by the fatal decoder.
 */
const utf8Slice = (globalThis as { Buffer?: { prototype: unknown } }).Buffer?.prototype as { utf8Slice?: (this: Uint8Array, from: number, to: number) => string } | undefined;
const nativeUtf8 = typeof utf8Slice?.utf8Slice === 'function' ? utf8Slice.utf8Slice : undefined;

/** Text of `length` bytes; anything but valid UTF-8 gives up (cbor-x's readers differ from each other there). */
function readText(length: number): string {
  // Empty texts first: a comparison that only runs after the function is optimized throws it back to slow code.
  if (length === 0) return '';
  const to = position + length;
  if (to > end) throw GIVE_UP;
  let slot = -1;
  if (length <= SHORT_TEXT) {
    // The slot: length, first and last byte. A text met before is compared in place; only a new one is built.
    slot = (length * 0x3f1 + src[position]! * 0x1f + src[to - 1]!) & (TEXT_CACHE_SIZE - 1);
    const cached = textCache[slot]!;
    const cachedAt = textCacheAt[slot]!;
    if (cachedAt >= 0 && cached.length === length && sameBytes(cachedAt, position, length)) {
      position = to;
      return cached;
    }
  }
  // One call for every text the cache does not give, short or long: a call first made after V8
  // optimized this function (the first long text, in chat_data) would throw it back to slow code.
  const text = newText(length, to, slot);
  position = to;
  return text;
}

/** `src[position..to)` (`length` bytes) as a new text, kept in cache slot `slot` (-1: none) when ASCII. */
function newText(length: number, to: number, slot: number): string {
  if (nativeUtf8 !== undefined) {
    const text = nativeUtf8.call(src, position, to);
    // No replacement character: valid UTF-8 (a text that holds one is read again by the fatal decoder).
    if (!text.includes('\uFFFD')) {
      // One character per byte: every byte was ASCII (a longer sequence makes one character of several bytes).
      if (slot >= 0 && text.length === length) cacheText(slot, text);
      return text;
    }
  } else if (slot >= 0) {
    const codes = CHAR_CODES[length]!;
    let bits = 0;
    for (let i = 0; i < length; i++) bits |= codes[i] = src[position + i]!;
    if (bits < 0x80) {
      const text = String.fromCharCode.apply(null, codes);
      cacheText(slot, text);
      return text;
    }
  }
  try {
    return utf8.decode(src.subarray(position, to));
  } catch {
    throw GIVE_UP;
  }
}

function cacheText(slot: number, text: string): void {
  textCache[slot] = text;
  textCacheAt[slot] = position;
}

/** Whether the `length` bytes of a cached text (its first occurrence, at `cachedAt`) are `src[at..at + length)`. */
function sameBytes(cachedAt: number, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (src[cachedAt + i] !== src[at + i]) return false;
  return true;
}
