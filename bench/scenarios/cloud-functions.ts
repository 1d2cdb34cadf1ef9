/**
 * Google Cloud Functions: the sample bot's function (handlers/gcf.ts, built by infra/gcf/build.mjs)
 * served by functions-framework on Node 24 (the nodejs24 runtime), one new Node process per run (a new instance): time to listen
 * (Node starts, the framework loads the bundle) and the first request (`/count` on a snapshot of 1k
 * users in MinIO). A bare function (one `res.send`) on the same framework is the denominator.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunction } from '../../infra/gcf/build.mjs';
import { ensureRuntime, RUNTIMES } from '../../infra/runtimes.mjs';
import { startFunction } from '../../test/support/functions-framework.js';
import { coldInstances, sampleBotSettings, type ColdInstances } from '../lib/cold-instances.js';
import type { BenchContext } from '../lib/context.js';

export interface CloudFunctionsOptions {
  runs: number;
  users: number;
}

export interface CloudFunctionVariant extends ColdInstances {
  name: 'bare' | 'sample bot (AWS SDK v3)';
  bundleBytes: number | null;
}

export interface CloudFunctionsResult {
  node: string;
  users: number;
  variants: CloudFunctionVariant[];
}

export const CLOUD_FUNCTIONS_DEFAULTS: CloudFunctionsOptions = { runs: 20, users: 1_000 };

export async function cloudFunctions(context: BenchContext, options: CloudFunctionsOptions = CLOUD_FUNCTIONS_DEFAULTS): Promise<CloudFunctionsResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-bench-gcf-'));
  const settings = await sampleBotSettings(context, options.users, 'gcf');
  try {
    const bare = join(workDir, 'bare');
    await mkdir(bare);
    await writeFile(join(bare, 'package.json'), JSON.stringify({ type: 'module', main: 'index.mjs' }));
    await writeFile(join(bare, 'index.mjs'), "export const webhook = (request, response) => { response.send('ok'); };\n");
    const bot = await buildFunction(join(workDir, 'bot'));
    const node24 = await ensureRuntime('node24');
    const serve = (source: string) => () => startFunction(source, 'webhook', settings.env, node24);
    const cold = await coldInstances(
      { bare: serve(bare), 'sample bot (AWS SDK v3)': serve(bot) },
      { runs: options.runs, userIds: settings.userIds, secret: settings.secret },
    );
    const bundleBytes = (await stat(join(bot, 'index.mjs'))).size;
    const variants: CloudFunctionVariant[] = [
      { name: 'bare', bundleBytes: null, ...cold.bare },
      { name: 'sample bot (AWS SDK v3)', bundleBytes, ...cold['sample bot (AWS SDK v3)'] },
    ];
    return { node: `v${RUNTIMES.node24.version}`, users: options.users, variants };
  } finally {
    await settings.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
