// `npm run bench`: builds the benchmark (TypeScript, bundled by esbuild as the demo is) and runs it.
//
//   npm run bench                              every scenario; writes bench/results.json, RESULTS.md, chart.svg
//   npm run bench -- --only=codec,burst        some scenarios; the others keep their last results
//   npm run bench:smoke                        one small scenario, a quick check that the suite runs
//   npm run bench -- --profile                 CPU profiles of the cold start, codec and write path, summarized
//   npm run bench -- --report                  RESULTS.md and chart.svg again from results.json, nothing run
//   npm run bench -- --runtimes                the platform table's bundle sizes and cold starts (bench/runtimes.ts)
//
// Two rules keep the bundle behaving like the source tree: a module's `import.meta.url` is its source
// file's URL (infra/minio.ts finds minio.sh beside itself), and the repository's plain JavaScript
// modules (infra/*.mjs) are imported as they are, not bundled.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// On Node 20 the AWS SDK rightly warns that its 2027 releases need Node 22; in measurements it is noise, here and in the children.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const outdir = join(root, '.build', 'bench');

/** @type {import('esbuild').Plugin} */
const sourceTreeLocations = {
  name: 'source-tree-locations',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.{1,2}\/.*\.mjs$/ }, (args) => ({
      path: pathToFileURL(resolve(dirname(args.importer), args.path)).href,
      external: true,
    }));
    pluginBuild.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: { main: 'bench/main.ts', child: 'bench/child.ts', 'load-process': 'bench/load-process.ts', runtimes: 'bench/runtimes.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  outdir,
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceTreeLocations],
});

if (process.argv.includes('--runtimes')) {
  const { main } = await import(pathToFileURL(join(outdir, 'runtimes.mjs')).href);
  await main();
} else {
  const { main } = await import(pathToFileURL(join(outdir, 'main.mjs')).href);
  await main({ argv: process.argv.slice(2), childScript: join(outdir, 'child.mjs') });
}
