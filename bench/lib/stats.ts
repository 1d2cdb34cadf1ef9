/**
 * Samples and their summaries: every timing in the results is a {@link Summary} of repeated runs,
 * reported as the median with the spread around it.
 */

/** Repeated measurements of one quantity: the median, the quartiles and the extremes. */
export interface Summary {
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
  n: number;
}

/** Linear interpolation between closest ranks. */
function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/**
 * @example
 * summarize([3, 1, 2]) // { median: 2, p25: 1.5, p75: 2.5, min: 1, max: 3, n: 3 }
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0]!,
    max: sorted.at(-1)!,
    n: sorted.length,
  };
}

/** Milliseconds since an arbitrary origin, from the monotonic high-resolution clock. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `action` and resolves with its duration in milliseconds. */
export async function timed(action: () => unknown): Promise<number> {
  const started = now();
  await action();
  return now() - started;
}

/** `a / b` rounded for display and JSON, e.g. a ratio of two medians. */
export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}
