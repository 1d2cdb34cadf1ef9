// The command-line tool in-process, on an in-memory store: arguments, help, exit codes, and what
// each command prints and writes. test/integration/cli.test.ts runs the built executable on MinIO.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { encodeSnapshot, SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { type ObjectStore, type ReadResult, type WriteCondition } from '../../src/store/object-store.js';
import { S3Persistence } from '../../src/s3-persistence.js';
import type { LayoutName } from '../../src/snapshot/layout.js';
import { FileLikeStore } from '../support/stores.js';

const fixtures = fileURLToPath(new URL('../fixtures/ptb/', import.meta.url));
const BUCKET = 'bots';
const URL_ = `s3://${BUCKET}/prod/state`;

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string, callback?: (error?: Error | null) => void): boolean {
    this.text += chunk;
    callback?.();
    return true;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], options: { store?: ObjectStore; stdin?: string; tty?: boolean } = {}): Promise<Run> {
  const stdout = new Capture();
  const stderr = new Capture(options.tty);
  const store = options.store ?? new MemoryObjectStore(BUCKET);
  const code = await runCli(argv, {
    stdout,
    stderr,
    stdin: (async function* () {
      yield options.stdin ?? '';
    })(),
    openStore: (bucket) => {
      if (bucket !== store.bucket) throw new Error(`the test store is for ${store.bucket}, not ${bucket}`);
      return store;
    },
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A store holding a bot's state, written by S3Persistence itself. */
async function seeded(options: { singleFile?: boolean; layout?: LayoutName; path?: string; store?: MemoryObjectStore } = {}): Promise<MemoryObjectStore> {
  const store = options.store ?? new MemoryObjectStore(BUCKET);
  const filepath = `s3://${BUCKET}/${options.path ?? 'prod/state'}`;
  const persistence = new S3Persistence({ filepath, store, singleFile: options.singleFile, layout: options.layout });
  await persistence.updateUserData(42, { name: 'Ada', seen: new Date('2024-05-01T12:00:00.123Z'), big: 2n ** 70n });
  await persistence.updateUserData(7, { tags: new Set(['admin']) });
  await persistence.updateChatData(-1001234567890, { note: 'friday' });
  await persistence.updateBotData({ total: 10, greeting: 'hi' });
  await persistence.updateCallbackData([[['kb1', 1718000000.25, { b1: { action: 'vote' } }]], { q1: 'kb1' }]);
  await persistence.updateConversation('survey', [1, 2], 'ASK_AGE');
  await persistence.updateConversation('survey', ['1', 2], 'ASK_NAME');
  await persistence.updateConversation('checkout', [3, 4], { step: 3 });
  return store;
}

/** A store on which another writer changes `key` right before this process's first write. */
class RacingStore implements ObjectStore {
  readonly bucket: string;
  private raced = false;
  constructor(private readonly inner: MemoryObjectStore) {
    this.bucket = inner.bucket;
  }
  get(key: string, options?: { ifNoneMatch?: string }): Promise<ReadResult> {
    return this.inner.get(key, options);
  }
  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  async put(key: string, body: Uint8Array, condition: WriteCondition): Promise<{ etag: string }> {
    if (!this.raced) {
      this.raced = true;
      const current = this.inner.objects.get(key);
      const theirs = encodeSnapshot(new Map([['bot_data', { theirs: true }]]));
      await this.inner.put(key, theirs, current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag });
    }
    return this.inner.put(key, body, condition);
  }
}

/** Each counted progress line shows a total above 0, and the same total for as long as its step lasts. */
function expectStableCounts(stderr: string): void {
  const totals = new Map<string, string>();
  for (const line of stderr.split('\n')) {
    const counted = /^(.*) (\d+)\/(\d+)$/.exec(line);
    if (counted === null) continue;
    const [, step, , total] = counted;
    expect(Number(total), line).toBeGreaterThan(0);
    expect(totals.get(step!) ?? total, line).toBe(total);
    totals.set(step!, total!);
  }
  expect(totals.size).toBeGreaterThan(0);
}

describe('help and usage', () => {
  it('lists the commands and the exit codes with --help (exit 0)', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of ['inspect URL', 'export URL', 'import URL FILE', 'import-ptb URL PICKLE_PATH']) expect(stdout).toContain(command);
    expect(stdout).toMatch(/Exit codes:\n {2}0 {2}done\n {2}1 {2}failure/);
    expect(stdout).toContain('S3_ENDPOINT');
  });

  it('prints the help on stderr and exits 2 without a command', async () => {
    const { code, stdout, stderr } = await cli([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: telegram-s3-persistence <command>');
  });

  it.each(['inspect', 'export', 'import', 'import-ptb'])('has --help for %s, and help %s says the same', async (command) => {
    const viaOption = await cli([command, '--help']);
    const viaHelp = await cli(['help', command]);
    expect(viaOption.code).toBe(0);
    expect(viaOption.stdout).toMatch(new RegExp(`^Usage: telegram-s3-persistence ${command} `));
    expect(viaOption.stdout).toContain('--progress');
    expect(viaOption.stdout).toContain('Exit codes:');
    expect(viaHelp.stdout).toBe(viaOption.stdout);
  });

  it.each([[['help', '--help']], [['help', '-h']], [['help', 'help']], [['-h']]])('answers %j with the general help (exit 0)', async (argv) => {
    const { code, stdout, stderr } = await cli(argv);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe((await cli(['--help'])).stdout);
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout).toBe(`${pkg.version}\n`);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['help', 'frobnicate'], /unknown command "frobnicate"/],
    [['inspect'], /inspect: missing URL/],
    [['import', URL_], /import: missing FILE/],
    [['export', URL_, 'extra'], /unexpected argument "extra"/],
    [['export', URL_, '--colour'], /Unknown option '--colour'/],
    [['export', 'http://example.com/x'], /must be s3:\/\/bucket\/path/],
    [['export', 's3://bucket-only'], /must name an object/],
    [['export', URL_, '--layout', 'sharded-by-magic'], /a layout is one of single-file, multi-file, sharded, not "sharded-by-magic"/],
    [['migrate', URL_], /migrate needs --to LAYOUT/],
  ])('refuses %j with exit 2 and a pointer to --help', async (argv, message) => {
    const { code, stderr } = await cli(argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/--help/);
  });
});

