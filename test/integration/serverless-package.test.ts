// `serverless package` builds the deployable artifact offline, and what it builds works: the zip's
// handler answers webhooks against MinIO with credentials limited to the role's S3 statements, and the
// template grants the function nothing beyond its prefix. Also: infra/set-webhook.mjs, the step after deploy.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageUpdate, startFakeBotApi, type FakeBotApi } from '../support/fake-bot-api.js';
import { invokeInFreshProcess, webhookEvent } from '../support/lambda.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { ensureRuntime } from '../../infra/runtimes.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const serverlessBin = join(root, 'node_modules/serverless/bin/serverless.js');
const setWebhookScript = join(root, 'infra/set-webhook.mjs');

/** The `statePrefix` default of serverless.yml. */
const PREFIX = 'bot/state';
/** Stands for the generated bucket name when the template's intrinsics are evaluated. */
const BUCKET = 'STATE_BUCKET';
const BOT_TOKEN = '7123456789:AAE-package-test_SecretPart';
const WEBHOOK_SECRET = 'package-test-webhook-secret_0123456789';

/**
 * Loaded by every Node process of the packaging run (NODE_OPTIONS): records each outgoing connection
 * to the file NETWORK_LOG and refuses it, so the test proves the run needs no network.
 */
const NETWORK_GUARD = `
const net = require('node:net');
const { appendFileSync } = require('node:fs');
net.Socket.prototype.connect = function (...args) {
  const target = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: args[1] };
  appendFileSync(process.env.NETWORK_LOG, (target.path ?? (target.host ?? 'localhost') + ':' + target.port) + '\\n');
  process.nextTick(() => this.destroy(new Error('serverless-package test: network access refused')));
  return this;
};
`;

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }> };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Evaluates the intrinsics the template uses for the state bucket, as CloudFormation would for `bucket`. */
function resolveIntrinsics(value: unknown, bucket: string): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, bucket));
  if (typeof value !== 'object' || value === null) return value;
  const node = value as Record<string, unknown>;
  if (node.Ref === 'StateBucket') return bucket;
  const getAtt = node['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt?.[0] === 'StateBucket' && getAtt[1] === 'Arn') return `arn:aws:s3:::${bucket}`;
  const join = node['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return (resolveIntrinsics(join[1], bucket) as unknown[]).join(join[0]);
  return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, resolveIntrinsics(item, bucket)]));
}

function resourcesOfType(template: Template, type: string) {
  return Object.values(template.Resources).filter((resource) => resource.Type === type);
}

function actionsOf(statement: Statement): string[] {
  return typeof statement.Action === 'string' ? [statement.Action] : statement.Action;
}

/** The Lambda role's statements. */
function roleStatements(template: Template): Statement[] {
  const role = template.Resources.IamRoleLambdaExecution!;
  const policies = role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The role's S3 statements, with the bucket named `bucket`. */
function s3Statements(template: Template, bucket: string): Statement[] {
  const statements = roleStatements(template).filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
  return resolveIntrinsics(statements, bucket) as Statement[];
}

function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => 200,
    (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
  );
}

