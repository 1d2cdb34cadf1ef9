/**
 * The value model on the wire: one explicit walk each way between stored values and the CBOR items
 * cbor-x encodes and decodes.
 *
 * cbor-x's defaults change some data silently (a `__proto__` key becomes `__proto_`, Dates lose
 * milliseconds through float seconds, `-0` becomes `0`), and its decoder builds `Error`, `RegExp` and
 * typed arrays from tags. So private tags carry what cbor-x would alter, and the decoder's output is
 * checked against the value model before anything else sees it.
 */
import { Decoder, Encoder, Tag } from '#cbor-x';
import { BOT_PLACEHOLDER, defineEntry } from './values.js';
import { UndecodableSnapshot } from '../engine/conditional-object.js';

// Tags from CBOR's first-come-first-served range, meaningful only inside this format.
export const TAG_BOT = 51_200;
export const TAG_DATE_MS = 51_201;
export const TAG_NEGATIVE_ZERO = 51_202;
export const TAG_OBJECT_ENTRIES = 51_203;
/** RFC 8949's "encoded CBOR data item": a byte string that holds one CBOR item (a lazy entry, see lazy-entries.ts). */
export const TAG_ENCODED_CBOR = 24;

export { UndecodableSnapshot };

export const encoder = new Encoder({ useRecords: false, tagUint8Array: false, pack: false, structuredClone: false });
export const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** A stored value as the CBOR item that encodes it exactly. */
export function toWire(value: unknown): unknown {
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
 * Checks a decoded item against the value model and revives private tags, in place where it can.
 * `path` holds the steps from the section to `item`, for the message when it is refused; the walk
 * pushes and pops its own steps on it. `seen` (see {@link visitedSetFor}) catches shared references.
 * Throws {@link UndecodableSnapshot}.
 */
export function walk(item: unknown, path: unknown[], seen: Set<object> | undefined): unknown {
  try {
    return fromWire(item, path, seen);
  } catch (error) {
    if (error instanceof WalkFailure) throw new UndecodableSnapshot(`${error.message} at ${path.map(formatStep).join('')}${error.hint}`);
    // A stack overflow in the walk; cbor-x's own overflow on deeper nesting ends as invalid CBOR.
    if (error instanceof RangeError) throw new UndecodableSnapshot(`nested too deeply to decode (${error.message})`);
    throw error;
  }
}

/**
 * Only cbor-x's shared-reference tags (28, 29) make one decoded object appear twice; this format
 * never writes them. Bytes without their heads (0xd8 0x1c / 0xd8 0x1d) cannot hold a cycle or a
 * shared DAG, so a walk keeps a set of visited objects only when they could.
 */
export function visitedSetFor(bytes: Uint8Array): Set<object> | undefined {
  return SHARED_REFERENCE_HEADS.some((head) => holdsSequence(bytes, head)) ? new Set<object>() : undefined;
}

/** Whether `bytes` may hold the bot placeholder's tag (51200: 0xd9 0xc8 0x00). */
export function mayHoldBotPlaceholder(bytes: Uint8Array): boolean {
  return holdsSequence(bytes, BOT_PLACEHOLDER_HEAD);
}

/** A step of a path for a message: keys may be any decoded value, some without a string form. */
export function formatStep(step: unknown): string {
  if (step instanceof Date) return Number.isNaN(step.getTime()) ? 'Invalid Date' : step.toISOString();
  if (typeof step === 'object' && step !== null) return Object.prototype.toString.call(step);
  return typeof step === 'symbol' ? step.toString() : String(step);
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

/** Why the walk refused a value; where is in the walk's path. */
class WalkFailure extends Error {
  constructor(
    reason: string,
    readonly hint = '',
  ) {
    super(reason);
  }
}

// Steps are pushed as they are (no string built per value) and formatted only when the walk fails:
// then the failing value's steps are left on the path.
function fromWire(value: unknown, path: unknown[], seen: Set<object> | undefined): unknown {
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
      path.push('.', key);
      object[key] = fromWire(entry, path, seen);
      path.length -= 2;
    }
    return object;
  }
  if (proto === Array.prototype) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== 'object' || item === null) continue;
      path.push('[', i, ']');
      items[i] = fromWire(item, path, seen);
      path.length -= 3;
    }
    return items;
  }
  if (value instanceof Map) return fromWireMap(value, path, seen);
  if (value instanceof Set) {
    const set = new Set<unknown>();
    let i = 0;
    for (const item of value) {
      path.push(' item ', i++);
      set.add(fromWire(item, path, seen));
      path.length -= 2;
    }
    return set;
  }
  if (value instanceof Uint8Array && (value.constructor === Uint8Array || value.constructor.name === 'Buffer')) {
    return new Uint8Array(value);
  }
  if (value instanceof Tag) return fromTag(value, path, seen);
  const name = (value.constructor as { name?: string } | undefined)?.name ?? 'unknown';
  throw new WalkFailure(`unexpected ${name}`, '; this format never stores one');
}

/** Revives a Map's values in place; only a Map with object keys (never written by this format) is rebuilt. */
function fromWireMap(map: Map<unknown, unknown>, path: unknown[], seen: Set<object> | undefined): Map<unknown, unknown> {
  let objectKeys = false;
  for (const [key, entry] of map) {
    if (typeof key === 'object' && key !== null) objectKeys = true;
    if (typeof entry !== 'object' || entry === null) continue;
    path.push('.get(', key, ')');
    map.set(key, fromWire(entry, path, seen));
    path.length -= 3;
  }
  if (!objectKeys) return map;
  const rebuilt = new Map<unknown, unknown>();
  for (const [key, entry] of map) {
    path.push(' key');
    rebuilt.set(fromWire(key, path, seen), entry);
    path.length -= 1;
  }
  return rebuilt;
}

function fromTag(tag: Tag, path: unknown[], seen: Set<object> | undefined): unknown {
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
        path.push('.', key);
        defineEntry(object, key, fromWire(content[i + 1], path, seen));
        path.length -= 2;
      }
      return object;
    }
    default:
      throw new WalkFailure(`unknown CBOR tag ${tag.tag}`);
  }
}