describe('inspect', () => {
  it('summarizes a single-file snapshot: object, size, ETag, format version and counts', async () => {
    const store = await seeded();
    const { code, stdout } = await cli(['inspect', URL_], { store });
    expect(code).toBe(0);
    const size = store.objects.get('prod/state')!.body.length;
    expect(stdout).toContain(`${URL_} (single-file layout)`);
    expect(stdout).toMatch(new RegExp(`prod/state +${size} B +ETag "\\d+" +format version ${SNAPSHOT_VERSION}`));
    expect(stdout).toMatch(/user_data +2 users/);
    expect(stdout).toMatch(/chat_data +1 chat\n/);
    expect(stdout).toMatch(/bot_data +2 keys/);
    expect(stdout).toMatch(/callback_data +1 keyboard, 1 callback query/);
    expect(stdout).toMatch(/conversations +3 keys in 2 conversations \(survey: 2, checkout: 1\)/);
  });

  it('detects the multi-file layout, and prints JSON with --json', async () => {
    const store = await seeded({ singleFile: false });
    const { code, stdout } = await cli(['inspect', URL_, '--json'], { store });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { layout: string; objects: Array<{ key: string; exists: boolean; formatVersion: number | null }>; counts: unknown };
    expect(report.layout).toBe('multi-file');
    expect(report.objects.map((object) => [object.key, object.exists, object.formatVersion])).toEqual([
      ['prod/state_user_data', true, SNAPSHOT_VERSION],
      ['prod/state_chat_data', true, SNAPSHOT_VERSION],
      ['prod/state_bot_data', true, SNAPSHOT_VERSION],
      ['prod/state_callback_data', true, SNAPSHOT_VERSION],
      ['prod/state_conversations', true, SNAPSHOT_VERSION],
    ]);
    expect(report.counts).toEqual({
      users: 2,
      chats: 1,
      botDataKeys: 2,
      callbackKeyboards: 1,
      callbackQueries: 1,
      conversations: { survey: 2, checkout: 1 },
      processedUpdates: 0,
    });
  });

  it('exits 4 when nothing is stored, naming where it looked', async () => {
    const { code, stderr } = await cli(['inspect', URL_]);
    expect(code).toBe(4);
    expect(stderr).toMatch(/nothing is stored at s3:\/\/bots\/prod\/state \(looked in bucket bots for prod\/state; prod\/state_user_data, .*; objects under prod\/state\/\)/);
  });

  it('exits 2 when both layouts exist, asking for --layout; --layout picks one', async () => {
    const store = await seeded();
    const other = await seeded({ singleFile: false });
    for (const [key, object] of other.objects) store.objects.set(key, object);
    const ambiguous = await cli(['inspect', URL_], { store });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/objects of more than one layout exist .*choose one with --layout/);
    expect((await cli(['inspect', URL_, '--layout', 'multi-file'], { store })).stdout).toContain('(multi-file layout)');
  });

  it('lists an object that cannot be decoded, and exits 5', async () => {
    const store = new MemoryObjectStore(BUCKET);
    await store.put('prod/state', new TextEncoder().encode('not cbor at all'), { ifNoneMatch: '*' });
    const { code, stdout, stderr } = await cli(['inspect', URL_], { store });
    expect(code).toBe(5);
    expect(stdout).toMatch(/prod\/state +15 B +ETag "1" +format unknown +UNREADABLE/);
    expect(stderr).toMatch(/cannot decode the stored snapshot.*s3:\/\/bots\/prod\/state/);
  });

  it('names the version of a snapshot written by a newer release', async () => {
    const { encode } = await import('cbor-x');
    const store = new MemoryObjectStore(BUCKET);
    await store.put('prod/state', encode({ $format: 'telegram-s3-persistence', $version: 9 }), { ifNoneMatch: '*' });
    const { code, stdout, stderr } = await cli(['inspect', URL_], { store });
    expect(code).toBe(5);
    expect(stdout).toContain('format version 9');
    expect(stderr).toMatch(/format version 9 by a newer release/);
  });
});

