/**
 * What a command of the tool is: its arguments and options (with the words `--help` shows), and a
 * function that runs it. The commands are a table (`commands/index.ts`), not a class hierarchy.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidOptionsError } from '../errors.js';
import { isLayoutName, LAYOUT_NAMES, layoutFor, parseFilepath, type LayoutName } from '../snapshot/layout.js';
import type { ObjectStore } from '../store/object-store.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { Progress } from './progress.js';

export const PROGRAM = 'telegram-s3-persistence';

export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  /** The name of the value in `--help`, for string options. */
  value?: string;
  description: string;
}

/** Where output goes; `process.stdout` and `process.stderr` are such streams. */
export interface OutputStream {
  write(text: string, callback?: (error?: Error | null) => void): unknown;
  isTTY?: boolean;
}

export interface CommandContext {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Reads all of standard input (for `import URL -`). */
  readStdin(): Promise<Uint8Array>;
  /** The object store of `bucket`. */
  openStore(bucket: string): ObjectStore;
  /** The S3 client itself, for `check`, which sends requests no store makes. */
  openClient(): S3Client;
  progress: Progress;
}

export interface CommandInput {
  /** The positional arguments, as many as the command's `arguments`. */
  args: string[];
  options: Record<string, string | boolean | undefined>;
}

export interface Command {
  readonly name: string;
  /** The names of its positional arguments, e.g. `['URL', 'FILE']`. */
  readonly arguments: readonly string[];
  /** One line for the list of commands. */
  readonly summary: string;
  /** What `--help` says below the usage line. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(input: CommandInput, context: CommandContext): Promise<ExitCode>;
}

export const LAYOUT_OPTION: OptionSpec = {
  type: 'string',
  value: 'LAYOUT',
  description: `${LAYOUT_NAMES.join(', ')} (S3Persistence's layout option); default: the layout of what is stored`,
};

/** The layout named by `--layout`, if any. */
export function layoutOption(value: string | boolean | undefined): LayoutName | undefined {
  if (value === undefined) return undefined;
  if (!isLayoutName(value)) {
    throw new CliError(`a layout is one of ${LAYOUT_NAMES.join(', ')}, not "${String(value)}"`, ExitCode.USAGE);
  }
  return value;
}

export interface Target {
  bucket: string;
  path: string;
  store: ObjectStore;
}

/** The bucket and path of a URL argument, with the store to reach them. */
export function openTarget(url: string, context: CommandContext): Target {
  if (!url.startsWith('s3://')) throw new InvalidOptionsError(`URL "${url}" must be s3://bucket/path`);
  const { bucket, path } = parseFilepath(url);
  return { bucket, path, store: context.openStore(bucket) };
}

/** Nothing at `url`, saying where each layout would keep it. */
export function notFound(url: string, bucket: string, path: string, layout: LayoutName | undefined): CliError {
  const looked = (layout ? [layout] : LAYOUT_NAMES).map((name) => layoutFor(name).describe(path)).join('; ');
  return new CliError(`nothing is stored at ${url} (looked in bucket ${bucket} for ${looked})`, ExitCode.NOT_FOUND);
}

/** Writes `text` and resolves once the stream took it. */
export function write(stream: OutputStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** Human sizes: `512 B`, `1.4 KiB`, `3.0 MiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `1 user`, `3 users`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
