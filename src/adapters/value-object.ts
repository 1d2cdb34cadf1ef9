/**
 * One value in one object: the format of the session adapters. The same CBOR envelope as a
 * snapshot (`{ $format, $version, ... }`), holding either `value` or, for a deleted key,
 * `deleted: true`, and the records of the latest writes (the engine's `$writes`).
 *
 * A deleted key is a tombstone, not a removed object, because a delete must be as conditional as a
 * write: MinIO ignores If-Match on DeleteObject (measured on the pinned revision), while a
 * tombstone PUT carries the same condition as any other write. The write records let a writer
 * whose answer was lost recognise its own write, as in the snapshots.
 */
import type { ObjectCodec, WriteRecord } from '../engine/conditional-object.js';
import { decodeSnapshot, encodeSnapshot, UndecodableSnapshot } from '../snapshot/codec.js';

const VALUE_FIELD = 'value';
const DELETED_FIELD = 'deleted';
/** The engine's write records, as in the snapshots. */
const WRITES_FIELD = '$writes';
/** The single write id of objects written by 0.2 and earlier: read, never written. */
const LEGACY_WRITE_ID_FIELD = '$write';

/** What an object holds: a value, or nothing (`undefined`, a tombstone). */
export type StoredValue = { readonly value: unknown } | undefined;

function writeRecordsOf(fields: Map<string, unknown>): WriteRecord[] {
  const stored = fields.get(WRITES_FIELD);
  if (Array.isArray(stored)) {
    return stored.filter((record: unknown): record is WriteRecord => Array.isArray(record) && typeof record[0] === 'string' && typeof record[1] === 'number');
  }
  const legacy = fields.get(LEGACY_WRITE_ID_FIELD);
  return typeof legacy === 'string' ? [[legacy, 0]] : [];
}

/** The codec of a session value object: a value (which must already be in the value model, see `copyIn`) or a tombstone. */
export const VALUE_OBJECT_CODEC: ObjectCodec<StoredValue> = {
  empty: () => undefined,
  encode(stored, writes) {
    const fields = new Map<string, unknown>(stored === undefined ? [[DELETED_FIELD, true]] : [[VALUE_FIELD, stored.value]]);
    fields.set(WRITES_FIELD, writes);
    return encodeSnapshot(fields);
  },
  /** Throws {@link UndecodableSnapshot} for a body that is not a value object. */
  decode(body) {
    const fields = decodeSnapshot(body);
    const writes = writeRecordsOf(fields);
    if (fields.has(VALUE_FIELD)) return { value: { value: fields.get(VALUE_FIELD) }, writes };
    if (fields.get(DELETED_FIELD) === true) return { value: undefined, writes };
    throw new UndecodableSnapshot(`not a session value object (no "${VALUE_FIELD}" field): is the prefix shared with something else?`);
  },
};
