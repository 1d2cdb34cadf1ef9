/**
 * python-telegram-bot's own PicklePersistence on the same data, to local disk: load and write times
 * (see peers/pickle_persistence.py). The library's target: load and write within 1.5x of it; the
 * comparison takes the library's figures from the cold-start and write-amplification scenarios.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchContext } from '../lib/context.js';
import { summarize, type Summary } from '../lib/stats.js';

const script = fileURLToPath(new URL('../peers/pickle_persistence.py', import.meta.url));
const run = promisify(execFile);

export interface PicklePersistenceOptions {
  sizes: readonly number[];
  loads: (users: number) => number;
  /** Timed writes (one more is made first, untimed). */
  writes: (users: number) => number;
}

export interface PicklePersistenceRow {
  users: number;
  layout: 'single-file' | 'multi-file';
  loadMs: Summary;
  writeMs: Summary;
  bytesPerWrite: number;
}

export type PicklePersistenceResult =
  | { ptbVersion: string; python: string; rows: PicklePersistenceRow[] }
  | { skipped: string };

export const PICKLE_PERSISTENCE_DEFAULTS: PicklePersistenceOptions = {
  sizes: [1_000, 10_000, 100_000],
  loads: (users) => (users >= 100_000 ? 3 : 9),
  writes: (users) => (users >= 100_000 ? 4 : 15),
};

interface ScriptOutput {
  ptbVersion: string;
  python: string;
  'single-file': { loadMs: number[]; writeMs: number[]; bytesPerWrite: number };
  'multi-file': { loadMs: number[]; writeMs: number[]; bytesPerWrite: number };
}

export async function picklePersistence(
  context: BenchContext,
  options: PicklePersistenceOptions = PICKLE_PERSISTENCE_DEFAULTS,
): Promise<PicklePersistenceResult> {
  try {
    await run('python3', ['-c', 'import telegram.ext']);
  } catch (error) {
    return { skipped: `python3 with python-telegram-bot is not available (pip install python-telegram-bot): ${(error as Error).message}` };
  }
  const workdir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-ptb-'));
  try {
    const rows: PicklePersistenceRow[] = [];
    let output: ScriptOutput | undefined;
    for (const users of options.sizes) {
      const population = context.population(users);
      const writes = options.writes(users) + 1;
      const step = Math.floor(users / writes);
      const spec = {
        population: join(workdir, `population-${users}.json`),
        workdir: join(workdir, String(users)),
        loads: options.loads(users),
        touched: Array.from({ length: writes }, (_, i) => population.users[i * step]![0]),
      };
      await writeFile(spec.population, JSON.stringify(population));
      await writeFile(join(workdir, `spec-${users}.json`), JSON.stringify(spec));
      const { stdout } = await run('python3', [script, join(workdir, `spec-${users}.json`)], { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 });
      output = JSON.parse(stdout.trim().split('\n').at(-1)!) as ScriptOutput;
      for (const layout of ['single-file', 'multi-file'] as const) {
        const { loadMs, writeMs, bytesPerWrite } = output[layout];
        rows.push({ users, layout, loadMs: summarize(loadMs), writeMs: summarize(writeMs), bytesPerWrite });
      }
    }
    return { ptbVersion: output?.ptbVersion ?? '?', python: output?.python ?? '?', rows };
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
}
