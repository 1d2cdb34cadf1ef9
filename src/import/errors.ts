/**
 * Errors of reading python-telegram-bot's files: a file that cannot be read is `SNAPSHOT_UNREADABLE`.
 * A value that cannot be mapped is the library's own `SerializationError` (`UNSERIALIZABLE`), which
 * names its path; the errors of writing the state are in `state/errors.ts`.
 */
import { PersistenceError } from '../errors.js';

/** Bytes that should be a pickle are not one this reader supports (corrupt, truncated, or of protocol 0 or 1). */
export class PickleDecodeError extends PersistenceError {
  override readonly name = 'PickleDecodeError';
  readonly file: string | undefined;
  /** Where the offending opcode starts. */
  readonly offset: number;

  constructor(reason: string, where: { file?: string; offset: number }) {
    super('SNAPSHOT_UNREADABLE', `cannot read ${where.file ?? 'the pickle'}: ${reason} (at byte ${where.offset})`);
    this.file = where.file;
    this.offset = where.offset;
  }
}
