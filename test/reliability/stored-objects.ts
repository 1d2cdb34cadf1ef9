// The objects of a snapshot as stored, judged behind the library's back.
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import type { TestBucket } from '../support/persistence.js';

/** The objects of the snapshot at `path` (single-file `path`, multi-file `path_<section>`) and those that do not decode. */
export async function decodability(bucket: TestBucket, path: string): Promise<{ objects: number; undecodable: string[] }> {
  const keys = (await bucket.keys(path)).filter((key) => key === path || key.startsWith(`${path}_`));
  const undecodable: string[] = [];
  for (const key of keys) {
    try {
      decodeSnapshot((await bucket.object(key)).body);
    } catch {
      undecodable.push(key);
    }
  }
  return { objects: keys.length, undecodable };
}
