// Builds a Worker exactly as `wrangler deploy` would upload it, without uploading: `wrangler deploy
// --dry-run --outdir`. Wrangler needs Node 22.12 or later, so it runs on the Node 24 that
// infra/runtimes.mjs installs from npm. No network: proxies point at a closed loopback port, so
// any request wrangler tried would fail rather than reach out.
//
//   node infra/workers/build.mjs [CONFIG] [OUTDIR]   (default: wrangler.jsonc, .build/worker)
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureRuntime } from '../runtimes.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs `wrangler deploy --dry-run` for `config` and returns the bundle's path and what wrangler
 * printed (its "Total Upload: ... / gzip: ..." line among it); esbuild's metafile is
 * `OUTDIR/bundle-meta.json`. `tsconfig`: one other than the project's (the tests' leads the
 * package's name to the packed tarball instead of src/).
 *
 * @example
 * const { script, output } = await buildWorker('wrangler.jsonc', '.build/worker');
 */
export async function buildWorker(config, outdir, { tsconfig } = {}) {
  const node = await ensureRuntime('node24');
  const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const closed = 'http://127.0.0.1:9';
  const { stdout, stderr } = await promisify(execFile)(
    node,
    [
      wrangler,
      'deploy',
      '--dry-run',
      '--config',
      resolve(root, config),
      '--outdir',
      resolve(root, outdir),
      // esbuild's inputs, beside the bundle (bundle-meta.json)
      '--metafile',
      ...(tsconfig === undefined ? [] : ['--tsconfig', resolve(root, tsconfig)]),
    ],
    {
      cwd: root,
      env: {
        PATH: `${dirname(node)}:${process.env.PATH}`,
        HOME: process.env.HOME,
        WRANGLER_SEND_METRICS: 'false',
        HTTP_PROXY: closed,
        HTTPS_PROXY: closed,
        CI: 'true',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const output = stdout + stderr;
  const script = (await readdir(resolve(root, outdir))).find((name) => name.endsWith('.js'));
  if (script === undefined) throw new Error(`wrangler wrote no bundle into ${outdir}:\n${output}`);
  return { script: resolve(root, outdir, script), output };
}

/** Wrangler's "Total Upload: 363.62 KiB / gzip: 79.93 KiB" as numbers of KiB. */
export function uploadSize(output) {
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  if (match === null) throw new Error(`wrangler printed no upload size:\n${output}`);
  return { kib: Number(match[1]), gzipKib: Number(match[2]) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [config = 'wrangler.jsonc', outdir = '.build/worker'] = process.argv.slice(2);
  const { script, output } = await buildWorker(config, outdir);
  const { kib, gzipKib } = uploadSize(output);
  console.log(`${script}: ${kib} KiB, ${gzipKib} KiB gzipped`);
}
