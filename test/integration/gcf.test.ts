// The sample bot as a Google Cloud Function: handlers/gcf.ts built by infra/gcf/build.mjs (the library
// bundled from the packed tarball, test/support/packed.ts), served by
// functions-framework (from npm, the server Cloud Functions runs) on Node 24 (the nodejs24 runtime;
// Node 20 is past its end of life), each instance a new process, against MinIO and a fake Bot API on
// loopback. What one instance wrote, the next one finds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildFunction } from '../../infra/gcf/build.mjs';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { messageUpdate } from '../support/fake-bot-api.js';
import { startFunction } from '../support/functions-framework.js';
import { bundleOrigins, onThePackage, packedProject, type PackedProject } from '../support/packed.js';
import { deployOn, expectCountingAcrossInstances, expectGetMeCachedBesideState, type PlatformDeployment } from '../support/platform-deployment.js';

let source: string;
let node24: string;
let project: PackedProject;
beforeAll(async () => {
  // The library in the bundle is the packed tarball's dist/, not src/.
  project = await packedProject();
  await project.link('grammy');
  source = await buildFunction(await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-gcf-')), { plugins: [onThePackage(project, { bundle: true })] });
  node24 = await ensureRuntime('node24');
}, 300_000);
afterAll(async () => {
  if (source !== undefined) await rm(source, { recursive: true, force: true });
  await project?.remove();
});

let bot: PlatformDeployment;
beforeEach(async () => {
  bot = await deployOn((env) => startFunction(source, 'webhook', env, node24));
});
afterEach(async () => {
  await bot.close();
});

describe('the sample bot on functions-framework', () => {
  it('bundles the library from the packed tarball, nothing of src/', async () => {
    const origins = await bundleOrigins(join(source, 'index.mjs.map'), project.name);
    expect(origins.dist).toEqual(expect.arrayContaining(['/dist/webhook.js', '/dist/s3-persistence.js', '/dist/grammy.js']));
    expect(origins.src).toEqual([]);
  });

  it('writes /count to MinIO, and an instance started after a restart counts on from there, printing no SDK notice', async () => {
    const { second } = await expectCountingAcrossInstances(bot);
    expect(await second.close()).not.toMatch(/NodeVersionSupportWarning|Node\.js version/);
  });

  it('calls getMe once, caches the answer beside the state, and a new instance reads it from there', () => expectGetMeCachedBesideState(bot));

  it('refuses a wrong secret (401), a GET (405) and a body that is not an update (400), before any request of its own', async () => {
    const instance = await bot.instance();

    const wrong = await bot.post(instance, messageUpdate({ updateId: 1, userId: 42, text: '/count' }), 'wrong');
    const get = await fetch(instance.url);
    const notAnUpdate = await bot.post(instance, '{"update_id": 2, "nothing": {}}');

    expect([wrong.status, get.status, notAnUpdate.status]).toEqual([401, 405, 400]);
    expect(bot.api.calls).toEqual([]);
    expect(await bot.objectKeys()).toEqual([]);
  });
});
