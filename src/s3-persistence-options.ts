/**
 * `S3Persistence`'s options, and what they resolve to: defaults filled in and checked, the layout
 * chosen, the store built.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContextTypes, PersistenceInput } from './contract.js';
import { DEFAULT_RETRY, type ConflictHook, type MergeFunction, type RetryPolicy } from './conflicts.js';
import { mergeCallbackData } from './callback-data-merge.js';
import { InvalidOptionsError } from './errors.js';
import { environmentWith, type Environment } from './engine/environment.js';
import { layoutOfOptions, parseFilepath, type Layout, type LayoutName } from './snapshot/layout.js';
import type { LoadProgress } from './state/layout-objects.js';
import type { ObjectStore } from './store/object-store.js';
import { ConditionalWriteGuard } from './store/conditional-write-guard.js';
import { clientFromEnvironment, endpointOf, S3ObjectStore } from './store/s3-store.js';

export interface S3PersistenceOptions<UD, CD, BD> {
  /** `s3://bucket/some/prefix`, or `some/prefix` together with `bucket`. */
  filepath: string;
  bucket?: string;
  /** Default: built from the environment (`AWS_REGION`; `S3_ENDPOINT` selects that endpoint, path-style). */
  client?: S3Client;
  /** Which kinds of data to store; each defaults to `true`. Conversations are always stored. */
  storeData?: Partial<PersistenceInput>;
  /** One object for everything (default), or PTB's one object per kind of data. */
  singleFile?: boolean;
  /**
   * `'single-file'` (default) and `'multi-file'` are PTB's layouts (the same as `singleFile`);
   * `'sharded'` keeps each user, chat and conversation key in its own object, so that the cost of an
   * update and of a cold start does not grow with the number of users.
   */
  layout?: LayoutName;
  /** Told how far `get*` has come while loading a sharded layout entry by entry. */
  onProgress?: (progress: LoadProgress) => void;
  /** Objects read at once when a sharded layout loads every entry of a kind; default 16. */
  loadConcurrency?: number;
  /** Keep changes in memory until `flush()` (default false: each `update*` is durable when it resolves). */
  onFlush?: boolean;
  /** Seconds between periodic flushes a long-running driver should make; default 60. */
  updateInterval?: number;
  /** Factories for fresh data; default `() => ({})`. */
  contextTypes?: ContextTypes<UD, CD, BD>;
  /** Decides same-entry conflicts instead of "the later write wins" (and of callback data merged per keyboard). */
  merge?: MergeFunction;
  /** Told of every same-entry conflict. */
  onConflict?: ConflictHook;
  /** Backoff of conflicting writes. */
  retry?: Partial<RetryPolicy>;
  /** Snapshot size in bytes from which writes use a multipart upload; default 16 MiB. */
  multipartThreshold?: number;
  /**
   * The largest snapshot object this instance loads; a larger one is refused with
   * `SnapshotTooLargeError` before its body is read, instead of the process running out of memory.
   * Default: on Lambda, what the function's memory can hold by the sample bot's measure (bench/README,
   * Memory): `(memory - 80 MiB) / 1.5`, at least 1 MiB (128 MB: 32 MiB, 512 MB: 288 MiB, 1024 MB:
   * 629 MiB); elsewhere no limit.
   */
  maxSnapshotBytes?: number;
  /** Another object store in place of S3 (for example `MemoryObjectStore` in tests). */
  store?: ObjectStore;
  /** The clock, randomness and waiting of writes, replaced by deterministic tests; default: the real ones. */
  environment?: Partial<Environment>;
  /**
   * `'verify'` (default): before its first write, the instance checks that the S3 server refuses
   * writes whose `If-None-Match`/`If-Match` condition fails, and throws `ConditionalWritesIgnoredError`
   * if not (one GET per cold start once the server has passed; see the README). `'trust'` skips the
   * check: on a server that ignores the conditions, concurrent writers then silently lose updates.
   * Not applied to a `store` given here.
   */
  conditionalWrites?: 'verify' | 'trust';
}

/** The options checked, with their defaults. */
export interface ResolvedOptions<UD, CD, BD> {
  bucket: string;
  path: string;
  storeData: Readonly<PersistenceInput>;
  layout: Layout;
  loadConcurrency: number;
  onFlush: boolean;
  updateInterval: number;
  contextTypes: ContextTypes<UD, CD, BD>;
  retry: RetryPolicy;
  store: ObjectStore;
  environment: Environment;
  maxSnapshotBytes: number | undefined;
  merge: MergeFunction;
}

/** Without a `merge` option: the later write wins, except that callback data is merged per keyboard. */
const mergeCallbackDataOnly: MergeFunction = ({ section, base, ours, theirs }) =>
  section === 'callback_data' ? mergeCallbackData(base, ours, theirs) : ours;