describe('export and import', () => {
  it('export prints the state as JSON; import writes it elsewhere; S3Persistence reads the same state there', async () => {
    const store = await seeded();
    const exported = await cli(['export', URL_], { store });
    expect(exported.code).toBe(0);
    const json = JSON.parse(exported.stdout) as Record<string, unknown>;
    expect(json.$format).toBe('telegram-s3-persistence-export');
    expect((json.user_data as Record<string, unknown>)['42']).toEqual({
      name: 'Ada',
      seen: { $date: '2024-05-01T12:00:00.123Z' },
      big: { $bigint: '1180591620717411303424' },
    });
    expect(json).not.toHaveProperty('$writes');

    const imported = await cli(['import', `s3://${BUCKET}/copy/state`, '-'], { store, stdin: exported.stdout });
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/wrote s3:\/\/bots\/copy\/state \(ETag "\d+"\)\nimported - into s3:\/\/bots\/copy\/state \(single-file layout\)/);
    expect((await cli(['export', `s3://${BUCKET}/copy/state`], { store })).stdout).toBe(exported.stdout);

    const original = new S3Persistence({ filepath: URL_, store });
    const copy = new S3Persistence({ filepath: `s3://${BUCKET}/copy/state`, store });
    expect(await copy.getUserData()).toEqual(await original.getUserData());
    expect(await copy.getConversations('survey')).toEqual(await original.getConversations('survey'));
    expect(await copy.getCallbackData()).toEqual(await original.getCallbackData());
  });

  it('refuses to overwrite a snapshot without --force (exit 3), and leaves it untouched', async () => {
    const store = await seeded();
    const before = store.objects.get('prod/state');
    const json = (await cli(['export', URL_], { store })).stdout;
    const refused = await cli(['import', URL_, '-'], { store, stdin: json });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('refusing to overwrite the snapshot that exists (s3://bots/prod/state): pass --force to replace it');
    expect(refused.stderr).not.toContain('force:');
    expect(store.objects.get('prod/state')).toBe(before);

    const forced = await cli(['import', URL_, '-', '--force'], { store, stdin: json });
    expect(forced.code).toBe(0);
    expect(store.objects.get('prod/state')!.etag).not.toBe(before!.etag);
  });

  it('never overwrites a change made after it read the snapshot, even with --force (exit 6)', async () => {
    const inner = await seeded();
    const json = (await cli(['export', URL_], { store: inner })).stdout;
    const { code, stderr } = await cli(['import', URL_, '-', '--force'], { store: new RacingStore(inner), stdin: json });
    expect(code).toBe(6);
    expect(stderr).toMatch(/another writer changed the object .*nothing was written.*s3:\/\/bots\/prod\/state/);
    const kept = await new S3Persistence({ filepath: URL_, store: inner }).getBotData();
    expect(kept).toEqual({ theirs: true });
  });

  it('writes each section to its object in the multi-file layout, and empties objects the export does not fill', async () => {
    const store = await seeded({ singleFile: false });
    const json = JSON.parse((await cli(['export', URL_], { store })).stdout) as Record<string, unknown>;
    delete json.callback_data;
    const { code } = await cli(['import', URL_, '-', '--force'], { store, stdin: JSON.stringify(json) });
    expect(code).toBe(0);
    const reader = new S3Persistence({ filepath: URL_, store, singleFile: false });
    expect(await reader.getCallbackData()).toBeNull();
    expect((await reader.getUserData()).size).toBe(2);
    expect(store.objects.has('prod/state')).toBe(false);
  });

  it('writes a new multi-file state with --layout', async () => {
    const store = await seeded();
    const json = (await cli(['export', URL_], { store })).stdout;
    const { code } = await cli(['import', `s3://${BUCKET}/split/state`, '-', '--layout', 'multi-file'], { store, stdin: json });
    expect(code).toBe(0);
    expect([...store.objects.keys()].filter((key) => key.startsWith('split/')).sort()).toEqual([
      'split/state_bot_data',
      'split/state_callback_data',
      'split/state_chat_data',
      'split/state_conversations',
      'split/state_user_data',
    ]);
    expect((await cli(['export', `s3://${BUCKET}/split/state`], { store })).stdout).toBe(json);
  });

  it('exits 4 for a missing file and 5 for a file that is not an export, writing nothing', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const missing = await cli(['import', URL_, '/nonexistent/export.json'], { store });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/ENOENT/);
    const notJson = await cli(['import', URL_, '-'], { store, stdin: '{"user_data": ' });
    expect(notJson.code).toBe(5);
    expect(notJson.stderr).toMatch(/- is not JSON/);
    const notExport = await cli(['import', URL_, '-'], { store, stdin: '{"$format": "telegram-s3-persistence-export", "$version": 1, "user_data": {"x": {}}}' });
    expect(notExport.code).toBe(5);
    expect(notExport.stderr).toMatch(/at user_data\["x"\]: an id must be a decimal integer/);
    expect(store.objects.size).toBe(0);
  });

  it('exits 4 when exporting nothing, and 5 when the snapshot cannot be decoded', async () => {
    expect((await cli(['export', URL_])).code).toBe(4);
    const store = new MemoryObjectStore(BUCKET);
    await store.put('prod/state', new Uint8Array([1, 2, 3]), { ifNoneMatch: '*' });
    const corrupt = await cli(['export', URL_], { store });
    expect(corrupt.code).toBe(5);
    expect(corrupt.stdout).toBe('');
  });
});

