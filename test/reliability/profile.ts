// Sizes and seed of a reliability run. `npm test` runs the small sizes (the `ci` profile, under a
// minute on 2 cores); `npm run soak` sets RELIABILITY_PROFILE=soak for the long run. The seed comes
// from RELIABILITY_SEED, or is drawn fresh and printed, so any failure reproduces.
import { deriveSeed } from '../support/seed.js';

export type ProfileName = 'ci' | 'soak';

export interface Profile {
  name: ProfileName;
  /** In-process writers through the fault proxy, per layout, and the writes each makes. */
  faults: { writers: number; writesPerWriter: number };
  /** SIGKILL trials (split over the two layouts) and the window after `ready` in which the kill falls. */
  crash: { trials: number; killWindowMs: number };
  /** Processes writing one snapshot at once, and the updates each makes. */
  contention: { processes: number; updatesPerProcess: number };
  /** Processes counting one user at once (sharded, onFlush), the updates each makes, and how often each flushes. */
  counters: { processes: number; updatesPerProcess: number; flushEvery: number };
  /** Distinct updates each delivered to several warm instances of the sample bot at once, and how many. */
  redelivery: { updates: number; instances: number };
  /** Runs of the persistence-level decode fuzz. */
  fuzzRuns: number;
  /** Size of the large snapshot, in bytes. */
  largeSnapshotBytes: number;
  /** A long test stops starting new rounds after this long and reports what it ran (the soak's time bound). */
  deadlineMs: number;
}

const PROFILES: Record<ProfileName, Profile> = {
  ci: {
    name: 'ci',
    faults: { writers: 4, writesPerWriter: 40 },
    crash: { trials: 50, killWindowMs: 200 },
    contention: { processes: 16, updatesPerProcess: 100 },
    counters: { processes: 12, updatesPerProcess: 100, flushEvery: 5 },
    redelivery: { updates: 20, instances: 3 },
    fuzzRuns: 1000,
    largeSnapshotBytes: 50 * 1024 * 1024,
    deadlineMs: Infinity, // the sizes bound the run
  },
  soak: {
    name: 'soak',
    faults: { writers: 8, writesPerWriter: 500 },
    crash: { trials: 400, killWindowMs: 600 },
    contention: { processes: 16, updatesPerProcess: 500 },
    counters: { processes: 12, updatesPerProcess: 500, flushEvery: 5 },
    redelivery: { updates: 200, instances: 3 },
    fuzzRuns: 20000,
    largeSnapshotBytes: 50 * 1024 * 1024,
    // scripts/soak.mjs passes what is left of its time budget.
    deadlineMs: Number(process.env.RELIABILITY_DEADLINE_MS ?? 15 * 60_000),
  },
};

export const PROFILE: Profile = PROFILES[process.env.RELIABILITY_PROFILE === 'soak' ? 'soak' : 'ci'];

function seedFromEnvironment(): number {
  const given = process.env.RELIABILITY_SEED;
  if (given === undefined || given === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`RELIABILITY_SEED must be a non-negative integer, not ${given}`);
  return seed >>> 0;
}

/** The seed of this run (one per test file, as vitest runs each file in its own worker). */
export const RUN_SEED = seedFromEnvironment();

/**
 * The seed of one test, derived from the run's seed; logs how to reproduce the run.
 *
 * @example
 * const seed = seedFor('crash', import.meta.url);
 */
export function seedFor(label: string, testFile: string): number {
  const file = testFile.slice(testFile.indexOf('test/reliability/'));
  const profile = PROFILE.name === 'ci' ? '' : `RELIABILITY_PROFILE=${PROFILE.name} `;
  console.log(`[reliability] ${label}: seed ${RUN_SEED}; reproduce: ${profile}RELIABILITY_SEED=${RUN_SEED} npx vitest run --project reliability ${file}`);
  return deriveSeed(RUN_SEED, label);
}

/** Prints a result line of the run, for docs/RELIABILITY.md. */
export function report(label: string, figures: Record<string, unknown>): void {
  console.log(`[reliability] ${label} (${PROFILE.name}, seed ${RUN_SEED}): ${JSON.stringify(figures)}`);
}
