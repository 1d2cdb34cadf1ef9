// Builds the sample bot's Google Cloud Function: handlers/gcf.ts bundled as the Lambda handler is
// (infra/bundle.mjs), with the package.json the Node.js runtime reads, into a directory that
// `gcloud functions deploy --source` uploads and `functions-framework --source` serves locally.
//
//   node infra/gcf/build.mjs [OUTDIR]   -> OUTDIR/index.mjs, OUTDIR/package.json (default .build/gcf)
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handlerBuildOptions } from '../bundle.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles the function into `outdir`; resolves with the directory. `plugins`: esbuild plugins of the
 * tests' (which bundle the library from the packed tarball instead of src/).
 */
export async function buildFunction(outdir = join(root, '.build', 'gcf'), { plugins = [] } = {}) {
  await build({ ...handlerBuildOptions, entryPoints: { index: join(root, 'handlers/gcf.ts') }, outdir, outExtension: { '.js': '.mjs' }, plugins });
  const { devDependencies } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const manifest = {
    name: 'telegram-s3-persistence-bot',
    private: true,
    type: 'module',
    main: 'index.mjs',
    // Everything else is in the bundle; the runtime needs the framework that serves it.
    dependencies: { '@google-cloud/functions-framework': devDependencies['@google-cloud/functions-framework'] },
  };
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await buildFunction(process.argv[2]));
