/**
 * Where two layouts meet at one path: the single-file snapshot is the object `<path>`, and the
 * sharded layout keeps its keys under `<path>/`. S3 holds both and lists both. Servers that keep
 * objects as files do not: versitygw refuses a key under an object (409 `ObjectParentIsFile`) and an
 * object over keys (409 `ExistingObjectIsDirectory`); SeaweedFS answers 412 to a create-only PUT of
 * an object over keys. MinIO holds both, and lists the keys under `<path>/user_data/` (what the
 * sharded layout lists), though not under `<path>/` itself.
 */
import { KeyInTheWayError, LayoutCollisionError } from './errors.js';
import { decodeSnapshotLazily } from './snapshot/codec.js';
import { layoutFor, parseFilepath, shardedPrefix, type LayoutName, type ShardedKind } from './snapshot/layout.js';
import { PreconditionLostError, type ObjectStore } from './store/object-store.js';

export interface LayoutSide {
  filepath: string;
  layout: LayoutName;
}

/** One layout's object, and a key (or a prefix of keys) of the other layout under it or equal to it. */
export interface Collision {
  object: { key: string; side: LayoutSide };
  other: { key: string; side: LayoutSide };
  /** Both layouts write the very same object. */
  same: boolean;
}

/**
 * Where the objects of two layouts collide: one's object at a path under which (or at which) the
 * other writes; undefined when they are apart (other buckets, or no key of one under the other's).
 *
 * @example
 * collisionOf({ filepath: 's3://b/bot', layout: 'single-file' }, { filepath: 's3://b/bot', layout: 'sharded' })
 * // { object: { key: 'bot', ... }, other: { key: 'bot/user_data/', ... }, same: false }
 */
export function collisionOf(a: LayoutSide, b: LayoutSide): Collision | undefined {
  const [one, two] = [parseFilepath(a.filepath), parseFilepath(b.filepath)];
  if (one.bucket !== two.bucket) return undefined;
  const sides = [
    [a, layoutFor(a.layout).footprint(one.path), b, layoutFor(b.layout).footprint(two.path)],
    [b, layoutFor(b.layout).footprint(two.path), a, layoutFor(a.layout).footprint(one.path)],
  ] as const;
  for (const [objectSide, objects, otherSide, others] of sides) {
    for (const key of objects.objects) {
      for (const other of [...others.prefixes, ...others.objects]) {
        if (other === key || other.startsWith(`${key}/`)) {
          return { object: { key, side: objectSide }, other: { key: other, side: otherSide }, same: other === key };
        }
      }
    }
  }
  return undefined;
}

/** What a refused or unlisted probe write shows of the server. */
function refusal(error: unknown, what: string): string {
  if (error instanceof KeyInTheWayError) return `refuses ${what} (HTTP ${error.status ?? 409} ${error.s3Code})`;
  if (error instanceof PreconditionLostError) return `refuses ${what} (HTTP ${error.status} to a create-only PUT of a key that did not exist)`;
  throw error;
}

/**
 * Whether the server holds a key under an object and an object over keys, and lists such keys by
 * the prefix the sharded layout lists: probed with objects under `<base>.migration-probe-<id>/`,
 * deleted again. Resolves what the server did wrong, or undefined when it behaves as S3 does.
 */
export async function probeNesting(store: ObjectStore, base: string): Promise<string | undefined> {
  const root = `${base}.migration-probe-${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(4))).toString('hex')}`;
  const body = new TextEncoder().encode('migration probe\n');
  const written: string[] = [];
  const put = async (key: string) => {
    await store.put(key, body, { ifNoneMatch: '*' });
    written.push(key);
  };
  const listed = async (prefix: string, key: string) => {
    for await (const found of store.list(prefix)) if (found === key) return true;
    return false;
  };
  try {
    // Single-file to sharded: the target's keys go under the source's object.
    const [parent, child] = [`${root}/object`, `${root}/object/user_data/key`];
    await put(parent);
    try {
      await put(child);
    } catch (error) {
      return refusal(error, `a key under an object ("${child}" under "${parent}")`);
    }
    if (!(await listed(`${parent}/user_data/`, child))) {
      return `leaves "${child}" out of a listing of "${parent}/user_data/" while the object "${parent}" exists`;
    }
    // Sharded to single-file: the target's object goes over the source's keys.
    const [over, under] = [`${root}/keys`, `${root}/keys/user_data/key`];
    await put(under);
    try {
      await put(over);
    } catch (error) {
      return refusal(error, `an object over keys ("${over}" over "${under}")`);
    }
    if (!(await listed(`${over}/user_data/`, under))) {
      return `leaves "${under}" out of a listing of "${over}/user_data/" while the object "${over}" exists`;
    }
    return undefined;
  } finally {
    for (const key of written.reverse()) await store.delete(key);
  }
}

const UNITS: Record<ShardedKind, string> = { user_data: 'users', chat_data: 'chats', conversations: 'conversations' };

/**
 * For a sharded instance whose listing of `kind` came back empty: throws when the object at its
 * path is a single-file snapshot holding entries of that kind (one GET). Either the path holds the
 * other layout, or the server leaves keys under an object out of its listings; reading on would
 * show an empty state, and writing would start a second one beside the first. A snapshot larger than
 * `maxBytes` is refused unread (`SnapshotTooLargeError`), as a load of it would be.
 */
export async function refuseSnapshotBeside(store: ObjectStore, path: string, kind: ShardedKind, conversationName?: string, maxBytes?: number): Promise<void> {
  const read = await store.get(path, maxBytes === undefined ? {} : { maxBytes });
  if (read.status !== 'found') return;
  let held = 0;
  try {
    // Users and chats by id; conversations by name, then by key.
    // Counted, not decoded: the entries of users and chats stay encoded.
    const section = decodeSnapshotLazily(read.body).get(kind);
    const entries = conversationName === undefined ? section : section instanceof Map ? section.get(conversationName) : undefined;
    if (entries instanceof Map) held = entries.size;
  } catch {
    return; // not a snapshot: no layout's object
  }
  if (held === 0) return;
  const prefix = shardedPrefix(path, kind, conversationName);
  const what = conversationName === undefined || kind !== 'conversations' ? UNITS[kind] : `keys of conversation "${conversationName}"`;
  throw new LayoutCollisionError(
    `the sharded layout at "${path}" lists no ${what} under "${prefix}", but "${path}" is a single-file snapshot holding ${held}: ` +
      "this path holds the single-file layout (open it with layout: 'single-file', or move it with migrateLayout), " +
      'or the server leaves keys under an object out of its listings (delete or move that object). Nothing was written',
    { objectKey: path, otherKey: prefix },
    { bucket: store.bucket, key: path },
  );
}
