// The JavaScript runtimes the tests run the library and the sample bot in, besides the machine's
// Node: each is an npm package (the Node binary, Bun, Deno, Netlify's and Vercel's local runners), installed at a pinned version into
// ~/.cache/telegram-s3-persistence/runtimes/ the first time a test or `.ci/run` asks for it, and reused.
// Not devDependencies: `node@24` would put its `node` into node_modules/.bin, where every npm script
// would run it instead of the machine's Node, and a plain `npm ci` would download 380 MB it rarely needs.
//
//   node infra/runtimes.mjs [NAME...]   installs (default: all) and prints "NAME VERSION PATH (N s)"
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The runtimes, by the name the tests use: npm package, exact version, and the binary's path inside the install. */
export const RUNTIMES = {
  // Lambda's nodejs24.x, the default runtime of serverless.yml.
  node24: { package: 'node', version: '24.21.0', bin: 'node_modules/node/bin/node' },
  bun: { package: 'bun', version: '1.4.4', bin: 'node_modules/bun/bin/bun.exe' },
  deno: { package: 'deno', version: '2.9.6', bin: 'node_modules/deno/deno' },
  // Netlify's local emulation of its request chain (functions built by zip-it-and-ship-it, as on a
  // deploy, each invocation in a new worker thread), run by infra/netlify/serve.mjs on Node 24
  // (it needs Node >= 22.12). Not a binary: the path is its module entry.
  netlifyDev: { package: '@netlify/dev', version: '5.1.3', bin: 'node_modules/@netlify/dev/dist/main.js' },
  // Vercel's Node.js builder, the version vercel@58.10.0 depends on: its startDevServer is the server
  // `vercel dev` runs each Node function in, used by infra/vercel/serve.mjs. Also a module entry.
  vercelNode: { package: '@vercel/node', version: '5.9.9', bin: 'node_modules/@vercel/node/dist/index.js' },
};

/** The install's directory name: `@scope/name` becomes `@scope+name`, one level. */
const installName = (runtime) => `${runtime.package.replace('/', '+')}@${runtime.version}`;

const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'telegram-s3-persistence', 'runtimes');

/**
 * The path of runtime `name`'s binary, installing it from npm first when it is not cached.
 * Concurrent callers each install into a directory of their own and the first rename wins, so a
 * half-written install is never used.
 *
 * @example
 * const bun = await ensureRuntime('bun');
 * execFileSync(bun, ['--version']); // '1.4.4'
 */
export async function ensureRuntime(name) {
  const runtime = RUNTIMES[name];
  if (runtime === undefined) throw new Error(`unknown runtime ${name}: one of ${Object.keys(RUNTIMES).join(', ')}`);
  const dir = join(cacheDir, installName(runtime));
  const bin = join(dir, runtime.bin);
  if (existsSync(bin)) return bin;
  await mkdir(cacheDir, { recursive: true });
  const staging = await mkdtemp(join(cacheDir, `.${installName(runtime)}-`));
  try {
    await writeFile(join(staging, 'package.json'), JSON.stringify({ private: true }));
    const spec = `${runtime.package}@${runtime.version}`;
    // In the staging directory itself (not --prefix): npm then installs there, whatever package.json is above it.
    await promisify(execFile)('npm', ['install', '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', spec], {
      cwd: staging,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error) => {
      throw new Error(`npm install ${spec} failed (the registry must be reachable): ${error.stderr || error.message}`);
    });
    if (!existsSync(join(staging, runtime.bin))) throw new Error(`npm install ${spec} left no ${runtime.bin}`);
    await rename(staging, dir).catch((error) => {
      if (!existsSync(bin)) throw error; // another process installed it first: use that one
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(RUNTIMES);
  for (const name of names) {
    const started = performance.now();
    const bin = await ensureRuntime(name);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${name} ${RUNTIMES[name].version} ${bin} (${seconds} s)`);
  }
}
