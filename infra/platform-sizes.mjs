// What Netlify and Vercel would upload for the examples: zip-it-and-ship-it's zip of
// examples/netlify's function and the files @vercel/node's build traces for examples/vercel's, each
// in a project where the packed tarball, grammy and @aws-sdk/client-s3 are installed from npm as a
// user installs them. Needs Node >= 22.12 and the registry; the figures go into the README's
// Platforms table.
//
//   node infra/platform-sizes.mjs   (on Node 24: "$(node infra/runtimes.mjs node24 | cut -d' ' -f3)" infra/platform-sizes.mjs)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureRuntime } from './runtimes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
const dir = mkdtempSync(join(tmpdir(), 'telegram-s3-persistence-sizes-'));
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).replace(/^[^[]*/, ''));
  const dependencies = { 'telegram-s3-persistence': `file:./${packed.filename}` };
  for (const name of ['grammy', '@aws-sdk/client-s3']) dependencies[name] = lock[`node_modules/${name}`].version;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  cpSync(join(root, 'examples/netlify'), dir, { recursive: true });
  cpSync(join(root, 'examples/vercel'), dir, { recursive: true });

  const zisi = await import(pathToFileURL(join(dirname(await ensureRuntime('netlifyDev')), '../../zip-it-and-ship-it/dist/main.js')).href);
  const zipped = await zisi.zipFunction(join(dir, 'netlify/functions/webhook.mts'), join(dir, 'out'), {
    archiveFormat: 'zip',
    basePath: dir,
    featureFlags: { zisi_functions_api_v2: true, zisi_pure_esm: true, zisi_pure_esm_mjs: true },
  });
  const unzipped = join(dir, 'out/unzipped');
  execFileSync('unzip', ['-q', zipped.path, '-d', unzipped]);
  const files = (path) => readdirSync(path, { recursive: true }).map((name) => join(path, name)).filter((name) => statSync(name).isFile());
  const netlifyFiles = files(unzipped);
  const netlifyOwn = netlifyFiles.filter((name) => /___netlify-(bootstrap|telemetry)/.test(name));
  const sum = (names) => names.reduce((total, name) => total + statSync(name).size, 0);
  console.log(
    `netlify: zip ${Math.round(statSync(zipped.path).size / 1024)} KiB, ${netlifyFiles.length} files, ${Math.round(sum(netlifyFiles) / 1024)} KiB unpacked ` +
      `(${Math.round(sum(netlifyOwn) / 1024)} KiB of it Netlify's bootstrap and telemetry; bundler ${zipped.bundler})`,
  );

  const require = createRequire(await ensureRuntime('vercelNode'));
  const { build } = require('@vercel/node');
  const { glob } = require(require.resolve('@vercel/build-utils', { paths: [dirname(require.resolve('@vercel/node'))] }));
  const sources = await glob('**', { cwd: dir, ignore: ['node_modules/**', 'out/**', '*.tgz'] });
  const { output } = await build({ files: sources, entrypoint: 'api/webhook.ts', workPath: dir, repoRootPath: dir, config: {}, meta: { skipDownload: true } });
  // Traced files are references to the project's (fsPath); generated ones are blobs (data).
  const sizes = Object.values(output.files).map((file) => (file.fsPath ? statSync(file.fsPath).size : (file.data?.length ?? 0)));
  console.log(`vercel: ${sizes.length} files, ${Math.round(sizes.reduce((a, b) => a + b, 0) / 1024)} KiB (${output.runtime}, not bundled)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
