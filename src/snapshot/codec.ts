/**
 * The snapshot format: a CBOR (cbor-x) map `{ $format, $version, ...sections }`.
 *
 * Format 2 (this release writes it; it reads 1 and 2) stores each entry of `user_data` and
 * `chat_data` as an encoded CBOR data item of its own (RFC 8949 tag 24, a byte string holding the
 * entry's CBOR). Reading an object decodes only the envelope; an entry is decoded and checked the
 * first time it is read, and an entry nobody changed is written back as the very bytes it was read
 * as. A cold start that serves one user therefore decodes one user, not the whole population.
 * Format 1 held the entries inline; it is read as before.
 *
 * cbor-x's defaults change some data silently (a `__proto__` key becomes `__proto_`, Dates lose
 * milliseconds through float seconds, `-0` becomes `0`), and its decoder builds `Error`, `RegExp` and
 * typed arrays from tags. So values go through one explicit walk each way: private tags carry
 * what cbor-x would alter, and the decoder's output is checked against the value model before
 * anything else sees it.
 */
import { Decoder, Encoder, Tag } from '#cbor-x';
import { BOT_PLACEHOLDER, defineEntry, isPlainObject, MAX_DEPTH } from './values.js';

/** The format marker of every snapshot object. */
export const SNAPSHOT_FORMAT = 'telegram-s3-persistence';
/** The format version this release writes; it reads every version from 1 up to this one. */
export const SNAPSHOT_VERSION = 2;

// Tags from CBOR's first-come-first-served range, meaningful only inside this format.
const TAG_BOT = 51_200;
const TAG_DATE_MS = 51_201;
const TAG_NEGATIVE_ZERO = 51_202;
const TAG_OBJECT_ENTRIES = 51_203;
/** RFC 8949's "encoded CBOR data item": a byte string that holds one CBOR item. */
const TAG_ENCODED_CBOR = 24;

/** Sections whose entries format 2 stores as encoded items, each decoded on first read. */
const LAZY_SECTIONS: ReadonlySet<string> = new Set(['user_data', 'chat_data']);

/**
 * A decoded snapshot: section name (or a field this release does not know) to value. In the maps
 * of `user_data` and `chat_data`, a value read from format 2 may be an {@link EncodedEntry} until it
 * is first read; {@link storedValue} gives the value either way.
 */
export type SnapshotFields = Map<string, unknown>;

/** Why bytes could not be decoded; the caller adds bucket and key. */
export class UndecodableSnapshot extends Error {
  override readonly name = 'UndecodableSnapshot';
}

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, pack: false, structuredClone: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

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
    const entry = entries[i]!;
    walkPath.length = 0;
    walkPath.push(entry.section, '.get(', entry.id, ')');
    values[i] = walkFromPath(items[k], undefined);
  });
  return values;
}

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

/** The value of a stored entry, decoding it first when it is still an {@link EncodedEntry}. */
export function storedValue(entry: unknown): unknown {
  return entry instanceof EncodedEntry ? entry.value : entry;
}

/**
 * Reuses the encoding of entries written before: entry value to its bytes. Only for values nobody
 * mutates (the persistence's own stored copies); a caller's objects may change between encodes.
 */
export type EntryEncodings = WeakMap<object, Uint8Array>;

/**
 * Encodes snapshot fields in the newest format. The values must already be in the value model
 * (see `copyIn`); {@link EncodedEntry} values are written as the bytes they were read as.
 */
export function encodeSnapshot(fields: SnapshotFields, encodings?: EntryEncodings): Uint8Array {
  const envelope: Record<string, unknown> = { $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION };
  for (const [name, value] of fields) {
    const wire = LAZY_SECTIONS.has(name) && value instanceof Map ? toWireLazySection(value, encodings) : toWire(value);
    defineEntry(envelope, name, wire);
  }
  return encoder.encode(envelope);
}

