// A Netlify Function and a Vercel Function of your own (examples/netlify, examples/vercel) on the
// packed tarball, each served by its platform's local runner from npm on Node 24 from npm, against
// MinIO and a fake Bot API on loopback; each instance is a new runner process, so what one wrote,
// the next one finds.
// - Netlify: @netlify/dev, Netlify's emulation of its request chain: the function bundled by
//   zip-it-and-ship-it as a deploy bundles it, every request run in a new worker thread.
// - Vercel: @vercel/node's dev server, the one `vercel dev` runs each Node function in (no login).
import { cp } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { messageUpdate } from '../support/fake-bot-api.js';
import { startLocalRunner } from '../support/local-runner.js';
import { packedProject, root, type PackedProject } from '../support/packed.js';
import { deployOn, expectCountingAcrossInstances, expectGetMeCachedBesideState, type PlatformDeployment } from '../support/platform-deployment.js';

let project: PackedProject;
let node24: string;
beforeAll(async () => {
  node24 = await ensureRuntime('node24');
  await ensureRuntime('netlifyDev');
  await ensureRuntime('vercelNode');
  // Installed from npm, as a user's project has them: both platforms trace the function's files
  // (node_modules included) into what they deploy, and a linked package would be traced as a link.
  project = await packedProject({ fromRegistry: ['grammy', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'cbor-x'] });
  // Each example is a project of its own beside the installed package.
  for (const example of ['netlify', 'vercel']) await cp(join(root, 'examples', example), join(project.dir, example), { recursive: true });
}, 300_000);
afterAll(async () => {
  await project?.remove();
});

const platforms = {
  Netlify: { runner: 'netlify', args: (dir: string) => [dir], path: '/webhook' },
  Vercel: { runner: 'vercel', args: (dir: string) => [dir, 'api/webhook.ts'], path: '/api/webhook' },
} as const;

/**
 * The settings: the S3 ones under S3_* names (Netlify reserves AWS_*, Vercel presets AWS_REGION). The
 * runners write their own settings under HOME (the project here); the runtimes' cache stays the
 * user's (infra/runtimes.mjs), where the runner finds what beforeAll installed.
 */
function siteEnvironment(env: Record<string, string>): Record<string, string> {
  const { AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...rest } = env;
  return {
    ...rest,
    S3_REGION: AWS_REGION!,
    S3_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!,
    S3_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!,
    HOME: project.dir,
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  };
}

describe.each(Object.keys(platforms) as Array<keyof typeof platforms>)('a %s function on the packed tarball, served by its local runner', (name) => {
  const platform = platforms[name];
  let bot: PlatformDeployment;
  beforeEach(async () => {
    bot = await deployOn(async (env) => {
      const site = await startLocalRunner(platform.runner, platform.args(join(project.dir, platform.runner)), siteEnvironment(env), node24);
      return { url: `${site.origin}${platform.path}`, pid: site.pid, close: () => site.close() };
    });
  });
  afterEach(async () => {
    await bot.close();
  });

  it('writes /count to MinIO, and a runner started after a restart counts on from there', async () => {
    await expectCountingAcrossInstances(bot);
  });

  it('calls getMe once, caches the answer beside the state, and a new instance reads it from there', () =>
    expectGetMeCachedBesideState(bot, { claims: false }));

  it('refuses a wrong secret (401) and a body that is not an update (400), before any request of its own', async () => {
    const instance = await bot.instance();

    const wrong = await bot.post(instance, messageUpdate({ updateId: 1, userId: 42, text: '/count' }), 'wrong');
    const notAnUpdate = await bot.post(instance, '{"update_id": 2, "nothing": {}}');

    expect([wrong.status, notAnUpdate.status]).toEqual([401, 400]);
    expect(bot.api.calls).toEqual([]);
    expect(await bot.objectKeys()).toEqual([]);
  });
});
