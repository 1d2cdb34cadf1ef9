#!/usr/bin/env node
// The long reliability run, not part of CI: the tests of test/reliability/ at their soak sizes
// (RELIABILITY_PROFILE=soak: 8 writers x 500 updates through faults, 400 SIGKILL trials, 16
// processes x 500 updates, 20000 fuzz runs), round after round with a fresh seed each, until
// --rounds rounds ran or --minutes passed. Bounded both ways: no round starts after the time is up,
// and the tests of a round stop starting new work when the time left is spent.
//
//   npm run soak                              one round, at most 60 minutes
//   npm run soak -- --rounds 5 --minutes 120
//   npm run soak -- --seed 1234               one round with that seed (to reproduce a failure)
//
// Prints every test's figures as it goes, then a summary; the whole output is kept in .build/soak/.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(root, 'node_modules/vitest/vitest.mjs');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '60' },
    seed: { type: 'string' },
  },
});
const rounds = values.seed === undefined ? Number(values.rounds) : 1;
const budgetMs = Number(values.minutes) * 60_000;
if (!(rounds >= 1) || !(budgetMs > 0)) {
  console.error('usage: npm run soak -- [--rounds N] [--minutes M] [--seed S]');
  process.exit(2);
}

const ANSI = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');
const started = Date.now();
const results = [];
const log = [];

/** Runs the reliability project once with `seed`; resolves with its exit code and its `[reliability]` lines. */
function round(seed, deadlineMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, 'run', '--project', 'reliability'], {
      cwd: root,
      env: { ...process.env, RELIABILITY_PROFILE: 'soak', RELIABILITY_SEED: String(seed), RELIABILITY_DEADLINE_MS: String(deadlineMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const figures = [];
    const collect = (stream, into) =>
      stream.setEncoding('utf8').on('data', (chunk) => {
        into.write(chunk);
        log.push(chunk.replace(ANSI, ''));
        for (const line of chunk.replace(ANSI, '').split('\n')) {
          if (line.startsWith('[reliability]') && line.includes('): ')) figures.push(line);
        }
      });
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code, figures }));
  });
}

for (let n = 1; n <= rounds; n++) {
  const left = budgetMs - (Date.now() - started);
  if (left <= 0) break;
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed);
  console.log(`\n=== soak round ${n}/${rounds}, seed ${seed}, ${Math.round(left / 60_000)} min left ===\n`);
  results.push({ round: n, seed, ...(await round(seed, left)) });
}

const summary = [
  `soak: ${results.length} round(s) in ${Math.round((Date.now() - started) / 60_000)} min`,
  ...results.flatMap(({ round: n, seed, code, figures }) => [
    `round ${n}, seed ${seed}: ${code === 0 ? 'passed' : `FAILED (exit ${code}); reproduce: npm run soak -- --seed ${seed}`}`,
    ...figures.map((line) => `  ${line}`),
  ]),
].join('\n');
console.log(`\n${summary}`);
const dir = join(root, '.build', 'soak');
await mkdir(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
await writeFile(file, `${log.join('')}\n${summary}\n`);
console.log(`\nfull output: ${file}`);
process.exitCode = results.length > 0 && results.every((result) => result.code === 0) ? 0 : 1;
