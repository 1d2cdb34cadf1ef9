/**
 * The exit codes of the command-line tool, which scripts can rely on, and how errors map to them.
 * Errors are judged by `name` and `code`, not `instanceof`, as the library's errors promise.
 */

export const ExitCode = {
  /** Done. */
  OK: 0,
  /** A storage, network or permission failure, or anything unexpected. */
  FAILURE: 1,
  /** A wrong command line: unknown command or option, missing argument, bad URL, ambiguous layout. */
  USAGE: 2,
  /** `import` refused: a snapshot exists and `--force` was not given. Nothing was written. */
  EXISTS: 3,
  /** Nothing is stored at the URL, the bucket does not exist, or the input file does not exist. */
  NOT_FOUND: 4,
  /** A stored snapshot, a JSON export or a pickle cannot be read, or holds a value that cannot be mapped. */
  UNREADABLE: 5,
  /** Another writer changed the snapshot while `import` replaced it (its change was kept), or kept changing the source of `migrate`. */
  CONFLICT: 6,
  /**
   * `check`: the server failed a check the library relies on (it ignores a conditional write, ...);
   * `migrate`: the two layouts collide at one path on a server that cannot hold both. Nothing was written.
   */
  INCOMPATIBLE: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as `--help` lists them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  failure: storage, network or permission error, or anything unexpected
  2  usage: unknown command or option, missing argument, bad URL, ambiguous layout
  3  refused: a snapshot exists at the URL and --force was not given; nothing was written
  4  not found: nothing stored at the URL, no such bucket, or no such input file
  5  unreadable: a stored snapshot, a JSON export or a pickle that cannot be read or mapped
  6  conflict: another writer changed the snapshot during import or migrate; run it again
  7  incompatible: check found that the server does not honour what the library relies on,
     or migrate found that it cannot hold both layouts at one path (nothing written)`;

/** An error the tool reports as its message alone, with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

interface ErrorShape {
  name?: unknown;
  code?: unknown;
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const { name, code } = (error ?? {}) as ErrorShape;
  switch (name) {
    case 'SnapshotExistsError':
      return ExitCode.EXISTS;
    case 'SnapshotChangedError':
    case 'MigrationError': // the source kept changing while it was copied
      return ExitCode.CONFLICT;
  }
  switch (code) {
    case 'INVALID_OPTIONS':
      return ExitCode.USAGE;
    case 'BUCKET_NOT_FOUND':
    case 'ENOENT':
      return ExitCode.NOT_FOUND;
    case 'SNAPSHOT_UNREADABLE':
    case 'UNSERIALIZABLE':
      return ExitCode.UNREADABLE;
    case 'WRITE_CONFLICT':
      return ExitCode.CONFLICT;
    case 'LAYOUT_COLLISION':
      return ExitCode.INCOMPATIBLE;
  }
  return ExitCode.FAILURE;
}
