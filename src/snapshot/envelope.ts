/**
 * The snapshot envelope: a CBOR (cbor-x) map `{ $format, $version, ...sections }`, and its versions.
 *
 * Format 2 (this release writes it; it reads 1 and 2) stores each entry of `user_data` and
 * `chat_data` as an encoded item of its own, decoded on first read (see `lazy-entries.ts`). Format 1
 * held the entries inline; it is read as before. A read goes through the one-pass decoder
 * (`direct-decode.ts`) and, for what that one leaves, through cbor-x and the walk of
 * `value-tags.ts`, which also names what is wrong.
 */
import { decodeEnvelopeDirect } from './direct-decode.js';
import { joinChunks, type ChunkedBody } from '../store/object-store.js';
import { ChunkWriter } from './chunk-writer.js';
import { decodeLazySection, fromWireLazySection, LAZY_SECTIONS, newLazySection, writeLazySection, type EntryEncodings } from './lazy-entries.js';
import { decoder, encoder, toWire, UndecodableSnapshot, visitedSetFor, walk } from './value-tags.js';
import { defineEntry, isPlainObject } from './values.js';

/** The format marker of every snapshot object. */
export const SNAPSHOT_FORMAT = 'telegram-s3-persistence';
/** The format version this release writes; it reads every version from 1 up to this one. */
export const SNAPSHOT_VERSION = 2;

/**
 * Encodes snapshot fields in the newest format, as one array. The values must already be in the
 * value model (see `copyIn`); `EncodedEntry` values are written as the bytes they were read as,
 * neighbours as one run. The bytes are those cbor-x writes for the envelope as an object.
 */
export function encodeSnapshot(fields: ReadonlyMap<string, unknown>, encodings?: EntryEncodings): Uint8Array {
  return joinChunks(encodeSnapshotChunks(fields, encodings));
}

/**
 * {@link encodeSnapshot}'s bytes, in chunks: the entries of lazy sections read before are views of
 * the object they were read from (see `ChunkWriter`), everything else is encoded anew. This is what
 * a write sends, so that a large snapshot is not held twice while it is written.
 */
export function encodeSnapshotChunks(fields: ReadonlyMap<string, unknown>, encodings?: EntryEncodings): ChunkedBody {
  // The envelope as encodeSnapshot builds it, lazy sections left for writeLazySection.
  const envelope: Record<string, unknown> = { $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION };
  const lazy = new Map<string, ReadonlyMap<unknown, unknown>>();
  for (const [name, value] of fields) {
    if (LAZY_SECTIONS.has(name) && value instanceof Map) lazy.set(name, value);
    defineEntry(envelope, name, lazy.has(name) ? undefined : toWire(value));
  }
  const out = new ChunkWriter();
  const names = Object.keys(envelope);
  // cbor-x writes a plain object's map with a 16-bit length, whatever the count (a snapshot has a handful of fields).
  const head = new Uint8Array(3);
  head[0] = 0xb9;
  head[1] = names.length >> 8;
  head[2] = names.length & 0xff;
  out.copy(head);
  for (const name of names) {
    out.copy(encoder.encode(name));
    const section = lazy.get(name);
    if (section !== undefined) writeLazySection(out, section, encodings);
    else out.copy(encoder.encode(envelope[name]));
  }
  return out.finish();
}

/**
 * Decodes a snapshot object, every entry included: field name to value, each field's shape still
 * to be checked (`parseSections` makes them `SnapshotFields`). Throws {@link UndecodableSnapshot}
 * for anything that is not a snapshot of a version this release reads, or that holds a value
 * outside the value model.
 */
export function decodeSnapshot(bytes: Uint8Array): Map<string, unknown> {
  const fields = decodeSnapshotLazily(bytes, true);
  for (const name of LAZY_SECTIONS) {
    const entries = fields.get(name);
    if (entries instanceof Map) fields.set(name, decodeLazySection(name, entries));
  }
  return fields;
}

/**
 * Decodes a snapshot object's envelope and checks it as {@link decodeSnapshot} does, but leaves the
 * entries of format 2's lazy sections encoded (`EncodedEntry`): each is decoded, and checked, when
 * first read. This is what a load does. With `whole` (a load for every `get*`) each entry is also
 * decoded in the same pass, its value kept for the first caller (`EncodedEntry.freshValue`).
 */
export function decodeSnapshotLazily(bytes: Uint8Array, whole = false): Map<string, unknown> {
  const direct = decodeEnvelopeDirect(bytes, LAZY_FROM_VERSION, whole, newLazySection);
  const envelope = direct ?? decodeEnvelope(bytes);
  if (envelope.$format !== SNAPSHOT_FORMAT) throw new UndecodableSnapshot(`not a ${SNAPSHOT_FORMAT} snapshot (no "$format" marker)`);
  const version = envelope.$version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new UndecodableSnapshot(`invalid format version ${String(version)}`);
  }
  if (version > SNAPSHOT_VERSION) {
    throw new UndecodableSnapshot(
      `written in format version ${version} by a newer release; this release reads up to version ${SNAPSHOT_VERSION}: upgrade telegram-s3-persistence`,
    );
  }
  const fields = new Map<string, unknown>();
  const seen = direct === undefined ? visitedSetFor(bytes) : undefined;
  for (const name of Object.keys(envelope)) {
    if (name === '$format' || name === '$version') continue;
    const value = envelope[name];
    if (direct !== undefined) fields.set(name, value);
    else fields.set(name, version >= 2 && LAZY_SECTIONS.has(name) ? fromWireLazySection(name, value, seen, bytes) : walk(value, [name], seen));
  }
  return fields;
}

/** Where format 2's lazy sections stand, for the one-pass decoder. */
const LAZY_FROM_VERSION = { names: LAZY_SECTIONS, fromVersion: 2 };

/**
 * The format version an object declares, even one this release cannot read (a newer one), or
 * `null` when its bytes are not a CBOR map with a numeric `$version`. Nothing else is checked.
 */
export function snapshotVersion(bytes: Uint8Array): number | null {
  try {
    const { $version: version } = decodeEnvelope(bytes);
    return typeof version === 'number' ? version : null;
  } catch {
    return null;
  }
}

/** The envelope's CBOR map, undecoded inside; throws {@link UndecodableSnapshot} when the bytes are not one. */
function decodeEnvelope(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) throw new UndecodableSnapshot('the object is empty');
  let envelope: unknown;
  try {
    envelope = decoder.decode(bytes);
  } catch (error) {
    throw new UndecodableSnapshot(`not valid CBOR (${(error as Error).message})`);
  }
  if (!isPlainObject(envelope)) throw new UndecodableSnapshot(`not a ${SNAPSHOT_FORMAT} snapshot (no "$format" marker)`);
  return envelope;
}
