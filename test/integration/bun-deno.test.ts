// The published package in Bun and in Deno, each installed from its npm package (infra/runtimes.mjs),
// against MinIO: the packed tarball is imported, a few updates are written, and a new process reads
// them back; then the sample bot's webhook behind Bun.serve and Deno.serve (examples/bun and
// examples/deno, bundled onto the tarball) answers updates from one process to the next.
// Both load a stored snapshot, where cbor-x with cbor-extract's native addon failed (Bun: crashes or
// "Unexpected end of buffer"; Deno: the addon does not load): the package never loads it there.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureRuntime, RUNTIMES } from '../../infra/runtimes.mjs';
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { messageUpdate, startFakeBotApi, type FakeBotApi, type Update } from '../support/fake-bot-api.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { onThePackage, packedProject, root, type PackedProject } from '../support/packed.js';

const BOT_TOKEN = '7123456789:AAE-runtimes-test_SecretPart';
const WEBHOOK_SECRET = 'runtimes-test-webhook-secret_0123456789';
const USER = 42;

/**
 * Run by each runtime: one instance reads the state, writes three updates of the user (strings of
 * growing length, some not ASCII) and one of bot data and a conversation; a second instance in the
 * same process reads them back. Prints what both saw.
 */
const STATE_SCRIPT = `
import { S3Client } from '@aws-sdk/client-s3';
import { S3Persistence, conversationKey } from 'telegram-s3-persistence';
const env = typeof Deno === 'undefined' ? process.env : Deno.env.toObject();
const client = new S3Client({ region: env.AWS_REGION, endpoint: env.S3_ENDPOINT, forcePathStyle: true });
const open = () => new S3Persistence({ filepath: env.PERSISTENCE_URL, client });
const writer = open();
const before = (await writer.getUserData()).get(${USER}) ?? { count: 0, notes: [] };
const me = structuredClone(before);
for (let i = 0; i < 3; i++) {
  me.count += 1;
  me.notes.push(env.RUNTIME + ' note ' + me.count + ': ' + 'Zoë ünïcödé text '.repeat(me.count));
  await writer.updateUserData(${USER}, me);
}
const bot = await writer.getBotData();
await writer.updateBotData({ ...bot, runs: (bot.runs ?? 0) + 1 });
await writer.updateConversation('survey', [${USER}, ${USER}], 'AGE');
await writer.flush();
const reader = open();
const after = (await reader.getUserData()).get(${USER});
const runs = (await reader.getBotData()).runs;
const conversation = (await reader.getConversations('survey')).get(conversationKey([${USER}, ${USER}]));
console.log(JSON.stringify({ before: before.count, after, runs, conversation }));
client.destroy();
`;

/** How each runtime runs a script, and its example server. */
const runtimes = {
  bun: { args: (script: string) => ['run', script], example: 'examples/bun/server.ts' },
  // Network (MinIO, the fake Bot API, serving), the environment, node_modules and the SDK's config files, the
  // home directory; and --allow-ffi, as -A gives it: without it Deno refuses every native addon, and cbor-x
  // quietly runs without cbor-extract, as it does here anyway.
  deno: {
    args: (script: string) => ['run', '--allow-net', '--allow-env', '--allow-read', '--allow-sys', '--allow-ffi', script],
    example: 'examples/deno/server.ts',
  },
};
type RuntimeName = keyof typeof runtimes;

let project: PackedProject;
let api: FakeBotApi;
const bins = new Map<RuntimeName, string>();

beforeAll(async () => {
  for (const name of Object.keys(runtimes) as RuntimeName[]) bins.set(name, await ensureRuntime(name));
  // cbor-x as a user's npm install gets it: with cbor-extract 2.2.3, its addon built on this machine.
  project = await packedProject({ fromRegistry: ['cbor-x'] });
  await project.link('grammy');
  await writeFile(join(project.dir, 'state.mjs'), STATE_SCRIPT);
  for (const [name, runtime] of Object.entries(runtimes)) {
    await build({
      entryPoints: [join(root, runtime.example)],
      outfile: join(project.dir, `${name}-server.mjs`),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      external: ['grammy', 'grammy/*'],
      plugins: [onThePackage(project)],
      logLevel: 'warning',
    });
  }
  api = await startFakeBotApi({ token: BOT_TOKEN });
}, 600_000);

afterAll(async () => {
  await api?.close();
  await project?.remove();
});

/** The environment of a runtime process: MinIO's address and credentials, and `extra`. */
function environment(extra: Record<string, string>): Record<string, string> {
  const minio = inject('minio');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? project.dir,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    AWS_REGION: minio.region,
    S3_ENDPOINT: minio.endpoint,
    ...extra,
  };
}

