// Builds what the reliability tests run in child processes, once per run: the writer fixtures,
// bundled with the library exactly as the Lambda handler is (infra/bundle.mjs's options), and the
// handler itself for the webhook tests. MinIO comes from test/global-setup.ts, listed before this file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { bundleHandler, handlerBuildOptions } from '../../infra/bundle.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The bundled writer processes of the reliability tests. */
    reliabilityFixtures: { crashWriter: string; contender: string; counter: string };
  }
}

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outdir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-reliability-'));
  const remove = () => rm(outdir, { recursive: true, force: true });
  try {
    const [handlerBundle] = await Promise.all([
      bundleHandler(outdir),
      build({
        ...handlerBuildOptions,
        sourcemap: false,
        entryPoints: {
          'crash-writer': join(fixtures, 'crash-writer.ts'),
          contender: join(fixtures, 'contender.ts'),
          counter: join(fixtures, 'counter.ts'),
        },
        outdir,
        outExtension: { '.js': '.mjs' },
      }),
    ]);
    project.provide('handlerBundle', handlerBundle);
    project.provide('reliabilityFixtures', {
      crashWriter: join(outdir, 'crash-writer.mjs'),
      contender: join(outdir, 'contender.mjs'),
      counter: join(outdir, 'counter.mjs'),
    });
  } catch (error) {
    await remove();
    throw error;
  }
  return remove;
}
