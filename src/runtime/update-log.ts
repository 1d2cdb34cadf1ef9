/**
 * The runtime's log: one line per update (what it cost and how it ended) and the warnings an
 * operator acts on before they become failures. Nothing of an update's content, no token and no
 * secret is logged: the line holds ids, counts, durations and, for a failure, the error's code.
 */
import { emptyMetrics, RETRY_BUDGET_WARNING, type PersistenceMetrics } from '../engine/conditional-object.js';
import { PersistenceError, StorageError } from '../errors.js';
import type { Logger } from './logger.js';
import { countsBetween, emfDocument, type EmfOptions, type UpdateOutcome, type UpdateRecord } from './update-metrics.js';

/** When a snapshot is large enough to warn about; see {@link UpdateLogOptions.largeSnapshot}. */
export interface LargeSnapshotOptions {
  /** The memory the process may use, in bytes; default `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MiB) on Lambda, else unknown (no warning). */
  memoryLimitBytes?: number;
  /** The share of that memory a body read may take before a warning; default 0.1 (decoded, a snapshot takes several times its size). */
  share?: number;
}

export interface UpdateLogOptions {
  logger: Logger;
  /** `'emf'` (or EMF options): each update's line is also a CloudWatch EMF document. */
  metrics?: 'emf' | EmfOptions | false;
  /** Warn when a snapshot read approaches the memory it is loaded in; `false`: never. */
  largeSnapshot?: LargeSnapshotOptions | false;
}

/** What the runtime knows of an update when it starts. */
export interface UpdateIdentity {
  updateId?: number;
  kind?: string;
}

/** The memory limit of a Lambda function, from its environment; undefined elsewhere. */
export function lambdaMemoryLimit(env: Record<string, string | undefined> | undefined = globalThis.process?.env): number | undefined {
  const megabytes = Number(env?.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isFinite(megabytes) && megabytes > 0 ? megabytes * 1024 * 1024 : undefined;
}

/** How an update ended: an outcome, or the error it failed with. */
type Ending = Exclude<UpdateOutcome, 'failed'> | { failed: unknown };

export class UpdateLog {
  private readonly options: UpdateLogOptions;
  private readonly largeSnapshotBytes: number | undefined;

  /** `metrics`: the persistence's counters, when it keeps them. */
  constructor(
    private readonly metrics: PersistenceMetrics | undefined,
    options: UpdateLogOptions,
  ) {
    this.options = options;
    const large = options.largeSnapshot ?? {};
    const limit = large === false ? undefined : (large.memoryLimitBytes ?? lambdaMemoryLimit());
    this.largeSnapshotBytes = large === false || limit === undefined ? undefined : limit * (large.share ?? 0.1);
  }

  /** Starts watching an update; call the function returned once it ended, with the error if it failed. */
  start(identity: UpdateIdentity): (outcome: Ending) => void {
    const started = performance.now();
    // Only what is known: a logger other than JSON would print an `undefined`.
    const update = Object.fromEntries(Object.entries(identity).filter(([, value]) => value !== undefined)) as UpdateIdentity;
    const before = { ...(this.metrics ?? emptyMetrics()) };
    return (outcome) => {
      try {
        this.report(update, before, started, outcome);
      } catch {
        // A logger that throws must not fail the update it reports on (nor hide the update's own error).
      }
    };
  }

  private report(update: UpdateIdentity, before: PersistenceMetrics, started: number, outcome: Ending): void {
    const after = this.metrics;
    const record: UpdateRecord = {
      event: 'update',
      ...update,
      outcome: typeof outcome === 'string' ? outcome : 'failed',
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(after === undefined ? {} : countsBetween(before, after)),
      ...(typeof outcome === 'string' ? {} : describeError(outcome.failed)),
    };
    this.line(record);
    if (after !== undefined) this.warnAboutCosts(update, before, after);
    if (typeof outcome !== 'string') this.warnAboutServer(update, outcome.failed);
  }

  private line(record: UpdateRecord): void {
    const { logger, metrics } = this.options;
    const line = metrics === undefined || metrics === false ? record : emfDocument(record, metrics === 'emf' ? {} : metrics);
    if (record.outcome === 'failed') logger.error(line as UpdateRecord);
    else logger.info(line as UpdateRecord);
  }

  private warnAboutCosts(update: UpdateIdentity, before: PersistenceMetrics, after: PersistenceMetrics): void {
    const { logger } = this.options;
    const nearLimit = after.writesNearRetryLimit - before.writesNearRetryLimit;
    if (nearLimit > 0) {
      logger.warn({
        event: 'retry-budget-nearly-spent',
        ...update,
        writes: nearLimit,
        share: RETRY_BUDGET_WARNING,
        hint: `a write was stored only after more than ${RETRY_BUDGET_WARNING * 100}% of retry.maxAttempts: writers contend for one object; raise retry.maxAttempts, or use layout 'sharded'`,
      });
    }
    const largest = after.largestRead;
    const threshold = this.largeSnapshotBytes;
    // Warned when the largest body read grows past the threshold: once per instance, again if it grows.
    if (threshold !== undefined && largest > before.largestRead && largest > threshold) {
      logger.warn({
        event: 'large-snapshot',
        ...update,
        bytes: largest,
        thresholdBytes: Math.round(threshold),
        hint: 'a snapshot this large may not fit in memory once decoded: give the function more memory, or use layout \'sharded\'',
      });
    }
  }

  private warnAboutServer(update: UpdateIdentity, error: unknown): void {
    // Answers no S3 server gives, and a server found to ignore conditional writes.
    if (!(error instanceof StorageError) || !(error.unexpectedAnswer || error.code === 'CONDITIONAL_WRITES_IGNORED')) return;
    this.options.logger.warn({ event: 'unexpected-answer', ...update, endpoint: error.endpoint, error: error.message });
  }
}

/** The error of a failed update, without its message unless it is this library's (which names no data). */
function describeError(error: unknown): Pick<UpdateRecord, 'errorCode' | 'errorName' | 'error'> {
  if (error instanceof PersistenceError) return { errorCode: error.code, errorName: error.name, error: error.message };
  return { errorName: error instanceof Error ? error.name : typeof error };
}
