/**
 * Moving a python-telegram-bot bot's `PicklePersistence` into a bucket, as one snapshot that
 * `S3Persistence` then reads.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidOptionsError } from '../errors.js';
import { parseFilepath } from '../snapshot/layout.js';
import { copyIn } from '../snapshot/values.js';
import type { ObjectStore } from '../store/object-store.js';
import { clientFromEnvironment, S3ObjectStore } from '../store/s3-store.js';
import { ptbDataToFields, readPtbPersistence, type BotMarkerReport, type ReadPtbOptions } from './ptb-pickle.js';
import { readStoredState, writeStoredState, type LayoutName, type ProgressReport } from '../state/whole-state.js';

export interface ImportPtbOptions extends ReadPtbOptions, ProgressReport {
  /** The PTB side: its `filepath`, and its `single_file` (default: the single file when it exists). */
  from: { filepath: string; singleFile?: boolean };
  /**
   * The bucket side, as `S3Persistence` takes it: `s3://bucket/path` (or `path` with `bucket`), a
   * client (default: from the environment) or a store, and the layout (default: the layout of what
   * is there, else single-file).
   */
  to: { filepath: string; bucket?: string; client?: S3Client; store?: ObjectStore; layout?: LayoutName };
  /** Replace a snapshot that exists (still conditional on the ETag read). Default false. */
  force?: boolean;
}

export interface ImportPtbResult {
  /** The pickle files read. */
  files: string[];
  layout: LayoutName;
  /** The objects written, with their new ETags. */
  written: Array<{ key: string; etag: string }>;
  /** How PTB's markers of the bot were read (as the bot, or as `None` in files written without `set_bot`), and why. */
  botMarkers: BotMarkerReport;
}

/**
 * Reads PTB's pickle file(s) and writes the equivalent snapshot. Refuses (`SnapshotExistsError`)
 * when a snapshot exists, unless `force`; never overwrites a change made after it read the target
 * (`SnapshotChangedError`). A value without a stored counterpart is refused by path
 * (`SerializationError`), before anything is written.
 *
 * @example
 * await importPtbPersistence({ from: { filepath: './bot.pickle' }, to: { filepath: 's3://my-bot-state/prod/bot' } });
 */
export async function importPtbPersistence(options: ImportPtbOptions): Promise<ImportPtbResult> {
  const { bucket, path } = parseFilepath(options.to.filepath, options.to.bucket);
  const store = options.to.store ?? new S3ObjectStore({ client: options.to.client ?? clientFromEnvironment(), bucket });
  if (store.bucket !== bucket) {
    throw new InvalidOptionsError(`the store is for bucket "${store.bucket}" but filepath names bucket "${bucket}"`);
  }
  options.onProgress?.(`reading ${options.from.filepath}`);
  const data = await readPtbPersistence(options.from.filepath, {
    singleFile: options.from.singleFile,
    truncateMicroseconds: options.truncateMicroseconds,
    botMarker: options.botMarker,
  });
  const fields = ptbDataToFields(data);
  for (const [name, value] of fields) fields.set(name, copyIn(value, name, undefined));
  const current = await readStoredState(store, path, { layout: options.to.layout, onProgress: options.onProgress });
  const written = await writeStoredState(store, current, fields, { overwrite: options.force, onProgress: options.onProgress });
  return { files: data.files, layout: current.layout, written, botMarkers: data.botMarkers };
}
