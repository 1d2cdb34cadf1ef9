// Deterministic simulation of concurrent instances over a simulated S3 (see simulation.ts): the first
// half of the run's schedules, and the schedules that found the defects of issue 11.
import { describe, expect, it } from 'vitest';
import { simulate } from './simulation.js';
import { declareScheduleRun } from './suite.js';

declareScheduleRun(0);

describe('the schedules that found the defects of issue 11, before they were fixed', () => {
  it.each([
    [3, 'an update delivered twice applied twice (multi-file)'],
    [17, 'a sharded entry created after the listing overwritten with no conflict'],
    [7, 'a merged value the caller never saw overwritten by its next write (single-file)'],
    [77344, 'a change of two updates, one stored by another writer, merged whole'],
    [4566, 'two handlers of one claimed update at once (an own expired claim held on to)'],
    [1100138, 'two handlers of one claimed update at once (a claim whose PUT landed after its lease ran out)'],
  ])('seed %i: %s', async (seed) => {
    expect((await simulate(seed)).violations).toEqual([]);
  });

  it('replays a schedule exactly from its seed', async () => {
    const [first, second] = [await simulate(3), await simulate(3)];
    expect(second.steps).toBe(first.steps);
    expect(second.faults).toEqual(first.faults);
  });
});
