// The command-line tool end to end: the executable as `npm run build` compiles it (tsc, into a
// temporary directory), run as a process against MinIO, every command with its exit codes.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SnapshotChangedError } from '../../src/state/errors.js';
import { readStoredState, writeStoredState } from '../../src/state/whole-state.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import { SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { ensureRuntime } from '../../infra/runtimes.mjs';
import { freshBucket, minioClient } from '../support/minio.js';
import { PTB_FIXTURES, sortSets } from '../support/ptb-fixtures.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = PTB_FIXTURES;

let buildDir = '';
let executable = '';
let client: S3Client;
let bucket = '';

beforeAll(async () => {
  // Inside the repository, so that the compiled modules find node_modules, as an installed package does.
  await mkdir(join(root, '.build'), { recursive: true });
  buildDir = await mkdtemp(join(root, '.build', 'cli-'));
  const outDir = join(buildDir, 'dist');
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root });
  await copyFile(join(root, 'package.json'), join(buildDir, 'package.json')); // for --version, as in the package
  executable = join(outDir, 'cli', 'main.js');
  await chmod(executable, 0o755); // npm does this for "bin" on install
  client = minioClient();
  bucket = await freshBucket('cli');
}, 120_000);

afterAll(async () => {
  client?.destroy();
  if (buildDir !== '') await rm(buildDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the executable itself (its shebang), with the MinIO of the tests in its environment. */
function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const { endpoint, accessKeyId, secretAccessKey, region } = inject('minio');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  Object.assign(env, { S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region });
  Object.assign(env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const url = (path: string) => `s3://${bucket}/${path}`;

async function etagOf(key: string): Promise<string | undefined> {
  return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

describe('the executable', () => {
  it('runs by its shebang and prints its help (exit 0)', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: telegram-s3-persistence <command>/);
  });

  it('exits 2 on a wrong command line', async () => {
    const { code, stderr } = await cli(['inspect']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/inspect: missing URL/);
  });

  it('prints the version of its package', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout.trim()).toBe(pkg.version);
  });
});

describe('import-ptb, inspect, export and import on MinIO', () => {
  const path = 'ptb/bot';

  it('inspect and export exit 4 while nothing is stored', async () => {
    expect((await cli(['inspect', url(path)])).code).toBe(4);
    expect((await cli(['export', url(path)])).code).toBe(4);
  });

  it("import-ptb writes PTB's single file as one snapshot (exit 0)", async () => {
    const { code, stdout } = await cli(['import-ptb', url(path), join(fixtures, 'single_file.pickle')]);
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${url(path)} (ETag ${await etagOf(path)})`);
    expect(await keysUnder('ptb/')).toEqual([path]);
  });

  it('inspect shows the object with its ETag and the counts', async () => {
    const { code, stdout } = await cli(['inspect', url(path)]);
    expect(code).toBe(0);
    expect(stdout).toContain(`ETag ${await etagOf(path)}  format version ${SNAPSHOT_VERSION}`);
    expect(stdout).toMatch(/user_data +3 users\nchat_data +2 chats\nbot_data +6 keys\ncallback_data +1 keyboard, 1 callback query\nconversations +4 keys in 2 conversations \(survey: 3, checkout: 1\)/);
    const report = JSON.parse((await cli(['inspect', url(path), '--json'])).stdout) as { objects: Array<{ size: number }> };
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: path }));
    expect(report.objects[0]!.size).toBe(head.ContentLength);
    expect(head.ContentType).toBe('application/cbor');
  });

  it('export prints exactly what python-telegram-bot loads from the pickle (a lossless import)', async () => {
    const { code, stdout } = await cli(['export', url(path)]);
    expect(code).toBe(0);
    const expected = JSON.parse(await readFile(join(fixtures, 'single_file.expected.json'), 'utf8')) as unknown;
    expect(sortSets(JSON.parse(stdout))).toEqual(sortSets(expected));
  });

  it('S3Persistence reads the imported state, the bot restored as the live bot', async () => {
    const persistence = new S3Persistence({ filepath: url(path), client });
    const bot = { token: 'x', api: {} };
    persistence.setBot(bot);
    expect((await persistence.getBotData()).bot).toBe(bot);
    expect((await persistence.getConversations('survey')).get('[1,2]')).toBe('ASK_AGE');
    expect((await persistence.getUserData()).get(12345)).toMatchObject({ seen: new Date('2024-05-01T12:00:00.123Z'), big: 2n ** 70n });
  });

  it('import writes an export file to a new path (If-None-Match), and export gives it back byte for byte', async () => {
    const exported = (await cli(['export', url(path)])).stdout;
    const dir = await mkdtemp(join(tmpdir(), 'cli-export-'));
    try {
      await writeFile(join(dir, 'state.json'), exported);
      const { code, stdout } = await cli(['import', url('copy/bot'), join(dir, 'state.json')]);
      expect(code).toBe(0);
      expect(stdout).toContain(`imported ${join(dir, 'state.json')} into ${url('copy/bot')} (single-file layout)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await cli(['export', url('copy/bot')])).stdout).toBe(exported);
  });

  it('import refuses to overwrite without --force (exit 3) and leaves the object as it was', async () => {
    const before = await etagOf('copy/bot');
    const exported = (await cli(['export', url(path)])).stdout;
    const { code, stderr } = await cli(['import', url('copy/bot'), '-'], { input: exported });
    expect(code).toBe(3);
    expect(stderr).toMatch(/refusing to overwrite .*pass --force/);
    expect(await etagOf('copy/bot')).toBe(before);
    expect((await cli(['import-ptb', url('copy/bot'), join(fixtures, 'multi_file')])).code).toBe(3);
  });

  it('import --force replaces it (If-Match on the ETag read)', async () => {
    const before = await etagOf('copy/bot');
    const changed = JSON.parse((await cli(['export', url(path)])).stdout) as Record<string, unknown>;
    changed.bot_data = { replaced: true };
    const { code } = await cli(['import', url('copy/bot'), '-', '--force'], { input: JSON.stringify(changed) });
    expect(code).toBe(0);
    expect(await etagOf('copy/bot')).not.toBe(before);
    expect(await new S3Persistence({ filepath: url('copy/bot'), client }).getBotData()).toEqual({ replaced: true });
  });

  it("import-ptb reads PTB's multi-file layout and writes ours with --layout multi-file", async () => {
    const args = ['import-ptb', url('multi/bot'), join(fixtures, 'multi_file'), '--multi-file', '--layout', 'multi-file', '--bot-marker', 'bot'];
    const { code, stdout } = await cli(args);
    expect(code).toBe(0);
    expect(stdout).toContain("read 1 of PTB's bot markers as the bot, as --bot-marker says (--bot-marker none reads them as None)\n");
    expect(await keysUnder('multi/')).toEqual(['multi/bot_bot_data', 'multi/bot_chat_data', 'multi/bot_conversations', 'multi/bot_user_data']);
    const inspected = await cli(['inspect', url('multi/bot')]);
    expect(inspected.stdout).toContain('(multi-file layout)');
    expect(inspected.stdout).toMatch(/multi\/bot_callback_data +absent/);
    const expected = JSON.parse(await readFile(join(fixtures, 'multi_file.expected.json'), 'utf8')) as unknown;
    expect(JSON.parse((await cli(['export', url('multi/bot')])).stdout)).toEqual(expected);
  });

  it('import-ptb reads the files of a PicklePersistence without a bot as PTB does, and says how it read the markers', async () => {
    const { code, stdout } = await cli(['import-ptb', url('no-bot/bot'), join(fixtures, 'no_bot_single_file.pickle')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^read \d+ of PTB's bot markers as None, since the files hold no None: they were written without set_bot, .*\(--bot-marker bot reads them as the bot\)$/m);
    const expected = JSON.parse(await readFile(join(fixtures, 'no_bot_single_file.expected.json'), 'utf8')) as unknown;
    expect(sortSets(JSON.parse((await cli(['export', url('no-bot/bot')])).stdout))).toEqual(sortSets(expected));
    const wrong = await cli(['import-ptb', url('no-bot/other'), join(fixtures, 'no_bot_single_file.pickle'), '--bot-marker', 'robot']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--bot-marker is bot or none, not "robot"');
  });

  it('import-ptb refuses an unmappable value by path (exit 5) and writes nothing', async () => {
    const { code, stderr } = await cli(['import-ptb', url('refused/bot'), join(fixtures, 'refuse_telegram_object.pickle')]);
    expect(code).toBe(5);
    expect(stderr).toMatch(/cannot store user_data\[7\]\.me: a telegram\.User \(a TelegramObject\)/);
    expect(await keysUnder('refused/')).toEqual([]);
  });

  it('export | import - moves a state through a pipe, progress on stderr with --progress', async () => {
    const exported = await cli(['export', url(path), '--progress']);
    expect(exported.stderr).toMatch(new RegExp(`^reading ${url(path)} 8/8$`, 'm'));
    expect(exported.stderr).toContain('converting to JSON\n');
    const imported = await cli(['import', url('piped/bot'), '-'], { input: exported.stdout });
    expect(imported.code).toBe(0);
    expect(imported.stderr).toBe('');
    expect((await cli(['export', url('piped/bot')])).stdout).toBe(exported.stdout);
  });
});

describe('the sharded layout and migrate on MinIO', () => {
  it('import-ptb writes one object per entry with --layout sharded; export is the same as from the single file', async () => {
    const { code } = await cli(['import-ptb', url('shards/bot'), join(fixtures, 'single_file.pickle'), '--layout', 'sharded']);
    expect(code).toBe(0);
    const keys = await keysUnder('shards/');
    expect(keys).toContain('shards/bot/bot_data');
    expect(keys.filter((key) => key.startsWith('shards/bot/user_data/'))).toHaveLength(3);
    expect(keys.filter((key) => key.startsWith('shards/bot/conversations/'))).toHaveLength(4);
    expect((await cli(['export', url('shards/bot')])).stdout).toBe((await cli(['export', url('ptb/bot')])).stdout);
  });

  it('migrate moves a single file to sharded, verifies, records it, and deletes the source when asked', async () => {
    const before = (await cli(['export', url('ptb/bot')])).stdout;
    const { code, stdout } = await cli(['migrate', url('ptb/bot'), '--to', 'sharded', '--delete-source']);
    expect(code).toBe(0);
    expect(stdout).toContain(`migrated ${url('ptb/bot')} (single-file) to ${url('ptb/bot')} (sharded): verified`);
    expect(stdout).toContain('3 users, 2 chats, 4 conversation keys, 6 bot_data keys, 1 callback keyboard');
    expect(await keysUnder('ptb/bot')).not.toContain('ptb/bot');
    expect(await keysUnder('ptb/bot.migration.json')).toEqual(['ptb/bot.migration.json']);
    expect((await cli(['inspect', url('ptb/bot')])).stdout).toContain('(sharded layout)');
    expect((await cli(['export', url('ptb/bot')])).stdout).toBe(before);
  });
});

describe('failures of the storage', () => {
  it('exits 4 for a bucket that does not exist', async () => {
    const { code, stderr } = await cli(['export', 's3://no-such-bucket-here/bot']);
    expect(code).toBe(4);
    expect(stderr).toContain(`the bucket "no-such-bucket-here" does not exist at ${inject('minio').endpoint}; create it`);
    // The first request that failed: a GET of a layout's object, or the sharded layout's first listing.
    expect(stderr).toMatch(/\(s3:\/\/no-such-bucket-here\/bot(?:[^/]*|\/chat_data)\)\n$/);
  });

  it('exits 1 when the credentials are refused, and says so', async () => {
    const { code, stderr } = await cli(['inspect', url('ptb/bot')], { env: { AWS_SECRET_ACCESS_KEY: 'wrong-secret' } });
    expect(code).toBe(1);
    expect(stderr).toContain(`credentials were refused at ${inject('minio').endpoint} (SignatureDoesNotMatch)`);
    expect(stderr).toContain('MINIO_ROOT_USER and MINIO_ROOT_PASSWORD');
  });

  it('exits 1 when nothing listens at S3_ENDPOINT, and says to start MinIO', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await new Promise((resolve) => server.close(resolve));
    const { code, stderr } = await cli(['inspect', url('ptb/bot')], { env: { S3_ENDPOINT: endpoint } });
    expect(code).toBe(1);
    expect(stderr).toContain(`failed at ${endpoint}: no response, connection refused (connect ECONNREFUSED`);
    expect(stderr).toContain('is the server running? Start MinIO (npm run minio -- run), or fix S3_ENDPOINT');
    expect(stderr).toMatch(new RegExp(`\\(s3://${bucket}/ptb/bot(?:/chat_data)?\\)\n$`));
  });

  it('exits 5 for a stored object that is not a snapshot', async () => {
    await new S3ObjectStore({ client, bucket }).put('junk/bot', new TextEncoder().encode('junk'), { ifNoneMatch: '*' });
    const { code, stdout } = await cli(['inspect', url('junk/bot')]);
    expect(code).toBe(5);
    expect(stdout).toMatch(/junk\/bot +4 B .*UNREADABLE/);
    expect((await cli(['export', url('junk/bot')])).code).toBe(5);
  });
});

describe('the conditions of a whole-state write, on MinIO', () => {
  it('loses If-Match to a writer that changed the object after the read, and keeps its change', async () => {
    const store = new S3ObjectStore({ client, bucket });
    const writer = new S3Persistence({ filepath: url('race/bot'), client });
    await writer.updateBotData({ round: 1 });
    const read = await readStoredState(store, 'race/bot');
    await writer.updateBotData({ round: 2 });
    await expect(writeStoredState(store, read, new Map([['bot_data', { imported: true }]]), { overwrite: true })).rejects.toBeInstanceOf(SnapshotChangedError);
    expect(await new S3Persistence({ filepath: url('race/bot'), client }).getBotData()).toEqual({ round: 2 });
  });

  it('loses If-None-Match to a writer that created the object after the read', async () => {
    const store = new S3ObjectStore({ client, bucket });
    const read = await readStoredState(store, 'race/new');
    await new S3Persistence({ filepath: url('race/new'), client }).updateUserData(1, { first: true });
    const error = await writeStoredState(store, read, new Map([['bot_data', {}]])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapshotChangedError);
    expect((error as SnapshotChangedError).message).toMatch(/nothing was written/);
  });
});

describe('python-telegram-bot pickles made now', () => {
  it('import losslessly through the executable (skipped without PTB)', async (context) => {
    try {
      await promisify(execFile)('python3', ['-c', 'import telegram']);
    } catch {
      console.warn('python-telegram-bot is not installed (pip install python-telegram-bot): fresh pickles not checked');
      context.skip();
    }
    const dir = await mkdtemp(join(tmpdir(), 'cli-ptb-'));
    try {
      await promisify(execFile)('python3', [join(fixtures, 'make_fixtures.py'), dir]);
      expect((await cli(['import-ptb', url('fresh/bot'), join(dir, 'single_file.pickle')])).code).toBe(0);
      const expected = JSON.parse(await readFile(join(dir, 'single_file.expected.json'), 'utf8')) as unknown;
      expect(sortSets(JSON.parse((await cli(['export', url('fresh/bot')])).stdout))).toEqual(sortSets(expected));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the AWS SDK's notice that its 2027 releases need Node 22", () => {
  const NOTICE = 'NodeVersionSupportWarning';
  // Not silenced: the environment a user has.
  const shown = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '' };

  it('is printed once by the executable on Node 20, where it is true', async () => {
    const { code, stderr } = await cli(['inspect', url('notice/none')], { env: shown });
    expect(code).toBe(4);
    expect(stderr.split(NOTICE)).toHaveLength(2);
    expect(stderr).toContain('You are running node v20.');
  });

  it('is not printed on Node 24 (the `node` npm package first on PATH)', async () => {
    const node24 = await ensureRuntime('node24');
    const { code, stderr } = await cli(['inspect', url('notice/none')], { env: { ...shown, PATH: `${dirname(node24)}:${process.env.PATH ?? ''}` } });
    expect(code).toBe(4);
    expect(stderr).not.toContain(NOTICE);
  }, 300_000);
});
