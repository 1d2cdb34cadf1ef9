// The simulation's share of the normal suite: SIM_SCHEDULES (default 100,000) seeded schedules from
// a run seed (SIM_SEED, else random), split between two test files so that both cores run them.
import { describe, expect, it } from 'vitest';
import { runSchedules } from './schedules.js';

const SCHEDULES = Number(process.env.SIM_SCHEDULES ?? 100_000);
const PARTS = 2;
const CHUNKS_PER_PART = 5;
// One run seed for both files: a file picks it up from the environment, or derives it from the hour, so
// that both parts of one run cover adjacent ranges; the seed is in every test's name.
const RUN_SEED = Number(process.env.SIM_SEED ?? (Math.floor(Date.now() / 3_600_000) * 1_000_003) % 2 ** 31);

/** Declares part `part` (0-based) of the run's schedules, in chunks, each a test naming its seeds. */
export function declareScheduleRun(part: number): void {
  const perPart = Math.ceil(SCHEDULES / PARTS);
  const partFirst = RUN_SEED + part * perPart;
  const partCount = Math.max(0, Math.min(perPart, SCHEDULES - part * perPart));
  const perChunk = Math.ceil(partCount / CHUNKS_PER_PART);
  describe(`simulated schedules, part ${part + 1} of ${PARTS} (run seed ${RUN_SEED}; replay one: npm run simulate -- --seed <seed>)`, () => {
    for (let first = partFirst; first < partFirst + partCount; first += perChunk) {
      const count = Math.min(perChunk, partFirst + partCount - first);
      it(`seeds ${first}..${first + count - 1}: every acknowledged update stored exactly once, every object decodes, retries end`, async () => {
        const summary = await runSchedules(first, count);
        expect(summary.failures, summary.failures.slice(0, 5).join('\n')).toEqual([]);
        // The faults the seeds drew were really injected (a simulation without them proves little).
        if (count >= 1000) {
          expect(summary.faults.lostResponse).toBeGreaterThan(0);
          expect(summary.faults.errorAfterApply).toBeGreaterThan(0);
          expect(summary.crashes).toBeGreaterThan(0);
        }
      }, 900_000);
    }
  });
}
