// Bundles the Lambda handler with esbuild: one ESM file for nodejs20.x to nodejs24.x (target node20,
// the engines floor), every dependency inside
// (the runtime's own AWS SDK is not relied on, so the pinned versions are the ones that run).
// `serverless package` uses the same options through serverless-esbuild; the end-to-end tests and
// the demo use this script directly.
//
//   node infra/bundle.mjs [OUTDIR]   -> OUTDIR/webhook.mjs (default .build/)
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

/** esbuild options shared by every bundle of the handler. */
export const handlerBuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  // Keep class and function names: node-fetch (grammY's HTTP client on Node) accepts an AbortSignal
  // only if its constructor is named exactly 'AbortSignal', which esbuild otherwise renames when
  // bundling, so that every Bot API call failed with "Network request for '<method>' failed!".
  keepNames: true,
  sourcemap: 'linked',
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // cbor-x's optional native extension is not bundled; cbor-x runs without it.
  external: ['cbor-extract'],
  logLevel: 'warning',
};

/** `plugins`: esbuild plugins of the tests' (which bundle the library from the packed tarball instead of src/). */
export async function bundleHandler(outdir = join(root, '.build'), { plugins = [] } = {}) {
  await build({
    ...handlerBuildOptions,
    plugins,
    entryPoints: { webhook: join(root, 'handlers/webhook.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
  });
  return join(outdir, 'webhook.mjs');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = await bundleHandler(process.argv[2]);
  console.log(file);
}
