/**
 * The Lambda handler's cold start (issue 16, item 4), every side interleaved in the same run:
 *
 * - **Import**: each build of the handler bundle imported in a fresh Node process, against a bare
 *   `node` start (a process that runs an empty module), on Node 24 (Lambda's nodejs24.x, the
 *   default) and on the machine's Node 20. Wall time from spawn to exit; every round runs every
 *   process once, in a new random order. The builds are the steps of the issue, each measured apart:
 *   the former build (AWS SDK, grammY's Node build with node-fetch, `keepNames`), with grammY's web
 *   build, then without `keepNames` (the SDK build as shipped), then the fetch store without the SDK
 *   (the default).
 * - **First update** at 1k users: a fresh process that imports the bundle, loads the single-file
 *   snapshot, handles `/count`, replies to a fake Bot API and writes (spawn to exit; Node 24 and
 *   20; the former build on Node 24), against a bare handler on the same Node (answers at once: the
 *   platform table's baseline) and against
 *   python-telegram-bot's process start plus its load of the same 1k users from a local pickle
 *   (`python3`, `import telegram.ext`, a new PicklePersistence and every `get_*`: what an
 *   `Application` does before its first update), spawn to exit.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { buildOptionsFor, GRAMMY_WEB, handlerBuildOptions } from '../../infra/bundle.mjs';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { messageUpdate, startFakeBotApi } from '../../test/support/fake-bot-api.js';
import { invokeInFreshProcess, webhookEvent } from '../../test/support/lambda.js';
import type { BenchContext } from '../lib/context.js';
import { shuffled, summarize, type Summary } from '../lib/stats.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ptbScript = fileURLToPath(new URL('../peers/pickle_persistence.py', import.meta.url));
const run = promisify(execFile);

const BOT_TOKEN = '7000000001:BENCHMARK-token-not-secret';
const WEBHOOK_SECRET = 'bench-webhook-secret';

export interface LambdaColdStartOptions {
  /** Rounds of the import comparison (each: bare node and every build, per Node). */
  importRounds: number;
  /** Rounds of the first-update comparison (each: bare handler, both S3 clients, PTB). */
  updateRounds: number;
  users: number;
}

export const LAMBDA_COLD_START_DEFAULTS: LambdaColdStartOptions = { importRounds: 21, updateRounds: 11, users: 1_000 };

/** The builds, each step of the issue measured apart; the last two are what infra/bundle.mjs ships. */
const BUILDS: ReadonlyArray<{ name: string; description: string; options: () => BuildOptions }> = [
  {
    name: 'former',
    description: "AWS SDK, grammY's Node build (node-fetch, tr46, abort-controller), keepNames: the build before issue 16 (lib-storage now imported on first use)",
    options: () => handlerBuildOptions,
  },
  {
    name: 'former + grammY web',
    description: "grammY's web build (the platform's fetch) instead of its Node build",
    options: () => ({ ...handlerBuildOptions, alias: { grammy: GRAMMY_WEB } }),
  },
  { name: 'sdk', description: 'and no keepNames: S3_CLIENT=sdk', options: () => buildOptionsFor('sdk') },
  { name: 'fetch', description: 'the fetch store, no AWS SDK in the bundle: S3_CLIENT=fetch, the default', options: () => buildOptionsFor('fetch') },
];

export interface ColdStartBuild {
  name: string;
  description: string;
  bundleBytes: number;
}

export interface ImportRow {
  build: string;
  /** Spawn to exit of a process that imports the bundle. */
  wallMs: Summary;
  /** The import alone, timed inside the process. */
  importMs: Summary;
  /** The process's CPU time when the import is done (user + system). */
  cpuMs: Summary;
  /** wallMs.median / the bare start's median. */
  ratio: number;
  /** cpuMs.median / the bare start's: less moved by other work on the machine than wall time. */
  cpuRatio: number;
}

export interface ImportComparison {
  node: string;
  /** Spawn to exit of `node empty.mjs`. */
  bareMs: Summary;
  bareCpuMs: Summary;
  rows: ImportRow[];
}

export interface FirstUpdateRow {
  name: string;
  /** The Node version of a Lambda process; absent for PTB. */
  node?: string;
  /** Spawn to exit. */
  wallMs: Summary;
  /** Inside the process: importing the handler, and the first invocation. */
  initMs?: Summary;
  invokeMs?: Summary;
}

export interface LambdaColdStartResult {
  builds: ColdStartBuild[];
  imports: ImportComparison[];
  firstUpdate: {
    users: number;
    rows: FirstUpdateRow[];
    /** python-telegram-bot's version, or why it did not run. */
    ptb: { version: string; python: string } | { skipped: string };
  };
  loadAverage: { start: number; end: number };
}