describe('the sharded layout', () => {
  it('is detected and inspected: one object per user, chat and conversation key', async () => {
    const store = await seeded({ layout: 'sharded' });
    const { code, stdout } = await cli(['inspect', URL_], { store });
    expect(code).toBe(0);
    expect(stdout).toContain('(sharded layout)');
    expect(stdout).toMatch(/prod\/state\/user_data\/[0-9a-f]{2}\/42 /);
    expect(stdout).toMatch(/prod\/state\/conversations\/survey\/[0-9a-f]{2}\/%5B1%2C2%5D /);
    expect(stdout).toMatch(/user_data +2 users\nchat_data +1 chat\nbot_data +2 keys\ncallback_data +1 keyboard, 1 callback query\nconversations +3 keys in 2 conversations/);
  });

  it('lists a few objects of a large state, then the totals', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const persistence = new S3Persistence({ filepath: URL_, store, layout: 'sharded' });
    for (let id = 1; id <= 30; id++) await persistence.updateUserData(id, { id });
    const { stdout } = await cli(['inspect', URL_], { store });
    expect(stdout).toMatch(/\.\.\. 22 more objects; 30 objects in all, \d+(\.\d)? (B|KiB)\n/);
    expect(stdout).toMatch(/user_data +30 users/);
  });

  it('exports the same JSON as the same state in the single file', async () => {
    const store = await seeded({ layout: 'sharded' });
    await seeded({ store, path: 'single/state' });
    const sharded = JSON.parse((await cli(['export', URL_], { store })).stdout) as unknown;
    const single = JSON.parse((await cli(['export', `s3://${BUCKET}/single/state`], { store })).stdout) as unknown;
    expect(sharded).toEqual(single);
  });

  it('imports one object per entry, and empties the objects of entries the export does not hold', async () => {
    const store = await seeded({ layout: 'sharded' });
    const json = JSON.parse((await cli(['export', URL_], { store })).stdout) as { user_data: Record<string, unknown> };
    delete json.user_data['7'];
    json.user_data['99'] = { fresh: true };
    const { code } = await cli(['import', URL_, '-', '--force'], { store, stdin: JSON.stringify(json) });
    expect(code).toBe(0);
    const users = await new S3Persistence({ filepath: URL_, store, layout: 'sharded' }).getUserData();
    expect([...users.keys()].sort((a, b) => a - b)).toEqual([42, 99]);
    expect(JSON.parse((await cli(['export', URL_], { store })).stdout)).toEqual(json);
  });
});

