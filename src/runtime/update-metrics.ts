/**
 * What one update cost, as a dashboard reads it: the requests, bytes, conflicts and retries of the
 * update (the change of a persistence's `metrics` across it) and its duration. Each is a counter or a
 * histogram, which is what CloudWatch's embedded metric format (EMF) and OpenTelemetry both take:
 * {@link UPDATE_METRICS} is the table, {@link emfDocument} the EMF form.
 */
import type { PersistenceMetrics } from '../engine/conditional-object.js';

/** `in-progress`: another delivery of the update holds its claim (`claimUpdates`), so its handler did not run here. */
export type UpdateOutcome = 'handled' | 'duplicate' | 'in-progress' | 'failed';

/** The counters of a persistence that change per update, as the update's line carries them. */
export const COUNTED_PER_UPDATE = [
  'gets',
  'notModified',
  'puts',
  'preconditionsLost',
  'conflicts',
  'retries',
  'bytesRead',
  'bytesWritten',
] as const satisfies ReadonlyArray<keyof PersistenceMetrics>;

export type UpdateCounts = Partial<Record<(typeof COUNTED_PER_UPDATE)[number], number>>;

/** The line logged for one update (see the README's "Logs and metrics"). */
export type UpdateRecord = {
  event: 'update';
  updateId?: number;
  /** The kind of update: `message`, `callback_query`, ... */
  kind?: string;
  outcome: UpdateOutcome;
  durationMs: number;
  /** A failed update: the error's stable `code` (a `PersistenceError`'s), its class name, and for a `PersistenceError` its message. */
  errorCode?: string;
  errorName?: string;
  error?: string;
} & UpdateCounts;

/** The counters' change from `before` to `after`; only those the persistence counts. */
export function countsBetween(before: PersistenceMetrics, after: PersistenceMetrics): UpdateCounts {
  const counts: UpdateCounts = {};
  for (const name of COUNTED_PER_UPDATE) {
    // A persistence of another kind may keep only some of them.
    const [from, to] = [before[name] as number | undefined, after[name] as number | undefined];
    if (from !== undefined && to !== undefined) counts[name] = to - from;
  }
  return counts;
}

/** One metric of an update: the field of {@link UpdateRecord} it is read from, its instrument and its units. */
export interface UpdateMetric {
  field: 'durationMs' | (typeof COUNTED_PER_UPDATE)[number];
  /** OpenTelemetry: a `Counter` adds the value, a `Histogram` records it. EMF: CloudWatch keeps the statistics of either. */
  instrument: 'counter' | 'histogram';
  /** The CloudWatch unit. */
  unit: 'Milliseconds' | 'Count' | 'Bytes';
  /** The OpenTelemetry (UCUM) unit. */
  otelUnit: 'ms' | '{request}' | '{entry}' | '{write}' | 'By';
}

export const UPDATE_METRICS: readonly UpdateMetric[] = Object.freeze([
  { field: 'durationMs', instrument: 'histogram', unit: 'Milliseconds', otelUnit: 'ms' },
  { field: 'gets', instrument: 'counter', unit: 'Count', otelUnit: '{request}' },
  { field: 'notModified', instrument: 'counter', unit: 'Count', otelUnit: '{request}' },
  { field: 'puts', instrument: 'counter', unit: 'Count', otelUnit: '{request}' },
  { field: 'preconditionsLost', instrument: 'counter', unit: 'Count', otelUnit: '{request}' },
  { field: 'conflicts', instrument: 'counter', unit: 'Count', otelUnit: '{entry}' },
  { field: 'retries', instrument: 'counter', unit: 'Count', otelUnit: '{write}' },
  { field: 'bytesRead', instrument: 'counter', unit: 'Bytes', otelUnit: 'By' },
  { field: 'bytesWritten', instrument: 'counter', unit: 'Bytes', otelUnit: 'By' },
] satisfies UpdateMetric[]);

/** Where EMF metrics go in CloudWatch. */
export interface EmfOptions {
  /** Default `TelegramBot`. */
  namespace?: string;
  /** Dimension names and values of every metric; default `{ Service: 'telegram-bot' }`. */
  dimensions?: Record<string, string>;
}

/**
 * The update's line as an EMF document: the record itself (its fields stay searchable in Logs
 * Insights), a `failed` count (0 or 1), the dimensions, and the `_aws` member that tells CloudWatch
 * to extract every metric of {@link UPDATE_METRICS} the record holds, plus `failed`.
 *
 * @example
 * console.log(JSON.stringify(emfDocument(record, { namespace: 'MyBot', dimensions: { Stage: 'prod' } })));
 */
export function emfDocument(record: UpdateRecord, options: EmfOptions = {}, timestamp = Date.now()): Record<string, unknown> {
  const dimensions = options.dimensions ?? { Service: 'telegram-bot' };
  const metrics = UPDATE_METRICS.filter(({ field }) => typeof record[field] === 'number').map(({ field, unit }) => ({ Name: field, Unit: unit }));
  return {
    ...record,
    failed: record.outcome === 'failed' ? 1 : 0,
    ...dimensions,
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: options.namespace ?? 'TelegramBot',
          Dimensions: [Object.keys(dimensions)],
          Metrics: [...metrics, { Name: 'failed', Unit: 'Count' }],
        },
      ],
    },
  };
}

/** {@link emfDocument} as the one line CloudWatch Logs reads it from. */
export function emfLine(record: UpdateRecord, options: EmfOptions = {}, timestamp = Date.now()): string {
  return JSON.stringify(emfDocument(record, options, timestamp));
}