/** Runs `command args` to its end; resolves with the wall milliseconds from spawn to exit and its stdout. */
function timedRun(command: string, args: string[], env: Record<string, string>): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr}`));
    });
  });
}

/** Prints the import's milliseconds and the process's CPU time so far (user + system, every thread). */
const REPORT = 'const cpu = process.cpuUsage(); process.stdout.write(JSON.stringify({ importMs, cpuMs: (cpu.user + cpu.system) / 1000 }));\n';
// process.hrtime, not performance.now(): the first read of `performance` loads perf_hooks (eleven
// internal modules, 2-3 ms of CPU on Node 24), which the bare start would not pay.
const IMPORTER = `const started = process.hrtime.bigint();
await import(process.argv[2]);
const importMs = Number(process.hrtime.bigint() - started) / 1e6;
${REPORT}`;
const EMPTY = `const importMs = 0;\n${REPORT}`;

async function compareImports(node: string, bundles: ReadonlyArray<{ name: string; path: string }>, work: string, rounds: number): Promise<ImportComparison> {
  const empty = join(work, 'empty.mjs');
  const importer = join(work, 'import.mjs');
  await writeFile(empty, EMPTY);
  await writeFile(importer, IMPORTER);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const cells = [{ name: 'bare', args: [empty] }, ...bundles.map((bundle) => ({ name: bundle.name, args: [importer, bundle.path] }))];
  const wall = new Map(cells.map((cell) => [cell.name, [] as number[]]));
  const inside = new Map(cells.map((cell) => [cell.name, [] as number[]]));
  const cpu = new Map(cells.map((cell) => [cell.name, [] as number[]]));
  const { stdout: version } = await run(node, ['--version']);
  for (let round = 0; round < rounds; round++) {
    for (const cell of shuffled(cells)) {
      const { ms, stdout } = await timedRun(node, cell.args, env);
      const reported = JSON.parse(stdout) as { importMs: number; cpuMs: number };
      wall.get(cell.name)!.push(ms);
      inside.get(cell.name)!.push(reported.importMs);
      cpu.get(cell.name)!.push(reported.cpuMs);
    }
  }
  const bareMs = summarize(wall.get('bare')!);
  const bareCpuMs = summarize(cpu.get('bare')!);
  return {
    node: version.trim(),
    bareMs,
    bareCpuMs,
    rows: bundles.map(({ name }) => {
      const wallMs = summarize(wall.get(name)!);
      const cpuMs = summarize(cpu.get(name)!);
      return { build: name, wallMs, importMs: summarize(inside.get(name)!), cpuMs, ratio: wallMs.median / bareMs.median, cpuRatio: cpuMs.median / bareCpuMs.median };
    }),
  };
}

export async function lambdaColdStart(context: BenchContext, options: LambdaColdStartOptions = LAMBDA_COLD_START_DEFAULTS): Promise<LambdaColdStartResult> {
  const loadStart = loadavg()[0]!;
  const work = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-coldstart-'));
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  try {
    const node24 = await ensureRuntime('node24');
    const builds: ColdStartBuild[] = [];
    const bundles: Array<{ name: string; path: string }> = [];
    for (const [i, { name, description, options: buildOptions }] of BUILDS.entries()) {
      const outdir = join(work, `build-${i}`);
      await build({
        ...buildOptions(),
        sourcemap: false,
        entryPoints: { webhook: join(root, 'handlers/webhook.ts') },
        outdir,
        outExtension: { '.js': '.mjs' },
      });
      const path = join(outdir, 'webhook.mjs');
      builds.push({ name, description, bundleBytes: (await stat(path)).size });
      bundles.push({ name, path });
    }

    const imports = [
      await compareImports(node24, bundles, work, options.importRounds),
      await compareImports(process.execPath, bundles, work, options.importRounds),
    ];

    // First update: the shipped builds on Node 24, a bare handler, and PTB's start and load.
    const users = options.users;
    const population = context.population(users);
    const path = await context.snapshot(users, 'single-file', `coldstart-${users}`);
    const bareHandler = join(work, 'bare-handler.mjs');
    await writeFile(bareHandler, `export const handler = async () => ({ statusCode: 200, headers: {}, body: '{"ok":true}' });\n`);
    const env: Record<string, string> = {
      BOT_TOKEN,
      WEBHOOK_SECRET,
      BOT_INFO: JSON.stringify(api.botInfo),
      PERSISTENCE_URL: `s3://${context.bucket}/${path}`,
      S3_ENDPOINT: context.connection.endpoint,
      AWS_ACCESS_KEY_ID: context.connection.accessKeyId,
      AWS_SECRET_ACCESS_KEY: context.connection.secretAccessKey,
      AWS_REGION: context.connection.region,
      TELEGRAM_API_ROOT: api.apiRoot,
    };
    const ptb = await preparePtb(population, work);
    type Cell = { name: string; node?: string; first: () => Promise<{ ms: number; initMs?: number; invokeMs?: number }> };
    let updateId = 1;
    const bundleOf = (name: string) => bundles.find((bundle) => bundle.name === name)!.path;
    const lambdaCell = (name: string, node: { path: string; version: string }, bundle: string, s3Client?: 'fetch' | 'sdk'): Cell => ({
      name,
      node: node.version,
      first: async () => {
        const userId = population.users[updateId % population.users.length]![0];
        const event = webhookEvent(messageUpdate({ updateId: updateId++, userId, text: '/count' }), { secret: WEBHOOK_SECRET });
        const started = performance.now();
        const invocation = await invokeInFreshProcess(bundle, event, s3Client === undefined ? env : { ...env, S3_CLIENT: s3Client }, { node: node.path });
        const ms = performance.now() - started;
        if (invocation.result.statusCode !== 200) throw new Error(`${name} answered ${invocation.result.statusCode}: ${invocation.stderr}`);
        return { ms, initMs: invocation.initMs, invokeMs: invocation.invokeMs };
      },
    });
    const nodes = [
      { path: node24, version: imports[0]!.node },
      { path: process.execPath, version: imports[1]!.node },
    ];
    const cells: Cell[] = nodes.flatMap((node) => [
      lambdaCell('bare handler', node, bareHandler),
      lambdaCell('fetch', node, bundleOf('fetch'), 'fetch'),
      lambdaCell('sdk', node, bundleOf('sdk'), 'sdk'),
    ]);
    cells.push(lambdaCell('former', nodes[0]!, bundleOf('former'), 'sdk'));
    if (!('skipped' in ptb)) {
      cells.push({
        name: 'PTB start + load',
        first: async () => {
          const { ms } = await timedRun('python3', [ptbScript, '--cold', ptb.file], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
          return { ms };
        },
      });
    }
    const keyOf = (cell: Cell) => `${cell.name} ${cell.node ?? ''}`;
    const samples = new Map(cells.map((cell) => [keyOf(cell), { wall: [] as number[], init: [] as number[], invoke: [] as number[] }]));
    for (let round = 0; round < options.updateRounds; round++) {
      for (const cell of shuffled(cells)) {
        const { ms, initMs, invokeMs } = await cell.first();
        const sample = samples.get(keyOf(cell))!;
        sample.wall.push(ms);
        if (initMs !== undefined) sample.init.push(initMs);
        if (invokeMs !== undefined) sample.invoke.push(invokeMs);
      }
    }
    const rows = cells.map((cell): FirstUpdateRow => {
      const { wall, init, invoke } = samples.get(keyOf(cell))!;
      return {
        name: cell.name,
        ...(cell.node === undefined ? {} : { node: cell.node }),
        wallMs: summarize(wall),
        ...(init.length > 0 ? { initMs: summarize(init), invokeMs: summarize(invoke) } : {}),
      };
    });
    return {
      builds,
      imports,
      firstUpdate: { users, rows, ptb: 'skipped' in ptb ? ptb : { version: ptb.version, python: ptb.python } },
      loadAverage: { start: loadStart, end: loadavg()[0]! },
    };
  } finally {
    await api.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Stores the population as PTB's single-file pickle (the peer script, one load and two writes); the file's path, or why not. */
async function preparePtb(
  population: ReturnType<BenchContext['population']>,
  work: string,
): Promise<{ file: string; version: string; python: string } | { skipped: string }> {
  try {
    await run('python3', ['-c', 'import telegram.ext']);
  } catch (error) {
    return { skipped: `python3 with python-telegram-bot is not available (pip install python-telegram-bot): ${(error as Error).message}` };
  }
  const dir = join(work, 'ptb');
  await mkdir(dir, { recursive: true });
  const spec = {
    population: join(dir, 'population.json'),
    workdir: dir,
    loads: 1,
    touched: population.users.slice(0, 2).map(([id]) => id),
  };
  await writeFile(spec.population, JSON.stringify(population));
  await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
  const { stdout } = await run('python3', [ptbScript, join(dir, 'spec.json')], { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });
  const output = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ptbVersion: string; python: string };
  return { file: join(dir, 'single', 'bot'), version: output.ptbVersion, python: output.python };
}