describe('migrate', () => {
  it('moves a single file to the sharded layout, verified, keeping the source', async () => {
    const store = await seeded();
    const before = (await cli(['export', URL_], { store })).stdout;
    const { code, stdout } = await cli(['migrate', URL_, '--to', 'sharded'], { store });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^migrated s3:\/\/bots\/prod\/state \(single-file\) to s3:\/\/bots\/prod\/state \(sharded\): verified\n/);
    expect(stdout).toContain('2 users, 1 chat, 3 conversation keys, 2 bot_data keys, 1 callback keyboard');
    expect(stdout).toMatch(/checksum sha256:[0-9a-f]{64}/);
    expect(stdout).toContain('verified migration recorded in s3://bots/prod/state.migration.json');
    expect(stdout).toContain('source kept');
    expect(store.objects.has('prod/state')).toBe(true);
    expect((await cli(['export', URL_, '--layout', 'sharded'], { store })).stdout).toBe(before);

    // Both layouts now exist: detection asks which one is meant.
    expect((await cli(['migrate', URL_, '--to', 'sharded'], { store })).code).toBe(2);
    const again = await cli(['migrate', URL_, '--from', 'single-file', '--to', 'sharded', '--delete-source'], { store });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 entries copied, \d+ already there/);
    expect(again.stdout).toMatch(/source objects? deleted/);
    expect(store.objects.has('prod/state')).toBe(false);
    expect((await cli(['inspect', URL_], { store })).stdout).toContain('(sharded layout)');
  });

  it('writes to another path with --target, in any layout', async () => {
    const store = await seeded({ layout: 'sharded' });
    const { code } = await cli(['migrate', URL_, '--to', 'multi-file', '--target', `s3://${BUCKET}/other/state`], { store });
    expect(code).toBe(0);
    expect((await cli(['export', `s3://${BUCKET}/other/state`], { store })).stdout).toBe((await cli(['export', URL_], { store })).stdout);
  });

  it('refuses a migration to the layout already stored (exit 2) and exits 4 when nothing is stored', async () => {
    const store = await seeded();
    const same = await cli(['migrate', URL_, '--to', 'single-file'], { store });
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/already in the single-file layout/);
    expect((await cli(['migrate', `s3://${BUCKET}/nothing`, '--to', 'sharded'], { store })).code).toBe(4);
  });

  it('refuses in place, with exit 7 and nothing written, where the server cannot keep keys under the snapshot', async () => {
    const store = new FileLikeStore(BUCKET); // versitygw: 409 ObjectParentIsFile
    await seeded({ store });
    const before = [...store.objects].map(([key, { etag }]) => `${key} ${etag}`);
    const { code, stdout, stderr } = await cli(['migrate', URL_, '--to', 'sharded', '--delete-source'], { store });
    expect(code).toBe(7);
    expect(stdout).toBe('');
    expect(stderr).toContain('"prod/state" (single-file, the source) and "prod/state/user_data/" (sharded) share a path');
    expect(stderr).toContain(
      "Nothing was written. Migrate to another filepath (--target URL), then switch the bot's PERSISTENCE_URL to it; " +
        'or, with the bot stopped, migrate to a temporary filepath with --delete-source, then from there back to this one',
    );
    expect([...store.objects].map(([key, { etag }]) => `${key} ${etag}`)).toEqual(before);

    // What the message says works on that server: through a temporary filepath, and back.
    const temporary = `s3://${BUCKET}/prod/state-sharded`;
    expect((await cli(['migrate', URL_, '--to', 'sharded', '--target', temporary, '--delete-source'], { store })).code).toBe(0);
    const back = await cli(['migrate', temporary, '--from', 'sharded', '--to', 'sharded', '--target', URL_, '--delete-source'], { store });
    expect(back.code).toBe(0);
    expect((await cli(['inspect', URL_], { store })).stdout).toContain('(sharded layout)');
    expect([...store.objects.keys()].filter((key) => key.startsWith('prod/state-sharded/'))).toEqual([]);
  });

  it('reports its phases with --progress', async () => {
    const store = await seeded();
    const { stderr } = await cli(['migrate', URL_, '--to', 'sharded', '--progress'], { store });
    expect(stderr).toMatch(/^read source$/m);
    expect(stderr).toMatch(/^copy: entries \d+\/\d+$/m);
    expect(stderr).toMatch(/^verify$/m);
    expectStableCounts(stderr);
  });

  it('counts a sharded source kind by kind, each with its own total and never 0/0', async () => {
    const store = await seeded({ layout: 'sharded' });
    const { code, stderr } = await cli(['migrate', URL_, '--to', 'single-file', '--progress'], { store });
    expect(code).toBe(0);
    expect(stderr).toMatch(/^read source: users 2\/2$/m);
    expect(stderr).toMatch(/^read source: chats 1\/1$/m);
    expectStableCounts(stderr);
  });
});

