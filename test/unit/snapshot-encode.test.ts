/**
 * Writing a snapshot: `encodeSnapshot` writes the bytes cbor-x writes for the envelope as an object
 * (each lazy entry a `Tag(bytes, 24)`), whatever mix of entries it is given: new values, entries
 * read from an object, entries whose neighbours were changed, dropped or added, entries of two
 * different reads. Entries that stood next to each other in the object they were read from go out
 * as one run of bytes; the runs must never carry a dropped neighbour or lose a key.
 */
import { Tag } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, decodeSnapshotLazily, EncodedEntry, encodeSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { parseSections, type SnapshotFields } from '../../src/snapshot/entries.js';
import { encoder, toWire } from '../../src/snapshot/value-tags.js';

/** The envelope as one object for cbor-x, every lazy entry a tag 24 over its bytes: what the codec wrote before runs. */
function referenceBytes(fields: ReadonlyMap<string, unknown>): Uint8Array {
  const envelope: Record<string, unknown> = { $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION };
  for (const [name, value] of fields) {
    const lazy = (name === 'user_data' || name === 'chat_data') && value instanceof Map;
    envelope[name] = lazy
      ? new Map(
          [...(value as Map<unknown, unknown>)].map(([id, entry]) => [
            toWire(id),
            new Tag(entry instanceof EncodedEntry ? entry.bytes.slice() : encoder.encode(toWire(entry)).slice(), 24),
          ]),
        )
      : toWire(value);
  }
  return encoder.encode(envelope).slice();
}

const user = (id: number) => ({ name: `user ${id}`, count: id % 7, seen: new Date(1_730_000_000_000 + id), tags: new Set(['a', String(id)]) });

/** Ids of every size CBOR writes in a different head: 1, 2, 3, 5 and 9 bytes, and negative ones. */
const IDS = [0, 5, 23, 24, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, 8_000_000_001, -1, -25, -1_000_000_000_123];

function fieldsOf(ids: readonly number[]): SnapshotFields {
  return new Map<string, Map<unknown, unknown>>([
    ['user_data', new Map(ids.map((id) => [id, user(id)]))],
    ['chat_data', new Map(ids.slice(0, 4).map((id) => [-id - 100, { title: `chat ${id}` }]))],
    ['bot_data', new Map([['total', 3]])],
  ]) as unknown as SnapshotFields;
}

/** The fields as a load reads them: lazy sections of `EncodedEntry`s standing in the object's bytes. */
function read(bytes: Uint8Array): SnapshotFields {
  return parseSections(decodeSnapshotLazily(bytes));
}

const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);

describe('encodeSnapshot', () => {
  it('writes the bytes cbor-x writes for the envelope as an object', () => {
    const fields = fieldsOf(IDS);
    same(encodeSnapshot(fields), referenceBytes(fields));
    same(encodeSnapshot(new Map()), referenceBytes(new Map()));
  });

  it('writes an object read and unchanged back as the same bytes, and its entries as read', () => {
    const bytes = encodeSnapshot(fieldsOf(IDS));
    const fields = read(bytes);
    expect([...fields.get('user_data')!.values()].every((entry) => entry instanceof EncodedEntry)).toBe(true);
    same(encodeSnapshot(fields), bytes);
  });

  it('keeps every neighbour and key right when entries are changed, dropped and added in the middle of runs', () => {
    const fields = read(encodeSnapshot(fieldsOf(IDS)));
    const users = fields.get('user_data')! as Map<unknown, unknown>;
    users.set(24, { name: 'changed' });
    users.delete(65_536);
    users.delete(IDS.at(-1));
    users.delete(0);
    users.set(77, { name: 'new' });
    const written = encodeSnapshot(fields);
    same(written, referenceBytes(fields));
    const decoded = decodeSnapshot(written).get('user_data') as Map<number, unknown>;
    expect([...decoded.keys()]).toEqual([5, 23, 24, 255, 256, 65_535, 4_294_967_295, 4_294_967_296, 8_000_000_001, -1, -25, 77]);
    expect(decoded.get(24)).toEqual({ name: 'changed' });
    expect(decoded.get(256)).toEqual(user(256));
  });

  it('does not join entries of two reads of the same bytes, nor entries put in another order', () => {
    const bytes = encodeSnapshot(fieldsOf(IDS));
    const first = read(bytes).get('user_data')! as Map<unknown, unknown>;
    const second = read(bytes).get('user_data')! as Map<unknown, unknown>;
    // The last entry of one read, then the first of the other; then entries swapped.
    const mixed = new Map<unknown, unknown>([
      [IDS.at(-1), first.get(IDS.at(-1))],
      [IDS[0], second.get(IDS[0])],
      [IDS[1], second.get(IDS[1])],
      [IDS[3], first.get(IDS[3])],
      [IDS[2], first.get(IDS[2])],
    ]);
    const fields = new Map([['user_data', mixed]]) as unknown as SnapshotFields;
    same(encodeSnapshot(fields), referenceBytes(fields));
    expect([...(decodeSnapshot(encodeSnapshot(fields)).get('user_data') as Map<number, unknown>).keys()]).toEqual([
      IDS.at(-1),
      IDS[0],
      IDS[1],
      IDS[3],
      IDS[2],
    ]);
  });

  it('writes sections of 24, 256 and 65,536 entries with the right map heads', () => {
    for (const count of [24, 256, 65_536]) {
      const ids = Array.from({ length: count }, (_, i) => i * 3);
      const fields = new Map([['user_data', new Map(ids.map((id) => [id, { n: id }]))]]) as unknown as SnapshotFields;
      const bytes = encodeSnapshot(fields);
      same(bytes, referenceBytes(fields));
      const again = read(bytes);
      (again.get('user_data') as Map<unknown, unknown>).set(3, { n: -1 });
      same(encodeSnapshot(again), referenceBytes(again));
    }
  });
});
