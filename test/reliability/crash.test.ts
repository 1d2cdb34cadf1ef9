// Crash safety: writer processes killed with SIGKILL at random moments of their updates and flushes.
// Each trial is a fresh Node process (a cold start of the bundled library) on the snapshot the killed
// ones left behind; it prints every acknowledgement the moment it gets it, and dies after a delay
// drawn from the seed. After each kill the stored snapshot must decode and hold every update any
// trial was told was durable.
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { S3Persistence } from '../../src/index.js';
import { openBucket, type TestBucket } from '../support/persistence.js';
import { deriveSeed, randomInt, seededRandom } from '../support/seed.js';
import { startChild, type Child } from './child-process.js';
import { s3Client, s3Environment } from './clients.js';
import { PROFILE, report, seedFor } from './profile.js';
import { decodability } from './stored-objects.js';
import { lostAcknowledged, storedStamps, type Write } from './workload.js';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await openBucket('crash');
});
afterAll(() => bucket?.destroy());

interface TrialFailure {
  trial: number;
  mode: string;
  killAfterMs: number;
  problem: string;
}

describe('writer processes killed with SIGKILL during updates and flushes', () => {
  const { trials: TRIALS, killWindowMs } = PROFILE.crash;

  // The two layouts run at once, on two snapshots: a trial mostly waits for its process.
  it.concurrent.for([
    { layout: 'single-file', singleFile: true, trials: Math.ceil(TRIALS / 2) },
    { layout: 'multi-file', singleFile: false, trials: Math.floor(TRIALS / 2) },
  ])('$layout: $trials trials, each snapshot decodes and holds every acknowledged update', async ({ layout, singleFile, trials }, { expect }) => {
    const seed = seedFor(`crash ${layout}`, import.meta.url);
    const random = seededRandom(seed);
    const path = `crash-${layout}/bot`;
    const { crashWriter } = inject('reliabilityFixtures');
    const client = s3Client();
    const acknowledged: Write[] = [];
    const failures: TrialFailure[] = [];
    const figures = { trials: 0, acknowledged: 0, acknowledgedLost: 0, undecodable: 0, killedBeforeFirstAck: 0, errorsSurfaced: 0 };
    const deadline = Date.now() + PROFILE.deadlineMs;

    const modeOf = (trial: number) => (deriveSeed(seed, `mode-${trial}`) % 2 === 0 ? 'durable' : 'flush');
    const spawnTrial = (trial: number) =>
      startChild(crashWriter, {
        ...s3Environment(),
        FILEPATH: `s3://${bucket.name}/${path}`,
        SINGLE_FILE: String(singleFile),
        WRITER: String(trial),
        SEED: String(deriveSeed(seed, trial)),
        MODE: modeOf(trial),
        OWN_ENTRIES: '8',
      });
    // The next trial's process is started early and imports the library meanwhile; it loads only when told, after this one died.
    let waiting: Child | undefined = spawnTrial(1);
    try {
      for (let trial = 1; trial <= trials && Date.now() < deadline; trial++) {
        const mode = modeOf(trial);
        const killAfterMs = randomInt(random, 0, killWindowMs);
        const child: Child = waiting!;
        waiting = trial < trials ? spawnTrial(trial + 1) : undefined;
        child.write('load\n');
        await child.line((line) => line === 'ready');
        // The fault itself: the kill falls wherever the child is after this long.
        const kill = setTimeout(() => child.kill(), killAfterMs);
        const exit = await child.exited;
        clearTimeout(kill);
        figures.trials++;
        const fail = (problem: string) => failures.push({ trial, mode, killAfterMs, problem });
        if (exit.signal !== 'SIGKILL') fail(`ended by itself (code ${exit.code}) instead of being killed:\n${exit.stderr}`);

        const acks = child.lines.filter((line) => line.startsWith('ack ')).map((line) => JSON.parse(line.slice(4)) as Write);
        figures.errorsSurfaced += child.lines.filter((line) => line.startsWith('error ')).length;
        if (acks.length === 0) figures.killedBeforeFirstAck++;
        acknowledged.push(...acks);

        const { undecodable } = await decodability(bucket, path);
        if (undecodable.length > 0) fail(`undecodable: ${undecodable.join(', ')}`);
        figures.undecodable += undecodable.length;
        const stored = await storedStamps(new S3Persistence({ filepath: `s3://${bucket.name}/${path}`, client, singleFile }));
        const lost = lostAcknowledged(stored, acknowledged);
        if (lost.length > 0) fail(`acknowledged but not stored: ${JSON.stringify(lost.slice(0, 5))}`);
        figures.acknowledgedLost += lost.length;
      }
    } finally {
      waiting?.kill();
      client.destroy();
    }
    figures.acknowledged = acknowledged.length;
    report(`crash ${layout}`, { ...figures, killWindowMs });

    expect(failures).toEqual([]);
    if (PROFILE.deadlineMs === Infinity) expect(figures.trials).toBe(trials);
    // The kills fell both before and after acknowledgements: the trials did exercise writes in progress.
    expect(figures.acknowledged).toBeGreaterThan(0);
  });
});
