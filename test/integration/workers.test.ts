// The sample bot on Cloudflare Workers: wrangler.jsonc built by `wrangler deploy --dry-run` (offline,
// the library from the packed tarball),
// the bundle served by workerd, the real runtime, each isolate in a new process, against MinIO and a
// fake Bot API on loopback. What one isolate wrote, the next one finds. Then a Worker of a user's
// own (examples/cloudflare-workers) on the packed tarball, built and run the same way.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildWorker, uploadSize } from '../../infra/workers/build.mjs';
import { messageUpdate } from '../support/fake-bot-api.js';
import { packedProject, root, tsconfigOnThePackage, type PackedProject } from '../support/packed.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { deployOn, expectCountingAcrossInstances, expectGetMeCachedBesideState, STATE_KEY, type PlatformDeployment } from '../support/platform-deployment.js';
import { startWorkerd } from '../support/workerd.js';

/** As wrangler.jsonc: nodejs_compat, which the library needs (node:crypto, Buffer), is on by default from 2026-08-04. */
const WRANGLER_COMPATIBILITY = { compatibilityDate: '2026-11-01', compatibilityFlags: [] };

let outdir: string;
let script: string;
let wranglerOutput: string;
let project: PackedProject;

beforeAll(async () => {
  project = await packedProject();
  await project.link('grammy');
  outdir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-worker-'));
  // wrangler.jsonc as it is, but the package's name leads to the packed tarball, not to src/.
  ({ script, output: wranglerOutput } = await buildWorker('wrangler.jsonc', outdir, { tsconfig: await tsconfigOnThePackage(project) }));
}, 300_000);
afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
  await project?.remove();
});

let bot: PlatformDeployment;
beforeEach(async () => {
  bot = await deployOn((env) => startWorkerd({ script, bindings: env, ...WRANGLER_COMPATIBILITY }));
});
afterEach(async () => {
  await bot.close();
});

describe('wrangler deploy --dry-run of wrangler.jsonc', () => {
  it('builds offline a bundle without the AWS SDK, far under the 3 MiB (gzip) limit of the free plan', async () => {
    const bundle = await readFile(script, 'utf8');

    expect(bundle).not.toMatch(/@smithy|S3ServiceException/);
    expect(bundle).toContain('AWS4-HMAC-SHA256');
    expect(uploadSize(wranglerOutput).gzipKib).toBeLessThan(3 * 1024);
  });

  it('bundles the library from the packed tarball, nothing of src/', async () => {
    const { inputs } = JSON.parse(await readFile(join(outdir, 'bundle-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const files = Object.keys(inputs);
    expect(files.filter((file) => file.includes(`node_modules/${project.name}/dist/`)).length).toBeGreaterThan(10);
    expect(files.filter((file) => /(^|\/)src\//.test(file) && !file.includes('node_modules/'))).toEqual([]);
  });
});

describe('the sample bot in workerd', () => {
  it('writes /count to MinIO, and a new isolate counts on from there', async () => {
    const { stored } = await expectCountingAcrossInstances(bot);
    expect(stored?.get('bot_data')).toMatchObject({ totalCount: 3 });
  });

  it("sends workerd's fetch with the conditions: a create-only PUT, then a warm isolate's refresh answered 304 and an If-Match PUT", async () => {
    const proxy = await startRecordingProxy(bot.env.S3_ENDPOINT!);
    bot.env.S3_ENDPOINT = proxy.endpoint;
    bot.env.BOT_INFO = JSON.stringify(bot.api.botInfo);
    try {
      const worker = await bot.instance();
      await bot.say(worker, 42, '/count');
      await bot.say(worker, 42, '/count');

      const state = `/${bot.bucket}/${STATE_KEY}`;
      expect(proxy.requests.filter((request) => request.path === state)).toEqual([
        { method: 'GET', path: state, status: 404 },
        { method: 'PUT', path: state, status: 200, condition: 'If-None-Match' },
        { method: 'GET', path: state, status: 304, condition: 'If-None-Match' },
        { method: 'PUT', path: state, status: 200, condition: 'If-Match' },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('keeps a conversation across isolates: /survey asked in one is answered in the next two', async () => {
    await bot.say(await bot.instance(), 7, '/survey');
    await bot.say(await bot.instance(), 7, 'Ada');
    await bot.say(await bot.instance(), 7, '36');

    expect(bot.replies().at(-1)).toMatch(/Ada.*36/s);
  });

  it('calls getMe once, caches the answer beside the state, and a new isolate reads it from there', () => expectGetMeCachedBesideState(bot));

  it('refuses a wrong secret with 401 before any request of its own (no getMe, nothing stored)', async () => {
    const response = await bot.post(await bot.instance(), messageUpdate({ updateId: 1, userId: 42, text: '/count' }), 'wrong');

    expect(response.status).toBe(401);
    expect(bot.api.calls).toEqual([]);
    expect(await bot.objectKeys()).toEqual([]);
  });

  it('answers 400 to a body that is not an update, and stores nothing', async () => {
    const worker = await bot.instance();

    const responses = await Promise.all(['not json', '{"update_id": "1"}'].map((body) => bot.post(worker, body)));

    expect(responses.map((response) => response.status)).toEqual([400, 400]);
    expect(await bot.objectKeys()).toEqual([]);
  });

  it('answers 500 naming no secret when the S3 credentials are refused, and stores nothing', async () => {
    bot.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    bot.env.BOT_INFO = JSON.stringify(bot.api.botInfo);
    const worker = await bot.instance();

    expect((await bot.say(worker, 42, '/count')).status).toBe(500);

    const printed = await worker.close();
    expect(printed).toContain(`AccessDeniedError in middleware: the credentials were refused at ${bot.env.S3_ENDPOINT} (SignatureDoesNotMatch)`);
    expect(await bot.objectKeys()).toEqual([]);
  });
});

describe('a Worker of your own on the packed tarball (examples/cloudflare-workers)', () => {
  let ownScript: string;
  beforeAll(async () => {
    for (const file of ['worker.mjs', 'wrangler.jsonc', 'no-aws-sdk.mjs']) {
      await copyFile(join(root, 'examples/cloudflare-workers', file), join(project.dir, file));
    }
    ({ script: ownScript } = await buildWorker(join(project.dir, 'wrangler.jsonc'), join(project.dir, 'dist-worker')));
  }, 300_000);

  it('builds without the AWS SDK, counts in MinIO, and a new isolate counts on', async () => {
    expect(await readFile(ownScript, 'utf8')).not.toMatch(/@smithy|S3ServiceException/);
    const own = await deployOn((env) => startWorkerd({ script: ownScript, bindings: env, ...WRANGLER_COMPATIBILITY }));
    try {
      expect((await own.say(await own.instance(), 42, '/count')).status).toBe(200);
      expect((await own.say(await own.instance(), 42, '/count')).status).toBe(200);

      expect(own.replies()).toEqual(['1', '2']);
      expect(own.api.callsTo('getMe')).toHaveLength(1);
      expect(await own.objectKeys()).toContain(`${STATE_KEY}.conditional-writes.json`);
      expect((((await own.snapshot())?.get('user_data')) as Map<number, unknown>).get(42)).toEqual({ count: 2 });
    } finally {
      await own.close();
    }
  });
});
