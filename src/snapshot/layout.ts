/**
 * Where each section lives in the bucket: PTB's single-file layout (one object, the path itself)
 * or its multi-file layout (`<path>_user_data`, `<path>_chat_data`, ...).
 */
import { InvalidOptionsError } from '../errors.js';
import type { SectionName } from './entries.js';

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

/**
 * The object key of each section. The processed update ids, which PTB does not have, travel with
 * bot data, which every update refreshes anyway.
 */
export function sectionKey(path: string, singleFile: boolean, section: SectionName): string {
  if (singleFile) return path;
  return `${path}_${section === 'processed_updates' ? 'bot_data' : section}`;
}
