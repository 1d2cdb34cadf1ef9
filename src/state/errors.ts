/**
 * Errors of writing whole states (an import, a migration): `PersistenceError`s with the library's
 * stable codes. A target that is not in the state the write requires is `WRITE_CONFLICT`.
 */
import { PersistenceError } from '../errors.js';

/** The target already holds a snapshot and overwriting it was not asked for (`force`). Nothing was written. */
export class SnapshotExistsError extends PersistenceError {
  override readonly name = 'SnapshotExistsError';
  /** The objects that exist. */
  readonly keys: readonly string[];

  constructor(bucket: string, keys: readonly string[]) {
    super(
      'WRITE_CONFLICT',
      `refusing to overwrite the snapshot that exists (${keys.map((key) => `s3://${bucket}/${key}`).join(', ')}): pass force: true to replace it`,
      { bucket },
    );
    this.keys = keys;
  }
}

/**
 * An object changed (or appeared, or vanished) between the read of the target and the conditional
 * write of the import: another writer won, and its data was not overwritten.
 */
export class SnapshotChangedError extends PersistenceError {
  override readonly name = 'SnapshotChangedError';
  /** Objects of this import that had been written before the conflict (multi-file layout). */
  readonly written: readonly string[];

  constructor(bucket: string, key: string, written: readonly string[], options?: { cause?: unknown }) {
    const done = written.length === 0 ? 'nothing was written' : `already written: ${written.join(', ')}`;
    super(
      'WRITE_CONFLICT',
      `another writer changed the object while it was being replaced, and its change was kept (${done}); stop the bot or run the import again`,
      { bucket, key },
      options,
    );
    this.written = written;
  }
}

/** The stored objects exist in more than one layout, so which one is meant must be said. */
export class AmbiguousLayoutError extends PersistenceError {
  override readonly name = 'AmbiguousLayoutError';

  constructor(bucket: string, path: string, found: readonly string[]) {
    super('INVALID_OPTIONS', `objects of more than one layout exist at s3://${bucket}/${path} (${found.join(', ')}): choose one with --layout`);
  }
}
