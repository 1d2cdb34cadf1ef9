#!/usr/bin/env node
// The soak of the deterministic simulation (test/sim): many more schedules than the normal suite's
// 100,000, spread over worker processes, each a contiguous range of seeds. Not part of CI.
//
//   npm run simulate -- --schedules 10000000            from seed 1, one worker per core
//   npm run simulate -- --from 5000001 --schedules 1000 --workers 1
//   npm run simulate -- --seed 4566                     one schedule, every step printed
//
// Prints progress, every failing schedule with its seed, and a summary (schedules, faults injected by
// kind, crashes, deliveries, violations, schedules per second) that docs/RELIABILITY.md quotes. The
// summary is also written to .build/simulate/<first seed>-<last seed>.json, so that runs over
// separate seed ranges add up.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '1' },
    schedules: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: String(availableParallelism()) },
    seed: { type: 'string' },
    worker: { type: 'string' }, // internal: "first:count" of a worker process
  },
});

const bundle = join(root, '.build/simulate/simulation.mjs');

if (values.worker !== undefined) {
  // A worker: runs its range in chunks, reporting each chunk's summary as one JSON line.
  const { runSchedules } = await import(bundle);
  const [first, count] = values.worker.split(':').map(Number);
  const CHUNK = 10_000;
  for (let start = first; start < first + count; start += CHUNK) {
    const summary = await runSchedules(start, Math.min(CHUNK, first + count - start));
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
  process.exit(0);
}

await mkdir(join(root, '.build/simulate'), { recursive: true });
await build({
  entryPoints: [join(root, 'test/sim/entry.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: bundle,
  logLevel: 'warning',
});

if (values.seed !== undefined) {
  process.env.SIM_TRACE = values.seed;
  const { simulate, describe } = await import(bundle);
  const result = await simulate(Number(values.seed));
  console.log(result.violations.length === 0 ? `seed ${values.seed}: no violation` : describe(result));
  console.log('faults injected:', JSON.stringify(result.faults));
  process.exit(result.violations.length === 0 ? 0 : 1);
}

const from = Number(values.from);
const schedules = Number(values.schedules);
const workers = Math.max(1, Math.min(Number(values.workers), schedules));
if (!(from >= 0) || !(schedules >= 1)) {
  console.error('usage: npm run simulate -- [--from SEED] [--schedules N] [--workers W] | --seed SEED');
  process.exit(2);
}

const total = { schedules: 0, faults: {}, crashes: 0, deliveries: 0, steps: 0, failures: [] };
const started = Date.now();
let lastReport = 0;
const perWorker = Math.ceil(schedules / workers);
const children = [];
// Stopped early (SIGINT, SIGTERM): the summary covers the chunks the workers finished.
let stopped = false;
const stop = () => {
  stopped = true;
  for (const child of children) child.kill();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await Promise.all(
  Array.from({ length: workers }, (_, index) => {
    const first = from + index * perWorker;
    const count = Math.min(perWorker, from + schedules - first);
    if (count <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker', `${first}:${count}`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let buffered = '';
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
          const summary = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          total.schedules += summary.schedules;
          for (const [kind, count] of Object.entries(summary.faults)) total.faults[kind] = (total.faults[kind] ?? 0) + count;
          total.crashes += summary.crashes;
          total.deliveries += summary.deliveries;
          total.steps += summary.steps;
          for (const failure of summary.failures) {
            total.failures.push(failure);
            console.log(`FAIL ${failure}`);
          }
          if (Date.now() - lastReport > 30_000) {
            lastReport = Date.now();
            const rate = total.schedules / ((Date.now() - started) / 1000);
            console.log(`${total.schedules} of ${schedules} schedules, ${total.failures.length} failing, ${rate.toFixed(0)}/s`);
          }
        }
      });
      child.on('exit', (code) => (code === 0 || stopped ? resolve() : reject(new Error(`worker ${first}:${count} exited with ${code}`))));
    });
  }),
);

const seconds = (Date.now() - started) / 1000;
const faults = Object.values(total.faults).reduce((sum, count) => sum + count, 0);
const report = {
  seeds: `${from}..${from + schedules - 1}${stopped ? ' (stopped early: the schedules below ran)' : ''}`,
  schedules: total.schedules,
  seconds: Math.round(seconds),
  schedulesPerSecond: Math.round(total.schedules / seconds),
  faultsInjected: faults,
  faultsByKind: total.faults,
  crashes: total.crashes,
  deliveries: total.deliveries,
  steps: total.steps,
  violations: total.failures.length,
  failures: total.failures,
};
await writeFile(join(root, `.build/simulate/${from}-${from + schedules - 1}.json`), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify({ ...report, failures: report.failures.slice(0, 20) }, null, 2));
process.exit(total.failures.length === 0 ? 0 : 1);