/**
 * What a Lambda function loads and updates a single-file snapshot in, measured with the sample bot
 * (`npm run bench -- --only=memory`, full run at ac26e8c): the process before any load (44.5 MB),
 * plus what the first update costs whatever the snapshot (17.6 MB), plus 1.26 bytes per byte of
 * snapshot (least squares through 40, 120 and 300 MB; the largest ratio measured, 1.70x at 40 MB,
 * holds the fixed part). The figures here round those up: 80 MiB, and 1.5 bytes per byte. A
 * snapshot of the 128 MB default (33.4 MB) peaked at 105 MB; see bench/README.md, Memory.
 */
const LAMBDA_RESERVED_BYTES = 80 * 2 ** 20;
const LAMBDA_BYTES_PER_SNAPSHOT_BYTE = 1.5;
const LAMBDA_MIN_SNAPSHOT_BYTES = 2 ** 20;

/** On Lambda, the largest snapshot the function's memory holds by the measure above; no limit off Lambda (see `maxSnapshotBytes`). */
export function defaultMaxSnapshotBytes(env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE?: string } | undefined = globalThis.process?.env): number | undefined {
  const megabytes = Number(env?.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (!(megabytes > 0)) return undefined;
  const fits = (megabytes * 2 ** 20 - LAMBDA_RESERVED_BYTES) / LAMBDA_BYTES_PER_SNAPSHOT_BYTE;
  return Math.floor(Math.max(LAMBDA_MIN_SNAPSHOT_BYTES, fits));
}

/** The default store: S3, behind the check of conditional writes unless `conditionalWrites: 'trust'`. */
export function guardedS3Store(
  bucket: string,
  path: string,
  options: Pick<S3PersistenceOptions<unknown, unknown, unknown>, 'client' | 'multipartThreshold' | 'conditionalWrites'>,
): ObjectStore {
  const client = options.client ?? clientFromEnvironment();
  const store = new S3ObjectStore({ client, bucket, multipartThreshold: options.multipartThreshold });
  const mode = options.conditionalWrites ?? 'verify';
  if (mode !== 'verify' && mode !== 'trust') {
    throw new InvalidOptionsError(`conditionalWrites must be 'verify' or 'trust', not ${JSON.stringify(mode)}`);
  }
  if (mode === 'trust') return store;
  return new ConditionalWriteGuard({ store, endpoint: () => endpointOf(client), path, multipartThreshold: store.multipartThreshold });
}

/** Checks `options` and fills in the defaults; throws `InvalidOptionsError` naming the first wrong one. */
export function resolveOptions<UD, CD, BD>(options: S3PersistenceOptions<UD, CD, BD>): ResolvedOptions<UD, CD, BD> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options are required, e.g. { filepath: "s3://my-bucket/bot/state" }');
  }
  const { bucket, path } = parseFilepath(options.filepath, options.bucket);
  const storeData = Object.freeze({
    userData: options.storeData?.userData ?? true,
    chatData: options.storeData?.chatData ?? true,
    botData: options.storeData?.botData ?? true,
    callbackData: options.storeData?.callbackData ?? true,
  });
  const layout = layoutOfOptions(options);
  const loadConcurrency = options.loadConcurrency ?? 16;
  if (!Number.isInteger(loadConcurrency) || loadConcurrency < 1) {
    throw new InvalidOptionsError('loadConcurrency must be a positive integer');
  }
  const updateInterval = options.updateInterval ?? 60;
  if (!(updateInterval > 0)) throw new InvalidOptionsError('updateInterval must be a positive number of seconds');
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
    throw new InvalidOptionsError('retry.maxAttempts must be a positive integer');
  }
  if (options.store !== undefined && options.store.bucket !== bucket) {
    throw new InvalidOptionsError(`the store is for bucket "${options.store.bucket}" but filepath names bucket "${bucket}"`);
  }
  const store = options.store ?? guardedS3Store(bucket, path, options);
  const environment = environmentWith(options.environment);
  const maxSnapshotBytes = options.maxSnapshotBytes ?? defaultMaxSnapshotBytes();
  if (maxSnapshotBytes !== undefined && !(maxSnapshotBytes > 0)) throw new InvalidOptionsError('maxSnapshotBytes must be a positive number of bytes');
  return {
    bucket,
    path,
    storeData,
    layout,
    loadConcurrency,
    onFlush: options.onFlush ?? false,
    updateInterval,
    contextTypes: options.contextTypes ?? {},
    retry,
    store,
    environment,
    maxSnapshotBytes,
    merge: options.merge ?? mergeCallbackDataOnly,
  };
}
