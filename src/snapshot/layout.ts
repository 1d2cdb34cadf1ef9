/**
 * Where each section lives in the bucket: PTB's single-file layout (one object, the path itself)
 * or its multi-file layout (`<path>_user_data`, `<path>_chat_data`, ...).
 */
import { InvalidOptionsError } from '../errors.js';
import { createHash } from 'node:crypto';
import type { EntryRef, SectionName } from './entries.js';

export interface ObjectLocation {
  bucket: string;
  /** The path part of `filepath`: the object key in the single-file layout, the key prefix otherwise. */
  path: string;
}

/**
 * Parses `s3://bucket/some/prefix`, or `some/prefix` with a separate bucket.
 *
 * @example
 * parseFilepath('s3://my-bot-state/prod/bot') // { bucket: 'my-bot-state', path: 'prod/bot' }
 */
export function parseFilepath(filepath: string, bucket?: string): ObjectLocation {
  if (typeof filepath !== 'string' || filepath === '') {
    throw new InvalidOptionsError('filepath is required, e.g. "s3://my-bucket/bot/state"');
  }
  let location: ObjectLocation;
  const url = /^s3:\/\/([^/]*)\/?(.*)$/.exec(filepath);
  if (url !== null) {
    const [, urlBucket = '', path = ''] = url;
    if (urlBucket === '') throw new InvalidOptionsError(`filepath "${filepath}" names no bucket`);
    if (bucket !== undefined && bucket !== urlBucket) {
      throw new InvalidOptionsError(`filepath "${filepath}" names bucket "${urlBucket}" but the bucket option is "${bucket}"`);
    }
    location = { bucket: urlBucket, path };
  } else {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(filepath)) {
      throw new InvalidOptionsError(`filepath "${filepath}" must start with s3:// or be a key with the bucket option`);
    }
    if (bucket === undefined || bucket === '') {
      throw new InvalidOptionsError(`filepath "${filepath}" has no bucket: use "s3://bucket/${filepath}" or set the bucket option`);
    }
    location = { bucket, path: filepath.replace(/^\/+/, '') };
  }
  if (location.path === '' || location.path.endsWith('/')) {
    throw new InvalidOptionsError(
      `filepath "${filepath}" must name an object (the snapshot's key, or the prefix of the multi-file keys), e.g. "s3://${location.bucket}/bot/state"`,
    );
  }
  return location;
}

/** How a persistence spreads its data over objects. */
export type LayoutName = 'single-file' | 'multi-file' | 'sharded';

/** Every layout name, for validating configuration. */
export const LAYOUT_NAMES: readonly LayoutName[] = ['single-file', 'multi-file', 'sharded'];

export function isLayoutName(value: unknown): value is LayoutName {
  return (LAYOUT_NAMES as readonly unknown[]).includes(value);
}

/**
 * The object key of each section in PTB's layouts. The processed update ids, which PTB does not
 * have, travel with bot data, which every update refreshes anyway.
 */
export function sectionKey(path: string, singleFile: boolean, section: SectionName): string {
  if (singleFile) return path;
  return `${path}_${section === 'processed_updates' ? 'bot_data' : section}`;
}

/**
 * Two hex digits from the start of the entry's MD5: 256 shards per kind, so that keys spread over
 * S3's partitions instead of piling up behind one prefix.
 */
function shard(id: string): string {
  return createHash('md5').update(id).digest('hex').slice(0, 2);
}

/** The kinds of the sharded layout that have one object per entry. */
export type ShardedKind = 'user_data' | 'chat_data' | 'conversations';

/**
 * The prefix under which the sharded layout keeps one kind (and, for conversations, one name),
 * so that a listing returns exactly those objects.
 *
 * @example
 * shardedPrefix('prod/bot', 'user_data') // 'prod/bot/user_data/'
 */
export function shardedPrefix(path: string, kind: ShardedKind, conversationName?: string): string {
  if (kind !== 'conversations') return `${path}/${kind}/`;
  return conversationName === undefined
    ? `${path}/conversations/`
    : `${path}/conversations/${encodeURIComponent(conversationName)}/`;
}

/** The kinds with one object per entry, in the order their prefixes sort (that of one listing of `<path>/`). */
export const SHARDED_KINDS: readonly ShardedKind[] = ['chat_data', 'conversations', 'user_data'];

/**
 * Every entry key of the sharded layout at `path`, listed kind by kind: `<path>/user_data/` and so
 * on, never `<path>/` itself, which some servers (MinIO) answer without the keys under an object
 * stored at `<path>` (a single-file snapshot at the same path).
 */
export async function* listShardedKeys(list: (prefix: string) => AsyncIterable<string>, path: string): AsyncIterable<string> {
  for (const kind of SHARDED_KINDS) {
    for await (const key of list(shardedPrefix(path, kind))) if (entryOfShardedKey(path, key) !== undefined) yield key;
  }
}

/**
 * The object key of an entry in the sharded layout: `<path>/user_data/<shard>/<id>`,
 * `<path>/chat_data/<shard>/<id>`, `<path>/conversations/<name>/<shard>/<key>` (URI-encoded), and one
 * object each for `<path>/bot_data` and `<path>/callback_data`.
 */
export function shardedKey(path: string, ref: EntryRef): string {
  switch (ref.section) {
    case 'user_data':
    case 'chat_data':
      return `${shardedPrefix(path, ref.section)}${shard(String(ref.id))}/${ref.id}`;
    case 'conversations':
      return `${shardedPrefix(path, 'conversations', ref.name)}${shard(ref.key)}/${encodeURIComponent(ref.key)}`;
    case 'bot_data':
    case 'processed_updates':
      return `${path}/bot_data`;
    case 'callback_data':
      return `${path}/callback_data`;
  }
}

/** The entry a listed key of the sharded layout holds, or undefined for a key that is not one. */
export function entryOfShardedKey(path: string, key: string): EntryRef | undefined {
  if (!key.startsWith(`${path}/`)) return undefined;
  const parts = key.slice(path.length + 1).split('/');
  const [kind] = parts;
  if ((kind === 'user_data' || kind === 'chat_data') && parts.length === 3) {
    const id = Number(parts[2]);
    return Number.isSafeInteger(id) && String(id) === parts[2] ? { section: kind, id } : undefined;
  }
  if (kind === 'conversations' && parts.length === 4) {
    try {
      return { section: 'conversations', name: decodeURIComponent(parts[1]!), key: decodeURIComponent(parts[3]!) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
