// The bundled handler on the Node majors of Lambda's runtimes that serverless.yml offers: the machine's
// Node 20 (nodejs20.x, kept for existing stacks) and Node 24 from the npm registry (nodejs24.x, the
// default), each with both bundles: on the fetch store (the default, no AWS SDK) and with the AWS SDK.
// Each update in a fresh process, state carried from one to the next, with the function's
// environment as deployed: the AWS SDK's Node version notice is not silenced, so it shows where it
// is true (the SDK bundle on Node 20) and nowhere else.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { bundleOrigins } from '../support/packed.js';
import { conversationState, deploy, text, userData } from './deployment.js';

const ADA = 1001;
const NOTICE = 'NodeVersionSupportWarning';

const runtimes = {
  'nodejs20.x: the machine Node': { major: 20, node: async () => process.execPath },
  'nodejs24.x: Node 24 from npm': { major: 24, node: () => ensureRuntime('node24') },
};

it.each(['handlerBundle', 'handlerBundleSdk'] as const)('%s runs the library from the packed tarball: nothing of src/ in it', async (bundle) => {
  const origins = await bundleOrigins(`${inject(bundle)}.map`, 'telegram-s3-persistence');
  expect(origins.dist).toEqual(expect.arrayContaining(['/dist/webhook.js', '/dist/s3-persistence.js', '/dist/grammy.js']));
  expect(origins.src).toEqual([]);
});

// A built-in imported at the top of a module is loaded, every export of it read, at every cold start
// (node:crypto with its streams and WebCrypto: 6-7 ms of CPU); the default bundle loads them on use.
// (The SDK bundle imports a dozen: the SDK's own.)
it('the default bundle (fetch store) imports no Node built-in at its top', async () => {
  const code = await readFile(inject('handlerBundle'), 'utf8');
  expect(code.match(/\b(?:from|import)\s*["']node:[\w/]+["']/g) ?? []).toEqual([]);
});

const cases = Object.entries(runtimes).flatMap(([name, runtime]) => (['fetch', 'sdk'] as const).map((s3Client) => [name, s3Client, runtime] as const));

describe.each(cases)('%s, S3_CLIENT=%s', (_name, s3Client, runtime) => {
  let node: string;
  beforeAll(async () => {
    node = await runtime.node();
  }, 300_000);

  it(`runs every kind of state across fresh processes of Node ${runtime.major}`, async () => {
    const bot = await deploy({ node, s3Client, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } });
    try {
      const invocations = [
        await bot.say(ADA, '/count'),
        await bot.say(ADA, '/note on any Node'),
        await bot.say(ADA, '/survey'),
        await bot.say(ADA, 'Ada'),
        await bot.say(ADA, '/count'),
        await bot.say(ADA, '/note'),
      ];

      expect(invocations.map((invocation) => invocation.result.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(invocations.map((invocation) => Number(invocation.node.slice(1).split('.')[0]))).toEqual(invocations.map(() => runtime.major));
      expect(new Set(invocations.map((invocation) => invocation.pid)).size).toBe(invocations.length);
      expect(bot.take('sendMessage').map(text)).toEqual([
        '1',
        'Saved the note: on any Node',
        'Survey: what is your name? (/cancel to stop)',
        'Nice to meet you, Ada. How old are you?',
        '2',
        'Note: on any Node',
      ]);
      const snapshot = await bot.snapshot();
      expect(userData(snapshot).get(ADA)).toMatchObject({ count: 2, survey: { name: 'Ada' } });
      expect(conversationState(snapshot, 'survey', [ADA, ADA])).toBe('AGE');

      // The SDK's notice that its 2027 releases need Node 22: once per process of the SDK bundle on
      // Node 20, where it is true; never on Node 24, and never without the SDK.
      const notices = invocations.map((invocation) => invocation.stderr.split(NOTICE).length - 1);
      expect(notices).toEqual(invocations.map(() => (s3Client === 'sdk' && runtime.major < 22 ? 1 : 0)));
    } finally {
      await bot.close();
    }
  });
});
