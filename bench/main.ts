/**
 * The benchmark: starts a local MinIO, runs the scenarios (every peer in the same run, on the same
 * data), checks the targets, and writes bench/results.json, bench/RESULTS.md and bench/chart.svg.
 * Started by bench/run.mjs (`npm run bench`), which builds it first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startMinio } from '../infra/minio.js';
import { BenchContext } from './lib/context.js';
import { averageUserBytes } from './lib/population.js';
import { now } from './lib/stats.js';
import { renderChart } from './report/chart.js';
import { renderMarkdown } from './report/markdown.js';
import type { BenchResults, ScenarioName, Scenarios } from './results.js';
import { burst, BURST_DEFAULTS } from './scenarios/burst.js';
import { cloudFunctions } from './scenarios/cloud-functions.js';
import { codec } from './scenarios/codec.js';
import { coldStart } from './scenarios/cold-start.js';
import { contention } from './scenarios/contention.js';
import { lambda } from './scenarios/lambda.js';
import { lambdaColdStart } from './scenarios/lambda-cold-start.js';
import { memory, memoryOptionsFromEnvironment } from './scenarios/memory.js';
import { picklePersistence } from './scenarios/pickle-persistence.js';
import { scale } from './scenarios/scale.js';
import { steadyState } from './scenarios/steady-state.js';
import { workers } from './scenarios/workers.js';
import { writeAmplification } from './scenarios/write-amplification.js';
import { checkTargets } from './targets.js';
import { profile } from './profile.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));

type Runner = (context: BenchContext, childScript: string) => Promise<Scenarios[ScenarioName]>;

/** Every scenario, in the order they run; the name is the key in results.json. */
const SCENARIOS: Record<ScenarioName, Runner> = {
  coldStart: (context, childScript) => coldStart(context, childScript),
  codec: (_context, childScript) => codec(childScript),
  steadyState: (context) => steadyState(context),
  burst: (context) => burst(context),
  contention: (context) => contention(context),
  writeAmplification: (context) => writeAmplification(context),
  picklePersistence: (context, childScript) => picklePersistence(context, join(dirname(childScript), 'load-process.mjs')),
  lambda: (context) => lambda(context),
  lambdaColdStart: (context) => lambdaColdStart(context),
  memory: (context) => memory(context, memoryOptionsFromEnvironment()),
  scale: (context, childScript) => scale(context, childScript),
  workers: (context) => workers(context),
  cloudFunctions: (context) => cloudFunctions(context),
};

const NAMES = Object.keys(SCENARIOS) as ScenarioName[];

/** The commit being measured, read (never changed) with git; `unknown` outside a checkout. */
function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: benchDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', '../src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

export interface MainOptions {
  argv: string[];
  /** The built bench/child.ts, for measurements in fresh processes. */
  childScript: string;
}

export async function main({ argv, childScript }: MainOptions): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, smoke: { type: 'boolean' }, profile: { type: 'boolean' }, report: { type: 'boolean' } } });
  if (values.smoke) return smoke();
  if (values.report) return writeReports(JSON.parse(await readFile(join(benchDir, 'results.json'), 'utf8')) as BenchResults);
  if (values.profile) return profileOnly(childScript);
  const only = values.only?.split(',').map((name) => name.trim()) ?? NAMES;
  const unknown = only.filter((name) => !NAMES.includes(name as ScenarioName));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; the scenarios are ${NAMES.join(', ')}`);
  const selected = NAMES.filter((name) => only.includes(name));

  const resultsFile = join(benchDir, 'results.json');
  // A partial run keeps the other scenarios' last results.
  const previous: Scenarios =
    selected.length < NAMES.length && existsSync(resultsFile) ? ((JSON.parse(await readFile(resultsFile, 'utf8')) as BenchResults).scenarios ?? {}) : {};
  const measured = revision();
  const startedAt = new Date();
  const started = now();
  const load = () => Math.round(os.loadavg()[0]! * 100) / 100;
  const loadAverage: NonNullable<BenchResults['run']['loadAverage']> = { start: load(), end: 0, scenarios: {} };
  const seconds: BenchResults['run']['seconds'] = { total: 0 };
  console.error('starting MinIO ...');
  const minio = await startMinio();
  const context = await BenchContext.open(minio);
  const scenarios: Scenarios = { ...previous };
  try {
    for (const name of selected) {
      const scenarioStarted = now();
      loadAverage.scenarios![name] = load();
      console.error(`${name} ... (load average ${loadAverage.scenarios![name]})`);
      Object.assign(scenarios, { [name]: await SCENARIOS[name](context, childScript) });
      seconds[name] = Math.round((now() - scenarioStarted) / 100) / 10;
      console.error(`${name}: ${seconds[name]} s`);
    }
  } finally {
    context.close();
    await minio.stop();
  }
  seconds.total = Math.round((now() - started) / 100) / 10;

  const results: BenchResults = {
    run: {
      command: `npm run bench${selected.length < NAMES.length ? ` -- --only=${selected.join(',')}` : ''}`,
      revision: measured,
      startedAt: startedAt.toISOString(),
      seconds,
      machine: {
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
        cores: os.availableParallelism(),
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
      },
      loadAverage: { ...loadAverage, end: load() },
      node: process.version,
      minio: minio.source,
      userBytes: Math.round(averageUserBytes(context.population(1_000))),
    },
    scenarios,
    targets: [],
  };
  await writeFile(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  await writeReports(results);
  console.log(`ran in ${seconds.total} s`);
}

/** Checks the targets, writes results.json again with them, RESULTS.md and chart.svg, and prints the targets. */
async function writeReports(results: BenchResults): Promise<void> {
  results.targets = checkTargets(results);
  await writeFile(join(benchDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(benchDir, 'RESULTS.md'), renderMarkdown(results));
  await writeFile(join(benchDir, 'chart.svg'), renderChart(results));
  for (const target of results.targets) {
    console.log(`${target.holds === null ? '?' : target.holds ? 'holds' : 'MISSED'}  ${target.target}: ${target.measured}`);
  }
  console.log('wrote bench/results.json, bench/RESULTS.md and bench/chart.svg');
}

/** `npm run bench -- --profile`: CPU profiles of the library's hot paths, summarized; no results written. */
async function profileOnly(childScript: string): Promise<void> {
  const minio = await startMinio();
  const context = await BenchContext.open(minio, 'bench-profile');
  try {
    console.log(await profile(context, childScript, join(benchDir, '..', '.build', 'bench', 'profiles')));
  } finally {
    context.close();
    await minio.stop();
  }
}

/** `npm run bench:smoke`: one small burst, printed, nothing written. */
async function smoke(): Promise<void> {
  const minio = await startMinio();
  const context = await BenchContext.open(minio, 'bench-smoke');
  try {
    const result = await burst(context, { ...BURST_DEFAULTS, users: 1_000, concurrent: 20, rounds: 2 });
    for (const peer of result.peers) console.log(`${peer.peer}: ${peer.putsPerUpdate.toFixed(2)} PUTs per update`);
  } finally {
    context.close();
    await minio.stop();
  }
}