function toWireLazySection(entries: Map<unknown, unknown>, encodings: EntryEncodings | undefined): Map<unknown, Tag> {
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

function toWire(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? new Tag(null, TAG_NEGATIVE_ZERO) : value;
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (value === BOT_PLACEHOLDER) return new Tag(null, TAG_BOT);
  if (Array.isArray(value)) return value.map(toWire);
  if (value instanceof Map) {
    const wire = new Map<unknown, unknown>();
    for (const [key, entry] of value) wire.set(toWire(key), toWire(entry));
    return wire;
  }
  if (value instanceof Set) {
    const wire = new Set<unknown>();
    for (const item of value) wire.add(toWire(item));
    return wire;
  }
  if (value instanceof Date) return new Tag(value.getTime(), TAG_DATE_MS);
  if (value instanceof Uint8Array) return value;
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  if (Object.prototype.hasOwnProperty.call(source, '__proto__')) {
    return new Tag(keys.flatMap((key) => [key, toWire(source[key])]), TAG_OBJECT_ENTRIES);
  }
  const wire: Record<string, unknown> = {};
  for (const key of keys) wire[key] = toWire(source[key]);
  return wire;
}

/**
 * Decodes a snapshot object, every entry included. Throws {@link UndecodableSnapshot} for anything
 * that is not a snapshot of a version this release reads, or that holds a value outside the value
 * model.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotFields {
  const fields = decodeSnapshotLazily(bytes);
  for (const name of LAZY_SECTIONS) {
    const entries = fields.get(name);
    if (!(entries instanceof Map)) continue;
    const encoded = [...(entries as Map<unknown, unknown>).values()].filter((entry): entry is EncodedEntry => entry instanceof EncodedEntry);
    const values = decodeEntriesFresh(encoded);
    encoded.forEach((entry, i) => entries.set(entry.id, values[i]));
  }
  return fields;
}

/**
 * Decodes a snapshot object's envelope and checks it as {@link decodeSnapshot} does, but leaves the
 * entries of format 2's lazy sections encoded ({@link EncodedEntry}): each is decoded, and checked,
 * when first read. This is what a load does.
 */
export function decodeSnapshotLazily(bytes: Uint8Array): SnapshotFields {
  if (bytes.length === 0) throw new UndecodableSnapshot('the object is empty');
  let envelope: unknown;
  try {
    envelope = decoder.decode(bytes);
  } catch (error) {
    throw new UndecodableSnapshot(`not valid CBOR (${(error as Error).message})`);
  }
  if (!isPlainObject(envelope) || envelope.$format !== SNAPSHOT_FORMAT) {
    throw new UndecodableSnapshot(`not a ${SNAPSHOT_FORMAT} snapshot (no "$format" marker)`);
  }
  const version = envelope.$version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new UndecodableSnapshot(`invalid format version ${String(version)}`);
  }
  if (version > SNAPSHOT_VERSION) {
    throw new UndecodableSnapshot(
      `written in format version ${version} by a newer release; this release reads up to version ${SNAPSHOT_VERSION}: upgrade telegram-s3-persistence`,
    );
  }
  const fields: SnapshotFields = new Map();
  const seen = visitedSetFor(bytes);
  for (const name of Object.keys(envelope)) {
    if (name === '$format' || name === '$version') continue;
    const value = envelope[name];
    fields.set(name, version >= 2 && LAZY_SECTIONS.has(name) ? lazySection(name, value, seen) : walk([name], value, seen));
  }
  return fields;
}

/** A lazy section's map with each entry left encoded; anything else is walked (and then refused by its shape check). */
function lazySection(name: string, value: unknown, seen: Set<object> | undefined): unknown {
  if (!(value instanceof Map)) return walk([name], value, seen);
  const entries = new Map<unknown, unknown>();
  for (const [key, item] of value as Map<unknown, unknown>) {
    const id = typeof key === 'object' && key !== null ? walk([name, ' key'], key, seen) : key;
    if (!(item instanceof Tag) || item.tag !== TAG_ENCODED_CBOR || !(item.value instanceof Uint8Array)) {
      throw new UndecodableSnapshot(`${name}.get(${formatStep(id)}) is not an encoded entry (tag ${TAG_ENCODED_CBOR} holding bytes)`);
    }
    entries.set(id, new EncodedEntry(item.value, name, id));
  }
  return entries;
}

