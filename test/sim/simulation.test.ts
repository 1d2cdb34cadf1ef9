// Deterministic simulation of concurrent instances over a simulated S3 (see simulation.ts). The run's
// seed is printed; a failing schedule prints its own seed, and `SIM_SEED=<seed> SIM_SCHEDULES=1
// npx vitest run test/sim` replays it alone (`SIM_TRACE=<seed>` prints every step).
import { describe, expect, it } from 'vitest';
import { runSchedules } from './schedules.js';
import { simulate } from './simulation.js';

const SCHEDULES = Number(process.env.SIM_SCHEDULES ?? 100_000);
const CHUNKS = 10;
const firstSeed = Number(process.env.SIM_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`${SCHEDULES} simulated schedules from seed ${firstSeed}`, () => {
  const perChunk = Math.ceil(SCHEDULES / CHUNKS);
  for (let chunk = 0; chunk < CHUNKS && chunk * perChunk < SCHEDULES; chunk++) {
    const first = firstSeed + chunk * perChunk;
    const count = Math.min(perChunk, SCHEDULES - chunk * perChunk);
    it(`seeds ${first}..${first + count - 1}: every acknowledged update stored exactly once, every object decodes, retries end`, async () => {
      const summary = await runSchedules(first, count);
      expect(summary.failures, summary.failures.slice(0, 5).join('\n')).toEqual([]);
      // The faults the seeds drew were really injected (a simulation without them proves little).
      expect(summary.faults.lostResponse).toBeGreaterThan(0);
      expect(summary.faults.errorAfterApply).toBeGreaterThan(0);
    }, 600_000);
  }
});

describe('the schedules that found the defects of issue 11, before they were fixed', () => {
  it.each([
    [3, 'an update delivered twice applied twice (multi-file)'],
    [17, 'a sharded entry created after the listing overwritten with no conflict'],
    [7, 'a merged value the caller never saw overwritten by its next write (single-file)'],
  ])('seed %i: %s', async (seed) => {
    expect((await simulate(seed)).violations).toEqual([]);
  });

  it('replays a schedule exactly from its seed', async () => {
    const [first, second] = [await simulate(3), await simulate(3)];
    expect(second.steps).toBe(first.steps);
    expect(second.faults).toEqual(first.faults);
  });
});
