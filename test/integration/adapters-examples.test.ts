// The session examples run as a user runs them (bundled, in a fresh Node process each time), in
// their scripted mode against the test MinIO: the second run finds what the first one stored.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freshBucket } from '../support/minio.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repository, so that the bundle's external packages resolve from node_modules.
const outdir = `${root}.build/test-examples-${randomBytes(4).toString('hex')}`;

afterAll(() => rm(outdir, { recursive: true, force: true }));

async function bundle(example: string): Promise<string> {
  const outfile = `${outdir}/${example}.mjs`;
  await build({
    entryPoints: [`${root}examples/${example}.ts`],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
    outfile,
  });
  return outfile;
}

/** The chat lines (`Ada ▸ ...`, `bot ◂ ...`) of one run. */
async function chat(bundlePath: string, sessionsUrl: string): Promise<string[]> {
  const { endpoint, accessKeyId, secretAccessKey, region } = inject('minio');
  const { stdout } = await promisify(execFile)(process.execPath, [bundlePath], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      SESSIONS_URL: sessionsUrl,
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
    },
  });
  return stdout.split('\n').filter((line) => /^(Ada|bot) /.test(line));
}

describe.each(['grammy-session', 'telegraf-session'])('examples/%s.ts', (example) => {
  it('keeps the counter in the bucket from one process to the next', async () => {
    const sessionsUrl = `s3://${await freshBucket(example)}/sessions`;
    const path = await bundle(example);
    expect(await chat(path, sessionsUrl)).toEqual([
      'Ada  ▸ /count',
      'bot  ◂ count: 1',
      'Ada  ▸ /count',
      'bot  ◂ count: 2',
      'Ada  ▸ /reset',
      'bot  ◂ the counter is gone',
      'Ada  ▸ /count',
      'bot  ◂ count: 1',
    ]);
    expect((await chat(path, sessionsUrl)).filter((line) => line.startsWith('bot'))).toEqual([
      'bot  ◂ count: 2',
      'bot  ◂ count: 3',
      'bot  ◂ the counter is gone',
      'bot  ◂ count: 1',
    ]);
  });
});
