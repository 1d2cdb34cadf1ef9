/**
 * Cloudflare Workers: the sample bot's Worker with each S3 client, built by `wrangler deploy
 * --dry-run` (bundle size as wrangler reports the upload), then served by workerd, one new process
 * per run (a new isolate): time to listen (the runtime starts and compiles the bundle) and the
 * first request (`/count`: setup, load a snapshot of 1k users from MinIO, reply, write). A bare
 * Worker (a Response, no imports) is the runtime's own cold start, the denominator of the ratios.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker, uploadSize } from '../../infra/workers/build.mjs';
import { startWorkerd, WORKERD_VERSION } from '../../test/support/workerd.js';
import { coldInstances, sampleBotSettings, type ColdInstances } from '../lib/cold-instances.js';
import type { BenchContext } from '../lib/context.js';

export interface WorkersOptions {
  /** New isolates per variant. */
  runs: number;
  /** Users in the stored snapshot the first request loads. */
  users: number;
}

export interface WorkerVariant extends ColdInstances {
  name: 'bare' | 'fetch store' | 'AWS SDK v3';
  /** Wrangler's "Total Upload", KiB; none for the bare Worker, which is not built. */
  uploadKib: number | null;
  uploadGzipKib: number | null;
}

export interface WorkersResult {
  workerd: string;
  users: number;
  variants: WorkerVariant[];
}

export const WORKERS_DEFAULTS: WorkersOptions = { runs: 20, users: 1_000 };

const COMPATIBILITY = { compatibilityDate: '2026-11-01', compatibilityFlags: [] };

export async function workers(context: BenchContext, options: WorkersOptions = WORKERS_DEFAULTS): Promise<WorkersResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-workers-'));
  const settings = await sampleBotSettings(context, options.users, 'workers');
  try {
    const bareScript = join(workDir, 'bare', 'worker.js');
    await mkdir(join(workDir, 'bare'));
    await writeFile(bareScript, "export default { fetch: () => new Response('ok') };\n");
    const built = {
      'fetch store': await buildWorker('wrangler.jsonc', join(workDir, 'fetch')),
      'AWS SDK v3': await buildWorker('bench/workers/wrangler-sdk.jsonc', join(workDir, 'sdk')),
    };
    const serve = (script: string) => () => startWorkerd({ script, bindings: settings.env, ...COMPATIBILITY });
    const cold = await coldInstances(
      { bare: serve(bareScript), 'fetch store': serve(built['fetch store'].script), 'AWS SDK v3': serve(built['AWS SDK v3'].script) },
      { runs: options.runs, userIds: settings.userIds, secret: settings.secret },
    );
    const variants = (['bare', 'fetch store', 'AWS SDK v3'] as const).map((name): WorkerVariant => {
      const size = name === 'bare' ? null : uploadSize(built[name].output);
      return { name, uploadKib: size?.kib ?? null, uploadGzipKib: size?.gzipKib ?? null, ...cold[name] };
    });
    return { workerd: WORKERD_VERSION, users: options.users, variants };
  } finally {
    await settings.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