function decodeEntry(bytes: Uint8Array, section: string, id: unknown): unknown {
  let item: unknown;
  try {
    if (bytes.length === 0) throw new Error('no bytes at all');
    item = decoder.decode(bytes);
  } catch (error) {
    throw new UndecodableSnapshot(`${section}.get(${formatStep(id)}) is not valid CBOR (${(error as Error).message})`);
  }
  walkPath.length = 0;
  walkPath.push(section, '.get(', id, ')');
  return walkFromPath(item, visitedSetFor(bytes));
}

/**
 * Only cbor-x's shared-reference tags (28, 29) make one decoded object appear twice; this format
 * never writes them. Bytes without their heads (0xd8 0x1c / 0xd8 0x1d) cannot hold a cycle or a
 * shared DAG, so a walk keeps a set of visited objects only when they could.
 */
function visitedSetFor(bytes: Uint8Array): Set<object> | undefined {
  return mayHoldSharedReferences(bytes) ? new Set<object>() : undefined;
}

/** A step of a path for a message: keys may be any decoded value, some without a string form. */
function formatStep(step: unknown): string {
  if (step instanceof Date) return Number.isNaN(step.getTime()) ? 'Invalid Date' : step.toISOString();
  if (typeof step === 'object' && step !== null) return Object.prototype.toString.call(step);
  return typeof step === 'symbol' ? step.toString() : String(step);
}

/** Checks a decoded value against the value model (see {@link fromWire}), starting at `path` for messages. */
function walk(path: readonly unknown[], value: unknown, seen: Set<object> | undefined): unknown {
  walkPath.length = 0;
  walkPath.push(...path);
  return walkFromPath(value, seen);
}

/** {@link walk} from the steps already in {@link walkPath}. */
function walkFromPath(value: unknown, seen: Set<object> | undefined): unknown {
  try {
    return fromWire(value, seen);
  } catch (error) {
    if (error instanceof WalkFailure) throw new UndecodableSnapshot(`${error.message} at ${walkPath.map(formatStep).join('')}${error.hint}`);
    // A stack overflow in the walk; cbor-x's own overflow on deeper nesting ends as invalid CBOR above.
    if (error instanceof RangeError) throw new UndecodableSnapshot(`nested too deeply to decode (${error.message})`);
    throw error;
  }
}

/** Whether `bytes` may hold the bot placeholder's tag (51200: 0xd9 0xc8 0x00). */
function mayHoldBotPlaceholder(bytes: Uint8Array): boolean {
  return holdsSequence(bytes, BOT_PLACEHOLDER_HEAD);
}

function mayHoldSharedReferences(bytes: Uint8Array): boolean {
  return SHARED_REFERENCE_HEADS.some((head) => holdsSequence(bytes, head));
}

const BOT_PLACEHOLDER_HEAD = Buffer.from([0xd9, 0xc8, 0x00]);
const SHARED_REFERENCE_HEADS = [Buffer.from([0xd8, 0x1c]), Buffer.from([0xd8, 0x1d])];

/** Below this many bytes a loop in JavaScript is quicker than Buffer's native search (a call each). */
const NATIVE_SEARCH_FROM = 4096;

/** Whether `sequence` stands anywhere in `bytes`. */
function holdsSequence(bytes: Uint8Array, sequence: Buffer): boolean {
  if (bytes.length >= NATIVE_SEARCH_FROM) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(sequence);
  const last = bytes.length - sequence.length;
  for (let i = bytes.indexOf(sequence[0]!); i !== -1 && i <= last; i = bytes.indexOf(sequence[0]!, i + 1)) {
    let k = 1;
    while (k < sequence.length && bytes[i + k] === sequence[k]) k++;
    if (k === sequence.length) return true;
  }
  return false;
}

