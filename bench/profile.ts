/**
 * `npm run bench -- --profile`: CPU profiles (`node --cpu-prof`) of the library's cold start, codec
 * and write path in fresh processes, summarized: where the time goes, by function. The profiles stay
 * in .build/bench/profiles/ for Chrome DevTools or speedscope; the summary is printed and written to
 * .build/bench/profiles/summary.md.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChild } from './lib/child-process.js';
import type { BenchContext } from './lib/context.js';
import { summarizeProfile } from './lib/cpu-profile.js';
import type { CodecTask } from './scenarios/codec.js';
import type { ColdStartTask } from './scenarios/cold-start.js';
import type { WriteTask } from './scenarios/write-amplification.js';

/** The library's functions (and cbor-x's entry points) whose inclusive time the summary lists. */
const FUNCTIONS = [
  'decodeSnapshot', 'fromWire', 'fromWireObject', 'invalidSection', 'encodeSnapshot', 'toWire', 'copyOut', 'copyIn', 'deepEqual',
  'applyChanges', 'readIdMap', 'getUserData', 'getChatData', 'getConversations', 'refreshUserData', 'updateUserData', 'writeRound', 'writeLazySection',
  'transformToByteArray', 'decode', 'encode', 'checkString', 'rebase', 'view', 'set', 'entry', 'put', 'get', 'send',
  // The one-pass decoder (direct-decode.ts) and what hands its values out.
  'decodeEnvelopeDirect', 'decodeEntryDirect', 'readLazySection', 'readEntryInPlace', 'readItem', 'readObject', 'readText', 'readIdSection', 'plainFreshValue',
];

const PURE_JS = { CBOR_NATIVE_ACCELERATION_DISABLED: 'true' };

export async function profile(context: BenchContext, childScript: string, outdir: string): Promise<string> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const base = { connection: context.connection, bucket: context.bucket };
  const jobs: Array<{ name: string; task: ColdStartTask | CodecTask | WriteTask; env?: Record<string, string> }> = [];
  for (const users of [10_000, 100_000]) {
    const key = await context.snapshot(users);
    jobs.push({ name: `cold-start-${users}-cbor-extract`, task: { ...base, task: 'cold-start', variant: 'library', key, secondLoad: false } });
    jobs.push({ name: `cold-start-${users}-pure-js`, task: { ...base, task: 'cold-start', variant: 'library', key, secondLoad: false }, env: PURE_JS });
  }
  jobs.push({ name: 'codec-10000-pure-js', task: { task: 'codec', users: 10_000, runs: 15 }, env: PURE_JS });
  const writeKey = await context.snapshot(100_000, 'single-file', 'profile-write');
  const userIds = context.population(100_000).users.slice(0, 6).map(([id]) => id);
  jobs.push({ name: 'write-100000-pure-js', task: { ...base, task: 'write', key: writeKey, userIds }, env: PURE_JS });
  // The fixed cost of a write (issue 16): a 1k-user snapshot, many writes, so that they outweigh the process's start.
  const smallKey = await context.snapshot(1_000, 'single-file', 'profile-write-1k');
  const smallIds = context.population(1_000).users.slice(0, 200).map(([id]) => id);
  jobs.push({ name: 'write-1000-pure-js', task: { ...base, task: 'write', key: smallKey, userIds: smallIds }, env: PURE_JS });

  const report: string[] = ['# CPU profiles', ''];
  for (const job of jobs) {
    const dir = join(outdir, job.name);
    await runChild(childScript, job.task, { env: job.env, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
    const [file] = await readdir(dir);
    const summary = await summarizeProfile(join(dir, file!), FUNCTIONS);
    report.push(
      `## ${job.name} (${summary.totalMs} ms sampled)`,
      '',
      'inclusive (the function and what it called):',
      ...summary.inclusive.map((entry) => `- ${entry.ms} ms  ${entry.function}`),
      '',
      'self:',
      ...summary.self.map((entry) => `- ${entry.ms} ms  ${entry.function}`),
      '',
    );
  }
  const text = report.join('\n');
  await writeFile(join(outdir, 'summary.md'), text);
  return text;
}