describe('import-ptb', () => {
  it("imports PTB's single file; the export is what python-telegram-bot loads from it", async () => {
    const store = new MemoryObjectStore(BUCKET);
    const { code, stdout } = await cli(['import-ptb', URL_, `${fixtures}single_file.pickle`], { store });
    expect(code).toBe(0);
    expect(stdout).toMatch(/read .*single_file\.pickle\nread \d+ of PTB's bot markers as the bot, since the files hold a None: .*\nwrote s3:\/\/bots\/prod\/state \(ETag "1"\)\nimported/);
    const exported = JSON.parse((await cli(['export', URL_], { store })).stdout) as Record<string, unknown>;
    const expected = JSON.parse(await readFile(`${fixtures}single_file.expected.json`, 'utf8')) as Record<string, unknown>;
    expect(exported.chat_data).toEqual(expected.chat_data);
    expect(exported.conversations).toEqual(expected.conversations);
    expect(exported.callback_data).toEqual(expected.callback_data);
  });

  it('reads the multi-file layout with --multi-file', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const { code } = await cli(['import-ptb', URL_, `${fixtures}multi_file`, '--multi-file'], { store });
    expect(code).toBe(0);
    const users = await new S3Persistence({ filepath: URL_, store }).getUserData();
    expect(users.get(42)).toMatchObject({ count: 3, when: new Date('2024-02-29T23:59:59.999Z') });
  });

  it('refuses a value it cannot map by path (exit 5), writing nothing', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const { code, stderr } = await cli(['import-ptb', URL_, `${fixtures}refuse_custom_class.pickle`], { store });
    expect(code).toBe(5);
    expect(stderr).toMatch(/cannot store user_data\[123\]\.obj: an instance of class mymodule\.Foo cannot be stored/);
    expect(store.objects.size).toBe(0);
  });

  it('refuses microseconds unless --truncate-microseconds', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const refused = await cli(['import-ptb', URL_, `${fixtures}microseconds.pickle`], { store });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/has microseconds and a Date keeps milliseconds: import with --truncate-microseconds to drop them\n$/);
    expect((await cli(['import-ptb', URL_, `${fixtures}microseconds.pickle`, '--truncate-microseconds'], { store })).code).toBe(0);
  });

  it('refuses to overwrite without --force (exit 3), and exits 4 for a missing pickle', async () => {
    const store = await seeded();
    expect((await cli(['import-ptb', URL_, `${fixtures}single_file.pickle`], { store })).code).toBe(3);
    expect((await cli(['import-ptb', URL_, `${fixtures}single_file.pickle`, '--force'], { store })).code).toBe(0);
    const missing = await cli(['import-ptb', URL_, `${fixtures}nothing-here`], { store });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no PicklePersistence file at .*nothing-here/);
  });

  it('exits 5 for a file that is not a pickle', async () => {
    const { code, stderr } = await cli(['import-ptb', URL_, `${fixtures}manifest.json`]);
    expect(code).toBe(5);
    expect(stderr).toMatch(/cannot read .*manifest\.json: it does not start with a PROTO opcode/);
  });
});

