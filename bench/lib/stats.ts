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

/** A straight line `y = intercept + slope * x` fitted by least squares, with its coefficient of determination. */
export interface LinearFit {
  intercept: number;
  slope: number;
  /** R²: the share of the variance of y the line explains (1 when every point is on it; 0 for a flat line through noise). */
  r2: number;
}

/**
 * @example
 * linearFit([1, 2, 3], [2, 4, 6]) // { intercept: 0, slope: 2, r2: 1 }
 */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('a line needs two or more points');
  const n = xs.length;
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
    sxx += (xs[i]! - meanX) ** 2;
    syy += (ys[i]! - meanY) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residual = ys.reduce((sum, y, i) => sum + (y - intercept - slope * xs[i]!) ** 2, 0);
  return { intercept, slope, r2: syy === 0 ? 1 : 1 - residual / syy };
}

/**
 * The ratio of the medians of `b` over `a`, with a percentile bootstrap interval: each sample is
 * resampled with replacement `iterations` times (seeded, so the report is reproducible) and the
 * ratio of the resampled medians taken; the interval holds the middle `level` of those ratios.
 *
 * @example
 * ratioOfMedians([100, 102, 98], [104, 99, 101]) // { ratio: 1.01, low: ..., high: ..., level: 0.95 }
 */
export function ratioOfMedians(
  a: readonly number[],
  b: readonly number[],
  options: { iterations?: number; level?: number; seed?: number } = {},
): { ratio: number; low: number; high: number; level: number } {
  const { iterations = 4000, level = 0.95, seed = 1 } = options;
  const median = (values: readonly number[]) => quantile([...values].sort((x, y) => x - y), 0.5);
  // mulberry32, as test/support/seed.ts
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (values: readonly number[]) => values.map(() => values[Math.floor(random() * values.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < iterations; i++) ratios.push(median(resample(b)) / median(resample(a)));
  ratios.sort((x, y) => x - y);
  return { ratio: median(b) / median(a), low: quantile(ratios, (1 - level) / 2), high: quantile(ratios, 1 - (1 - level) / 2), level };
}

/** A new random order of `items` (Fisher-Yates): interleaved rounds start with a different side each time. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