describe('serverless package', () => {
  let workDir: string;
  let packageDir: string;
  let template: Template;
  let zipEntries: string[];
  let handlerFile: string;
  let networkLog: string;
  let packagingOutput: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-sls-'));
    packageDir = join(workDir, 'package');
    const guard = join(workDir, 'network-guard.cjs');
    networkLog = join(workDir, 'network.log');
    await writeFile(guard, NETWORK_GUARD);
    // Exactly this environment: no AWS credentials or profile, telemetry and notifications off.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? workDir,
      AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-aws-credentials'),
      AWS_CONFIG_FILE: join(workDir, 'no-aws-config'),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      NODE_OPTIONS: `--require ${guard}`,
      NETWORK_LOG: networkLog,
    };
    const { stdout, stderr } = await run(process.execPath, [serverlessBin, 'package', '--stage', 'test', '--package', packageDir], {
      cwd: root,
      env,
      timeout: 180_000,
    });
    packagingOutput = stdout + stderr;
    template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;

    const unzipped = join(workDir, 'unzipped');
    await run('python3', ['-m', 'zipfile', '-e', join(packageDir, 'webhook.zip'), unzipped]);
    zipEntries = (await readdir(unzipped, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(unzipped.length + 1))
      .sort();
    handlerFile = join(unzipped, 'handlers/webhook.mjs');
  }, 300_000);

  afterAll(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('runs without AWS credentials and without opening a single connection', async () => {
    const attempted = existsSync(networkLog) ? await readFile(networkLog, 'utf8') : '';
    expect(attempted, 'connections the packaging tried to open').toBe('');
    expect(packagingOutput).toContain('Service packaged');
    // nodejs24.x is valid: infra/serverless-lambda-runtimes.cjs extends v3.40's schema, which stops at nodejs20.x.
    expect(packagingOutput).not.toContain('Invalid configuration');
  });

  it('zips the handler alone, as one ESM bundle that Lambda finds from handlers/webhook.handler', async () => {
    expect(zipEntries).toEqual(['handlers/webhook.mjs']);
    expect((await stat(join(packageDir, 'webhook.zip'))).size).toBeGreaterThan(0);
    // s3Client fetch (the default) leaves the AWS SDK out: none of its code, such as its user agent.
    expect(await readFile(handlerFile, 'utf8')).not.toContain('aws-sdk-js');
    const [fn] = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(fn?.Properties).toMatchObject({ Handler: 'handlers/webhook.handler', Runtime: 'nodejs24.x' });
    expect(fn?.Properties.Timeout).toBeLessThan(30); // API Gateway gives up at 30 s
  });

  it('routes POST /webhook of an HTTP API (payload 2.0) to the function', () => {
    const [route] = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');
    const [integration] = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
    expect(route?.Properties.RouteKey).toBe('POST /webhook');
    expect(integration?.Properties.PayloadFormatVersion).toBe('2.0');
  });

  it('leaves the secrets to CloudFormation dynamic references, points PERSISTENCE_URL at the prefix, sets the layout and the function process settings', () => {
    const [fn] = resourcesOfType(template, 'AWS::Lambda::Function');
    const variables = resolveIntrinsics((fn?.Properties.Environment as { Variables: unknown }).Variables, BUCKET);
    expect(variables).toEqual({
      BOT_TOKEN: '{{resolve:ssm:/telegram-s3-persistence/test/bot-token}}',
      WEBHOOK_SECRET: '{{resolve:ssm:/telegram-s3-persistence/test/webhook-secret}}',
      PERSISTENCE_URL: `s3://${BUCKET}/${PREFIX}`,
      PERSISTENCE_LAYOUT: 'single-file',
      S3_CLIENT: 'fetch',
      UPDATE_CLAIMS: '25',
      MALLOC_MMAP_THRESHOLD_: '32768',
    });
  });

  it('grants the role Get, Put and AbortMultipartUpload on the prefix, and ListBucket only under it: nothing else in S3', () => {
    expect(s3Statements(template, BUCKET)).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        Resource: `arn:aws:s3:::${BUCKET}/${PREFIX}*`,
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: `arn:aws:s3:::${BUCKET}`,
        Condition: { StringLike: { 's3:prefix': `${PREFIX}*` } },
      },
    ]);
    for (const statement of roleStatements(template)) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/(^|:)\*$/);
    }
  });

  it('keeps the state in a versioned, encrypted, private bucket that expires old versions and refuses plain HTTP', () => {
    const bucket = template.Resources.StateBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    const properties = bucket.Properties as {
      VersioningConfiguration: unknown;
      BucketEncryption: { ServerSideEncryptionConfiguration: Array<{ ServerSideEncryptionByDefault: { SSEAlgorithm: string } }> };
      PublicAccessBlockConfiguration: unknown;
      LifecycleConfiguration: { Rules: Array<Record<string, unknown>> };
    };
    expect(properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(['AES256', 'aws:kms']).toContain(
      properties.BucketEncryption.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault.SSEAlgorithm,
    );
    expect(properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: expect.any(Number) as number },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: expect.any(Number) as number },
      }),
    );
    // Update claims are needed for minutes: they expire under their own prefix, beside the state.
    expect(properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', Prefix: expect.stringMatching(/\.claims\/$/) as string, ExpirationInDays: 1 }),
    );

    const [policy] = resourcesOfType(template, 'AWS::S3::BucketPolicy').filter(
      (resource) => (resource.Properties.Bucket as { Ref?: string }).Ref === 'StateBucket',
    );
    const document = resolveIntrinsics(policy?.Properties.PolicyDocument, BUCKET) as { Statement: Statement[] };
    expect(document.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  describe('the packaged handler on Node 24 (nodejs24.x), with only the role S3 statements (MinIO STS session policy)', () => {
    let node24: string;
    let api: FakeBotApi;
    let bucket: string;
    let admin: S3Client;
    let role: S3Client;
    let env: Record<string, string>;

    beforeAll(async () => {
      node24 = await ensureRuntime('node24');
      const minio = inject('minio');
      bucket = await freshBucket('sls-package');
      admin = minioClient();
      api = await startFakeBotApi({ token: BOT_TOKEN });
      // MinIO grants a session the intersection of its parent's rights and this policy: the role's S3 statements.
      const sts = new STSClient({
        endpoint: minio.endpoint,
        region: minio.region,
        credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      });
      const { Credentials: session } = await sts.send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::000000000000:role/telegram-s3-persistence-test-lambda',
          RoleSessionName: 'webhook',
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: s3Statements(template, bucket) }),
        }),
      );
      sts.destroy();
      const credentials = { accessKeyId: session!.AccessKeyId!, secretAccessKey: session!.SecretAccessKey!, sessionToken: session!.SessionToken! };
      role = new S3Client({ endpoint: minio.endpoint, region: minio.region, forcePathStyle: true, credentials });
      env = {
        BOT_TOKEN,
        WEBHOOK_SECRET,
        PERSISTENCE_URL: `s3://${bucket}/${PREFIX}`,
        BOT_INFO: JSON.stringify(api.botInfo),
        TELEGRAM_API_ROOT: api.apiRoot,
        S3_ENDPOINT: minio.endpoint,
        AWS_REGION: minio.region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
      };
    });

    afterAll(async () => {
      await api?.close();
      admin?.destroy();
      role?.destroy();
    });

    const invoke = (update: object, secret: string, overrides: Record<string, string | undefined> = {}) => {
      const merged = Object.fromEntries(Object.entries({ ...env, ...overrides }).filter(([, value]) => value !== undefined));
      return invokeInFreshProcess(handlerFile, webhookEvent(update, { secret }), merged as Record<string, string>, { node: node24 });
    };

    it('answers 401 to a wrong secret token, without calling Telegram or writing state', async () => {
      const { result } = await invoke(messageUpdate({ updateId: 1, userId: 42, text: '/count' }), 'not-the-secret');
      expect(result.statusCode).toBe(401);
      expect(api.calls).toEqual([]);
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.KeyCount).toBe(0);
    });

    it('counts /count across cold starts: 200, the reply, and the state under the prefix', async () => {
      const first = await invoke(messageUpdate({ updateId: 2, userId: 42, text: '/count' }), WEBHOOK_SECRET);
      expect(first.result.statusCode).toBe(200);
      expect(first.node).toMatch(/^v24\./);
      // The environment as deployed (no AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED): no SDK notice on Node 24.
      expect(first.stderr).not.toContain('NodeVersionSupportWarning');
      expect(api.callsTo('sendMessage').map((call) => call.payload)).toEqual([expect.objectContaining({ chat_id: 42, text: '1' })]);

      // Without BOT_INFO the handler asks getMe once and caches the answer beside the snapshot.
      const second = await invoke(messageUpdate({ updateId: 3, userId: 42, text: '/count' }), WEBHOOK_SECRET, { BOT_INFO: undefined });
      expect(second.result.statusCode).toBe(200);
      expect(api.callsTo('getMe')).toHaveLength(1);
      expect(api.callsTo('sendMessage').map((call) => call.payload.text)).toEqual(['1', '2']);

      const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => object.Key).sort();
      // Each update was claimed before it ran (one small object per update id, expired by the lifecycle rule).
      expect(keys).toEqual([PREFIX, `${PREFIX}.bot-info.json`, `${PREFIX}.claims/2`, `${PREFIX}.claims/3`, `${PREFIX}.conditional-writes.json`]);
    });

    // MinIO answers an authenticated GET of a missing key with 404 even without s3:ListBucket (it applies
    // S3's ListBucket rule to anonymous requests only): this shows the statements give the handler its 404
    // and confine it to the prefix; that AWS keeps the 404 with a prefix-conditioned ListBucket it cannot show.
    it('lets the role see a missing key under the prefix as 404, refuses deletes, and everything outside the prefix, with 403', async () => {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/object', Body: 'x' }));
      expect(await statusOf(role.send(new GetObjectCommand({ Bucket: bucket, Key: `${PREFIX}_user_data` })))).toBe(404);
      expect(await statusOf(role.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PREFIX })))).toBe(200);
      expect(await statusOf(role.send(new PutObjectCommand({ Bucket: bucket, Key: `${PREFIX}_probe`, Body: 'x' })))).toBe(200);
      expect(await statusOf(role.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${PREFIX}_probe` })))).toBe(403);

      expect(await statusOf(role.send(new GetObjectCommand({ Bucket: bucket, Key: 'elsewhere/object' })))).toBe(403);
      expect(await statusOf(role.send(new GetObjectCommand({ Bucket: bucket, Key: 'elsewhere/missing' })))).toBe(403);
      expect(await statusOf(role.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/new', Body: 'x' })))).toBe(403);
      expect(await statusOf(role.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'elsewhere/object' })))).toBe(403);
      expect(await statusOf(role.send(new ListObjectsV2Command({ Bucket: bucket })))).toBe(403);
    });
  });
});

describe('infra/set-webhook.mjs', () => {
  let api: FakeBotApi;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', BOT_TOKEN, WEBHOOK_SECRET };

  beforeAll(async () => {
    api = await startFakeBotApi({ token: BOT_TOKEN });
  });

  afterAll(async () => {
    await api?.close();
  });

  const setWebhook = (args: string[], extraEnv: Record<string, string> = {}) =>
    run(process.execPath, [setWebhookScript, ...args], { env: { ...env, ...extraEnv } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it('registers the URL with the secret token for messages and callback queries, printing neither secret', async () => {
    const url = 'https://abc123.execute-api.eu-central-1.amazonaws.com/webhook';
    const { code, stdout, stderr } = await setWebhook([url, '--api-root', api.apiRoot]);
    expect(code).toBe(0);
    expect(api.callsTo('setWebhook').map((call) => call.payload)).toEqual([
      { url, secret_token: WEBHOOK_SECRET, allowed_updates: ['message', 'callback_query'], drop_pending_updates: false },
    ]);
    expect(stdout).toContain(url);
    expect(stdout + stderr).not.toContain(BOT_TOKEN.split(':')[1]);
    expect(stdout + stderr).not.toContain(WEBHOOK_SECRET);
  });

  it('takes the Bot API root from TELEGRAM_API_ROOT too', async () => {
    api.reset();
    const { code } = await setWebhook(['https://example.org/webhook'], { TELEGRAM_API_ROOT: api.apiRoot });
    expect(code).toBe(0);
    expect(api.callsTo('setWebhook')).toHaveLength(1);
  });

  it('refuses a plain-HTTP URL and a missing secret with exit code 2 and a message naming the problem', async () => {
    api.reset();
    const http = await setWebhook(['http://example.org/webhook', '--api-root', api.apiRoot]);
    expect(http).toMatchObject({ code: 2, stderr: expect.stringContaining('https://') as string });
    const noSecret = await setWebhook(['https://example.org/webhook', '--api-root', api.apiRoot], { WEBHOOK_SECRET: '' });
    expect(noSecret).toMatchObject({ code: 2, stderr: expect.stringContaining('WEBHOOK_SECRET is not set') as string });
    expect(api.calls).toEqual([]);
  });

  it('reports a refusal by Telegram with exit code 1, without the token', async () => {
    const wrongToken = '7123456789:AAE-another-token_NotKnown';
    const { code, stderr } = await setWebhook(['https://example.org/webhook', '--api-root', api.apiRoot], { BOT_TOKEN: wrongToken });
    expect(code).toBe(1);
    expect(stderr).toContain('Unauthorized');
    expect(stderr).not.toContain(wrongToken.split(':')[1]);
  });
});