/** Runs `args` of runtime `name` in the project to its end; resolves with its output, rejects with it on failure. */
function runToEnd(name: RuntimeName, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bins.get(name)!, args, { cwd: project.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${name} ${args.join(' ')} ended with ${signal ?? `code ${code}`}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    });
  });
}

interface Server {
  url: string;
  stop(): Promise<string>;
}

/** Starts the example server of runtime `name` and resolves once it prints the address it listens on. */
function startServer(name: RuntimeName, env: Record<string, string>): Promise<Server> {
  const child = spawn(bins.get(name)!, runtimes[name].args(`${name}-server.mjs`), { cwd: project.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    void closed.then(() => reject(new Error(`the ${name} server ended before listening\n${output}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      const url = /^listening on (http:\/\/\S+)$/.exec(line)?.[1];
      if (url === undefined) return;
      resolve({
        url,
        async stop() {
          child.kill('SIGTERM');
          await closed;
          return output;
        },
      });
    });
  });
}

function post(server: Server, update: Update, secret = WEBHOOK_SECRET): Promise<Response> {
  return fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(update),
  });
}

async function storedSnapshot(bucket: string, key: string) {
  const client = minioClient();
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return decodeSnapshot(await object.Body!.transformToByteArray());
  } finally {
    client.destroy();
  }
}

describe.each(Object.keys(runtimes) as RuntimeName[])('%s', (name) => {
  it(`is the version infra/runtimes.mjs pins`, async () => {
    const { stdout } = await runToEnd(name, ['--version'], environment({}));
    expect(stdout).toContain(RUNTIMES[name].version);
  });

  it('imports the packed library, writes a few updates, and each new process reads what the last one wrote', async () => {
    const bucket = await freshBucket(`${name}-state`);
    const env = environment({ PERSISTENCE_URL: `s3://${bucket}/bot/state`, RUNTIME: name });

    const seen = [];
    for (let run = 0; run < 3; run++) seen.push(JSON.parse((await runToEnd(name, runtimes[name].args('state.mjs'), env)).stdout));

    expect(seen.map(({ before, after, runs }) => [before, after.count, after.notes.length, runs])).toEqual([
      [0, 3, 3, 1],
      [3, 6, 6, 2],
      [6, 9, 9, 3],
    ]);
    expect(seen.map(({ conversation }) => conversation)).toEqual(['AGE', 'AGE', 'AGE']);
    const users = (await storedSnapshot(bucket, 'bot/state')).get('user_data') as Map<number, { notes: string[] }>;
    expect(users.get(USER)?.notes.at(-1)).toBe(`${name} note 9: ${'Zoë ünïcödé text '.repeat(9)}`);
  });

  it(`serves the sample bot's webhook, and a new server process carries its state on`, async () => {
    api.reset();
    const bucket = await freshBucket(`${name}-serve`);
    const env = environment({
      BOT_TOKEN,
      WEBHOOK_SECRET,
      PERSISTENCE_URL: `s3://${bucket}/bot/state`,
      TELEGRAM_API_ROOT: api.apiRoot,
      PORT: '0',
    });

    const first = await startServer(name, env);
    const refused = await post(first, messageUpdate({ updateId: 1, userId: USER, text: '/count' }), 'not-the-secret');
    const counted = await post(first, messageUpdate({ updateId: 2, userId: USER, text: '/count' }));
    const noted = await post(first, messageUpdate({ updateId: 3, userId: USER, text: `/note served by ${name}` }));
    const firstOutput = await first.stop();
    const second = await startServer(name, env);
    const countedAgain = await post(second, messageUpdate({ updateId: 4, userId: USER, text: '/count' }));
    const shown = await post(second, messageUpdate({ updateId: 5, userId: USER, text: '/note' }));
    const secondOutput = await second.stop();

    const statuses = [refused.status, counted.status, noted.status, countedAgain.status, shown.status];
    expect(statuses, `the servers' output:\n${firstOutput}\n${secondOutput}`).toEqual([401, 200, 200, 200, 200]);
    expect(api.callsTo('sendMessage').map((call) => call.payload.text)).toEqual(['1', `Saved the note: served by ${name}`, '2', `Note: served by ${name}`]);
    // Without BOT_INFO: getMe once, then the cache beside the state.
    expect(api.callsTo('getMe')).toHaveLength(1);
    const snapshot = await storedSnapshot(bucket, 'bot/state');
    expect((snapshot.get('user_data') as Map<number, unknown>).get(USER)).toMatchObject({ count: 2 });
    expect(firstOutput + secondOutput).not.toContain(BOT_TOKEN.split(':')[1]);
    expect(firstOutput + secondOutput).not.toContain(WEBHOOK_SECRET);
  });
});