describe('progress', () => {
  it('is silent on stderr when it is not a terminal', async () => {
    const store = await seeded();
    expect((await cli(['export', URL_], { store })).stderr).toBe('');
  });

  it('prints each step as a line with --progress, each count with the total known from the start', async () => {
    const store = await seeded({ singleFile: false });
    const { stderr } = await cli(['import-ptb', `s3://${BUCKET}/new/state`, `${fixtures}single_file.pickle`, '--progress'], { store });
    const lines = stderr.split('\n');
    expect(lines[0]).toMatch(/^reading .*single_file\.pickle$/);
    expect(lines.slice(1)).toEqual([
      'reading s3://bots/new/state: listing its objects',
      ...Array.from({ length: 9 }, (_, done) => `reading s3://bots/new/state ${done}/8`),
      'writing s3://bots/new/state 0/1',
      'writing s3://bots/new/state 1/1',
      '',
    ]);
  });

  it('prints a long count as plain lines at each tenth only', async () => {
    const store = new MemoryObjectStore(BUCKET);
    const persistence = new S3Persistence({ filepath: URL_, store, layout: 'sharded' });
    for (let id = 1; id <= 40; id++) await persistence.updateUserData(id, { id });
    const { code, stderr } = await cli(['export', URL_, '--progress'], { store });
    expect(code).toBe(0);
    const counts = stderr
      .split('\n')
      .map((line) => /^reading s3:\/\/bots\/prod\/state (\d+)\/(\d+)$/.exec(line))
      .filter((match) => match !== null)
      .map(([, done, total]) => [Number(done), Number(total)] as const);
    const total = counts[0]![1];
    expect(total).toBeGreaterThan(40); // the 40 users' objects, and the keys of the other layouts
    // One line at 0, one in each further tenth, one at the end.
    expect(counts.map(([done]) => Math.min(10, Math.floor((10 * done) / total)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(counts.at(-1)).toEqual([total, total]);
  });

  it('rewrites one status line on a terminal and clears it at the end', async () => {
    const store = await seeded();
    const { stderr } = await cli(['export', URL_], { store, tty: true });
    // eslint-disable-next-line no-control-regex -- the terminal's erase-line sequence is what is tested
    expect(stderr).toMatch(/\r\x1b\[K. reading s3:\/\/bots\/prod\/state 8\/8 \(\d+\.\ds\)/);
    expect(stderr).not.toContain('\n');
    expect(stderr.endsWith('\r\x1b[K')).toBe(true);
  });
});
