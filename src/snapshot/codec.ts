/**
 * The snapshot format: a CBOR (cbor-x) map `{ $format, $version, ...sections }`.
 *
 * cbor-x's defaults change some data silently (a `__proto__` key becomes `__proto_`, Dates lose
 * milliseconds through float seconds, `-0` becomes `0`), and its decoder builds `Error`, `RegExp` and
 * typed arrays from tags. So values go through one explicit walk each way: private tags carry
 * what cbor-x would alter, and the decoder's output is checked against the value model before
 * anything else sees it.
 */
import { Decoder, Encoder, Tag } from 'cbor-x';
import { BOT_PLACEHOLDER, defineEntry, isPlainObject } from './values.js';

/** The format marker of every snapshot object. */
export const SNAPSHOT_FORMAT = 'telegram-s3-persistence';
/** The newest format version this release writes and reads. */
export const SNAPSHOT_VERSION = 1;

// Tags from CBOR's first-come-first-served range, meaningful only inside this format.
const TAG_BOT = 51_200;
const TAG_DATE_MS = 51_201;
const TAG_NEGATIVE_ZERO = 51_202;
const TAG_OBJECT_ENTRIES = 51_203;

/** A decoded snapshot: section name (or a field this release does not know) to value. */
export type SnapshotFields = Map<string, unknown>;

/** Why bytes could not be decoded; the caller adds bucket and key. */
export class UndecodableSnapshot extends Error {
  override readonly name = 'UndecodableSnapshot';
}

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, pack: false, structuredClone: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** Encodes snapshot fields. The values must already be in the value model (see `copyIn`). */
export function encodeSnapshot(fields: SnapshotFields): Uint8Array {
  const envelope: Record<string, unknown> = { $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION };
  for (const [name, value] of fields) defineEntry(envelope, name, toWire(value));
  return encoder.encode(envelope);
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
 * Decodes a snapshot object. Throws {@link UndecodableSnapshot} for anything that is not a snapshot
 * of a version this release reads, or that holds a value outside the value model.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotFields {
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
  const seen = new Set<object>();
  try {
    for (const name of Object.keys(envelope)) {
      if (name === '$format' || name === '$version') continue;
      fields.set(name, fromWire(envelope[name], name, seen));
    }
  } catch (error) {
    // A stack overflow in the walk; cbor-x's own overflow on deeper nesting ends as invalid CBOR above.
    if (error instanceof RangeError) throw new UndecodableSnapshot(`nested too deeply to decode (${error.message})`);
    throw error;
  }
  return fields;
}

function fromWire(value: unknown, path: string, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return value;
    case 'object':
      break;
    default:
      throw new UndecodableSnapshot(`unexpected ${typeof value} at ${path}`);
  }
  if (value === null) return null;
  // cbor-x reads each item into a fresh object except through shared references (tags 28/29), which this
  // format never writes; refusing any object met twice refuses cycles and the exponential walk of a shared DAG.
  if (seen.has(value)) throw new UndecodableSnapshot(`circular or shared reference at ${path}`);
  seen.add(value);
  return fromWireObject(value, path, seen);
}

function fromWireObject(value: object, path: string, seen: Set<object>): unknown {
  if (Array.isArray(value)) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) items[i] = fromWire(items[i], `${path}[${i}]`, seen);
    return items;
  }
  if (value instanceof Map) {
    const map = new Map<unknown, unknown>();
    for (const [key, entry] of value) map.set(fromWire(key, `${path} key`, seen), fromWire(entry, `${path}.get()`, seen));
    return map;
  }
  if (value instanceof Set) {
    const set = new Set<unknown>();
    for (const item of value) set.add(fromWire(item, `${path} item`, seen));
    return set;
  }
  if (value instanceof Uint8Array && (value.constructor === Uint8Array || value.constructor.name === 'Buffer')) {
    return new Uint8Array(value);
  }
  if (value instanceof Tag) return fromTag(value, path, seen);
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) object[key] = fromWire(object[key], `${path}.${key}`, seen);
    return object;
  }
  const name = (value.constructor as { name?: string } | undefined)?.name ?? 'unknown';
  throw new UndecodableSnapshot(`unexpected ${name} at ${path}; this format never stores one`);
}

function fromTag(tag: Tag, path: string, seen: Set<object>): unknown {
  const content = tag.value as unknown;
  switch (tag.tag) {
    case TAG_BOT:
      return BOT_PLACEHOLDER;
    case TAG_NEGATIVE_ZERO:
      return -0;
    case TAG_DATE_MS:
      if (typeof content !== 'number') throw new UndecodableSnapshot(`malformed date at ${path}`);
      return new Date(content);
    case TAG_OBJECT_ENTRIES: {
      if (!Array.isArray(content) || content.length % 2 !== 0) {
        throw new UndecodableSnapshot(`malformed object at ${path}`);
      }
      const object: Record<string, unknown> = {};
      for (let i = 0; i < content.length; i += 2) {
        const key: unknown = content[i];
        if (typeof key !== 'string') throw new UndecodableSnapshot(`non-string object key at ${path}`);
        defineEntry(object, key, fromWire(content[i + 1], `${path}.${key}`, seen));
      }
      return object;
    }
    default:
      throw new UndecodableSnapshot(`unknown CBOR tag ${tag.tag} at ${path}`);
  }
}