/** Why the walk refused a value; where is in {@link walkPath}. */
class WalkFailure extends Error {
  constructor(
    reason: string,
    readonly hint = '',
  ) {
    super(reason);
  }
}

/**
 * The steps from the section to the value being walked. Steps are pushed as they are (no string
 * built per value) and formatted only when the walk fails: then the failing value's steps are left.
 */
const walkPath: unknown[] = [];

/** Checks a decoded value against the value model and revives private tags, in place where it can. */
function fromWire(value: unknown, seen: Set<object> | undefined): unknown {
  if (typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') throw new WalkFailure(`unexpected ${typeof value}`);
    return value;
  }
  if (value === null) return null;
  if (seen !== undefined) {
    if (seen.has(value)) throw new WalkFailure('circular or shared reference');
    seen.add(value);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const entry = object[key];
      if (typeof entry !== 'object' || entry === null) continue;
      walkPath.push('.', key);
      object[key] = fromWire(entry, seen);
      walkPath.length -= 2;
    }
    return object;
  }
  if (proto === Array.prototype) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== 'object' || item === null) continue;
      walkPath.push('[', i, ']');
      items[i] = fromWire(item, seen);
      walkPath.length -= 3;
    }
    return items;
  }
  if (value instanceof Map) return fromWireMap(value as Map<unknown, unknown>, seen);
  if (value instanceof Set) {
    const set = new Set<unknown>();
    let i = 0;
    for (const item of value) {
      walkPath.push(' item ', i++);
      set.add(fromWire(item, seen));
      walkPath.length -= 2;
    }
    return set;
  }
  if (value instanceof Uint8Array && (value.constructor === Uint8Array || value.constructor.name === 'Buffer')) {
    return new Uint8Array(value);
  }
  if (value instanceof Tag) return fromTag(value, seen);
  const name = (value.constructor as { name?: string } | undefined)?.name ?? 'unknown';
  throw new WalkFailure(`unexpected ${name}`, '; this format never stores one');
}

/** Revives a Map's values in place; only a Map with object keys (never written by this format) is rebuilt. */
function fromWireMap(map: Map<unknown, unknown>, seen: Set<object> | undefined): Map<unknown, unknown> {
  let objectKeys = false;
  for (const [key, entry] of map) {
    if (typeof key === 'object' && key !== null) objectKeys = true;
    if (typeof entry !== 'object' || entry === null) continue;
    walkPath.push('.get(', key, ')');
    map.set(key, fromWire(entry, seen));
    walkPath.length -= 3;
  }
  if (!objectKeys) return map;
  const rebuilt = new Map<unknown, unknown>();
  for (const [key, entry] of map) {
    walkPath.push(' key');
    rebuilt.set(fromWire(key, seen), entry);
    walkPath.length -= 1;
  }
  return rebuilt;
}

function fromTag(tag: Tag, seen: Set<object> | undefined): unknown {
  const content = tag.value as unknown;
  switch (tag.tag) {
    case TAG_BOT:
      return BOT_PLACEHOLDER;
    case TAG_NEGATIVE_ZERO:
      return -0;
    case TAG_DATE_MS:
      if (typeof content !== 'number') throw new WalkFailure('malformed date');
      return new Date(content);
    case TAG_OBJECT_ENTRIES: {
      if (!Array.isArray(content) || content.length % 2 !== 0) throw new WalkFailure('malformed object');
      const object: Record<string, unknown> = {};
      for (let i = 0; i < content.length; i += 2) {
        const key: unknown = content[i];
        if (typeof key !== 'string') throw new WalkFailure('non-string object key');
        walkPath.push('.', key);
        defineEntry(object, key, fromWire(content[i + 1], seen));
        walkPath.length -= 2;
      }
      return object;
    }
    default:
      throw new WalkFailure(`unknown CBOR tag ${tag.tag}`);
  }
}
