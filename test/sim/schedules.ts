// Runs a range of simulated schedules and sums up what they did: shared by the test suite and by
// `npm run simulate` (the soak), so that both count the same things.
import { describe as describeSchedule, simulate, type ScheduleResult } from './simulation.js';

export interface RunSummary {
  schedules: number;
  /** Faults injected, by kind, over all schedules. */
  faults: Record<string, number>;
  crashes: number;
  deliveries: number;
  steps: number;
  /** Each failing schedule, described with the seed that replays it. */
  failures: string[];
}

export function emptySummary(): RunSummary {
  return { schedules: 0, faults: {}, crashes: 0, deliveries: 0, steps: 0, failures: [] };
}

export function addResult(summary: RunSummary, result: ScheduleResult): void {
  summary.schedules++;
  for (const [kind, count] of Object.entries(result.faults)) summary.faults[kind] = (summary.faults[kind] ?? 0) + count;
  summary.crashes += result.crashes;
  summary.deliveries += result.deliveries;
  summary.steps += result.steps;
  if (result.violations.length > 0) summary.failures.push(describeSchedule(result));
}

/** Runs the schedules of seeds `first` .. `first + count - 1`. */
export async function runSchedules(first: number, count: number): Promise<RunSummary> {
  const summary = emptySummary();
  for (let seed = first; seed < first + count; seed++) addResult(summary, await simulate(seed >>> 0));
  return summary;
}
