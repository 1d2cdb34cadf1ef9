// Builds what the end-to-end tests run, once per run: the Lambda handler as deployed
// (infra/bundle.mjs, into a temporary directory; on the fetch store, and with the AWS SDK), with the
// library from the packed tarball instead of src/ (test/support/packed.ts), and the long-polling bot with the very command
// `npm run bot:polling` uses. MinIO comes from test/global-setup.ts, listed before this file.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { bundleHandler } from '../../infra/bundle.mjs';
import { onThePackage, packedProject } from '../support/packed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The bundled webhook handler (`webhook.mjs`), as deployed by default: on the fetch store, no AWS SDK. */
    handlerBundle: string;
    /** The same handler bundled with the AWS SDK (`s3Client` sdk). */
    handlerBundleSdk: string;
    /** The bundled long-polling bot (`polling.mjs`). */
    pollingBundle: string;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const handlerDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-e2e-'));
  // The polling bundle imports its packages from node_modules, so it must sit inside the repository.
  await mkdir(join(root, '.build'), { recursive: true });
  const pollingDir = await mkdtemp(join(root, '.build', 'e2e-'));
  const pollingBundle = join(pollingDir, 'polling.mjs');
  const packed = await packedProject();
  const removeBoth = async () => {
    await rm(handlerDir, { recursive: true, force: true });
    await rm(pollingDir, { recursive: true, force: true });
    await packed.remove();
  };
  try {
    await packed.link('grammy');
    const onTarball = { plugins: [onThePackage(packed, { bundle: true })] };
    const [handlerBundle, handlerBundleSdk] = await Promise.all([
      bundleHandler(handlerDir, 'fetch', onTarball),
      bundleHandler(join(handlerDir, 'sdk'), 'sdk', onTarball),
      promisify(execFile)('npm', ['run', '--silent', 'build:polling', '--', `--outfile=${pollingBundle}`], { cwd: root }),
    ]);
    project.provide('handlerBundle', handlerBundle);
    project.provide('handlerBundleSdk', handlerBundleSdk);
    project.provide('pollingBundle', pollingBundle);
  } catch (error) {
    await removeBoth();
    throw error;
  }
  return removeBoth;
}
