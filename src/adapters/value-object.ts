/**
 * One value in one object: the format of the session adapters. The same CBOR envelope as a
 * snapshot (`{ $format, $version, ... }`), holding either `value` or, for a deleted key,
 * `deleted: true`, and the id of the write that stored it.
 *
 * A deleted key is a tombstone, not a removed object, because a delete must be as conditional as a
 * write: MinIO ignores If-Match on DeleteObject (measured on the pinned revision), while a
 * tombstone PUT carries the same condition as any other write. The write id lets a writer whose
 * answer was lost recognise its own write, as the snapshots' `$writes` field does.
 */
import { decodeSnapshot, encodeSnapshot, UndecodableSnapshot } from '../snapshot/codec.js';

const VALUE_FIELD = 'value';
const DELETED_FIELD = 'deleted';
const WRITE_ID_FIELD = '$write';

/** What an object holds: a value, or nothing (`stored: undefined`, a tombstone), and the id of the write. */
export interface ValueObject {
  readonly stored: { readonly value: unknown } | undefined;
  readonly writeId: string | undefined;
}

/** Encodes a value (which must already be in the value model, see `copyIn`) or, for `undefined`, a tombstone. */
export function encodeValueObject({ stored, writeId }: ValueObject): Uint8Array {
  const fields = new Map<string, unknown>(stored === undefined ? [[DELETED_FIELD, true]] : [[VALUE_FIELD, stored.value]]);
  if (writeId !== undefined) fields.set(WRITE_ID_FIELD, writeId);
  return encodeSnapshot(fields);
}

/** Decodes a value object. Throws {@link UndecodableSnapshot} for a body that is not one. */
export function decodeValueObject(body: Uint8Array): ValueObject {
  const fields = decodeSnapshot(body);
  const id = fields.get(WRITE_ID_FIELD);
  const writeId = typeof id === 'string' ? id : undefined;
  if (fields.has(VALUE_FIELD)) return { stored: { value: fields.get(VALUE_FIELD) }, writeId };
  if (fields.get(DELETED_FIELD) === true) return { stored: undefined, writeId };
  throw new UndecodableSnapshot(`not a session value object (no "${VALUE_FIELD}" field): is the prefix shared with something else?`);
}
