// IAM least privilege, from the other side: test/integration/serverless-package.test.ts proves the
// role's S3 statements are enough (the packaged handler works under exactly them) and pins them; this
// records which S3 actions the bundled handler really uses over a conversation touching every kind of
// state, in every layout, and compares them with what serverless.yml grants.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { callbackQueryUpdate, messageUpdate } from '../support/fake-bot-api.js';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { webhookEvent } from '../support/lambda.js';
import { deploy, keyboardOf, WEBHOOK_SECRET } from '../e2e/deployment.js';
import { report } from './profile.js';

/** The IAM action an S3 request needs (path-style requests, as the handler sends them to MinIO). */
function iamAction(request: ProxiedRequest): string {
  const onBucket = request.path.split('/').filter(Boolean).length === 1;
  const has = (parameter: string) => request.query.includes(parameter);
  if (onBucket) return request.method === 'GET' ? 's3:ListBucket' : `bucket ${request.method}`;
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return 's3:GetObject';
    case 'PUT':
    case 'POST': // CreateMultipartUpload (?uploads), UploadPart, CompleteMultipartUpload (?uploadId): all s3:PutObject
      return 's3:PutObject';
    case 'DELETE':
      return has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject';
    default:
      return `${request.method} object`;
  }
}

/** The S3 actions the Lambda role's statements in serverless.yml allow. */
async function grantedActions(): Promise<string[]> {
  const yml = await readFile(fileURLToPath(new URL('../../serverless.yml', import.meta.url)), 'utf8');
  const role = yml.slice(yml.indexOf('  iam:'), yml.indexOf('\npackage:'));
  return [...role.matchAll(/^\s*- (s3:\w+)\s*$/gm)].map((match) => match[1]!).sort();
}

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(inject('minio').endpoint); // no faults: it forwards and records
});
afterAll(async () => {
  await proxy?.close();
});

describe('the S3 actions the sample bot uses, against what its role is granted', () => {
  const used = new Set<string>();

  it.each(['single-file', 'multi-file', 'sharded'])('%s layout: every action the handler uses over a whole conversation is granted', async (layout) => {
    const bot = await deploy({ s3Endpoint: proxy.endpoint, botInfo: false }); // without BOT_INFO: the getMe answer is cached in the bucket too
    bot.env.PERSISTENCE_LAYOUT = layout;
    const first = proxy.requests.length;
    try {
      const warm = bot.warmInstance();
      let updateId = 1;
      const say = (text: string) => warm.invoke(webhookEvent(messageUpdate({ updateId: updateId++, userId: 42, text }), { secret: WEBHOOK_SECRET }));
      for (const text of ['/start', '/count', '/note milk', '/note', '/stats', '/survey', 'Ada', '36', '/menu']) await say(text);
      const data = keyboardOf(bot.take('sendMessage').at(-1)!).inline_keyboard[0]![0]!.callback_data!;
      const [message] = bot.api.messagesIn(42).filter((sent) => sent.reply_markup !== undefined);
      await warm.invoke(webhookEvent(callbackQueryUpdate({ updateId: updateId++, userId: 42, data, messageId: message!.message_id }), { secret: WEBHOOK_SECRET }));
      expect(bot.take('editMessageText')).toHaveLength(1); // the press found its data
      await warm.invoke(webhookEvent(messageUpdate({ updateId: 2, userId: 42, text: '/count' }), { secret: WEBHOOK_SECRET })); // a redelivery
      await bot.say(43, '/count'); // and a cold start
    } finally {
      await bot.close();
    }
    const actions = new Set(proxy.requests.slice(first).filter((request) => request.path.startsWith(`/${bot.bucket}`)).map(iamAction));
    for (const action of actions) used.add(action);

    expect([...actions].filter((action) => !action.startsWith('s3:'))).toEqual([]);
    const granted = await grantedActions();
    expect([...actions].filter((action) => !granted.includes(action))).toEqual([]);
  });

  it('grants nothing the handler does not need', async () => {
    const granted = await grantedActions();
    /** Needed without a request of their own: S3 checks ListBucket when a GET meets a missing key; lib-storage aborts a failed large upload. */
    const neededImplicitly = ['s3:ListBucket', 's3:AbortMultipartUpload'];
    const unneeded = granted.filter((action) => !used.has(action) && !neededImplicitly.includes(action));
    report('least privilege', { granted, usedByHandler: [...used].sort(), neededImplicitly, unneeded });
    expect(unneeded).toEqual([]);
  });
});
