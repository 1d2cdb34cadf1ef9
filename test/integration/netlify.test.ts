// A Netlify Function of your own (examples/netlify) on the packed tarball, served by @netlify/dev,
// Netlify's local emulation (from npm, on Node 24 from npm), against MinIO and a fake Bot API on
// loopback. The function is bundled by zip-it-and-ship-it as a deploy bundles it, every request runs
// it in a new worker thread, and each instance is a new process: what one wrote, the next one finds.
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { messageUpdate } from '../support/fake-bot-api.js';
import { startNetlify } from '../support/netlify.js';
import { packedProject, root, type PackedProject } from '../support/packed.js';
import { deployOn, expectCountingAcrossInstances, expectGetMeCachedBesideState, type PlatformDeployment } from '../support/platform-deployment.js';

let project: PackedProject;
let node24: string;
beforeAll(async () => {
  node24 = await ensureRuntime('node24');
  await ensureRuntime('netlifyDev');
  project = await packedProject();
  await project.link('grammy');
  await cp(join(root, 'examples/netlify'), project.dir, { recursive: true });
  await mkdir(join(project.dir, '.home'));
}, 300_000);
afterAll(async () => {
  await project?.remove();
});

/** The site's settings: the S3 ones under S3_* names, as Netlify reserves AWS_* for its own Lambda. */
function netlifyEnvironment(env: Record<string, string>): Record<string, string> {
  const { AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...rest } = env;
  return { ...rest, S3_REGION: AWS_REGION!, S3_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!, S3_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!, HOME: join(project.dir, '.home') };
}

let bot: PlatformDeployment;
beforeEach(async () => {
  bot = await deployOn(async (env) => {
    const site = await startNetlify(project.dir, netlifyEnvironment(env), node24);
    return { url: `${site.origin}/webhook`, pid: site.pid, close: () => site.close() };
  });
});
afterEach(async () => {
  await bot.close();
});

describe('a Netlify Function on the packed tarball, served by @netlify/dev', () => {
  it('writes /count to MinIO, and a site started after a restart counts on from there', async () => {
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
