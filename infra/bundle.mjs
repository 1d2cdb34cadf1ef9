// Bundles the Lambda handler with esbuild: one ESM file for nodejs20.x to nodejs24.x (target node20,
// the engines floor), every dependency inside
// (the runtime's own AWS SDK is not relied on, so the pinned versions are the ones that run).
// `serverless package` uses the same options through serverless-esbuild; the end-to-end tests and
// the demo use this script directly.
//
// Two builds, by the S3 client the sample bot stores through (`S3_CLIENT`, handlers/setup.ts):
//   fetch (default)  the fetch store (its own SigV4; the handler sends through node:http): the AWS SDK is left out of the
//                    bundle, 0.22 MB instead of 0.82 MB, and its import a third of the SDK build's
//   sdk              AWS SDK v3 (multipart uploads of snapshots from 16 MiB, the SDK's credential chain)
//
//   node infra/bundle.mjs [OUTDIR] [fetch|sdk]   -> OUTDIR/webhook.mjs (default .build/, fetch)
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The S3 clients the sample bot can store through; the first is the default. */
export const S3_CLIENTS = ['fetch', 'sdk'];

/** Stands in for the AWS SDK's packages in a bundle on the fetch store (see buildOptionsFor). */
const NO_AWS_SDK = join(root, 'infra/no-aws-sdk.mjs');

/**
 * grammY's own build for platforms with `fetch` (Deno, browsers, Workers), instead of its Node build.
 * The Node build requires node-fetch 2 with whatwg-url and tr46's Unicode tables (a quarter of the
 * SDK bundle), abort-controller, and http and https for keep-alive agents that only node-fetch
 * reads. Node 20 and later have `fetch` (undici, which keeps connections alive itself) and
 * `AbortController`. What the web build lacks: `InputFile` from a local path or a Node stream (the
 * sample bot sends text only). A path, as esbuild resolves an alias to a package from the working
 * directory.
 */
export const GRAMMY_WEB = createRequire(import.meta.url).resolve('grammy/web');

/**
 * cbor-x without its Node entry, which tries to require the optional native cbor-extract at import:
 * the Lambda bundle leaves cbor-extract out (external, never installed into the zip), so on every
 * cold start that was a failed module resolution. The same encoder and decoder, in JavaScript.
 */
const CBOR_X_JS = join(dirname(createRequire(import.meta.url).resolve('cbor-x/package.json')), 'index.js');

/**
 * esbuild options shared by every bundle of the sample bot: the base of the Lambda builds
 * (buildOptionsFor), and as they are for the Cloud Function, the test fixtures and the Bun and Deno
 * bundles of the bench.
 */
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

/**
 * The Lambda builds: grammY's web build, and so no keepNames (without node-fetch nothing in the
 * bundle reads the name of a class or function it bundles: cbor-x and the library compare the names
 * of built-in classes only, and every error class sets its `name`). On the SDK build these cut the
 * import by a fifth of its CPU time, and the whole first update with it. (The handler gives grammY
 * its `node:http` transport, handlers/node-fetch.ts, so no Bot API call starts undici: bench/README.md,
 * Memory.)
 */
const lambdaBuildOptions = {
  ...handlerBuildOptions,
  keepNames: false,
  alias: { grammy: GRAMMY_WEB, '#cbor-x': CBOR_X_JS, 'cbor-x': CBOR_X_JS },
  // A require() made on its first call: importing node:module at the top loads it and its source
  // maps at every cold start, for the few require() calls only the SDK build makes (none on fetch).
  banner: { js: "const require = (id) => process.getBuiltinModule('node:module').createRequire(import.meta.url)(id);" },
};

/**
 * The esbuild options of a Lambda bundle whose sample bot stores through `s3Client`. On the fetch
 * store the AWS SDK's packages are aliased to infra/no-aws-sdk.mjs: `S3Persistence` imports the SDK
 * store for its default client, which this bot never builds (it gives a store), and any use of the
 * stand-in throws a message that names `S3_CLIENT`.
 */
export function buildOptionsFor(s3Client = S3_CLIENTS[0]) {
  if (!S3_CLIENTS.includes(s3Client)) throw new Error(`unknown S3 client ${JSON.stringify(s3Client)}: one of ${S3_CLIENTS.join(', ')}`);
  if (s3Client === 'sdk') return lambdaBuildOptions;
  return { ...lambdaBuildOptions, alias: { ...lambdaBuildOptions.alias, '@aws-sdk/client-s3': NO_AWS_SDK, '@aws-sdk/lib-storage': NO_AWS_SDK } };
}

/**
 * Bundles handlers/webhook.ts for `s3Client` into OUTDIR/webhook.mjs (default .build/); resolves with
 * that path. `plugins`: esbuild plugins of the tests' (which bundle the library from the packed
 * tarball instead of src/).
 */
export async function bundleHandler(outdir = join(root, '.build'), s3Client = S3_CLIENTS[0], { plugins = [] } = {}) {
  await build({
    ...buildOptionsFor(s3Client),
    plugins,
    entryPoints: { webhook: join(root, 'handlers/webhook.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
  });
  return join(outdir, 'webhook.mjs');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = await bundleHandler(process.argv[2], process.argv[3]);
  console.log(file);
}
