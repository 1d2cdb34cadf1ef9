// python-telegram-bot's own PicklePersistence files import as what PTB itself loads from them:
// the committed fixtures always, and fixtures made afresh by the installed PTB when there is one.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateToJson } from '../../src/cli/state-json.js';
import { SerializationError } from '../../src/errors.js';
import { ptbDataToFields, readPtbPersistence, readPtbPickle } from '../../src/import/index.js';
import { BOT_PLACEHOLDER } from '../../src/snapshot/values.js';
import { PTB_FIXTURES, sortSets, type PtbFixture, type PtbManifest } from '../support/ptb-fixtures.js';

const committed = PTB_FIXTURES;
const script = join(committed, 'make_fixtures.py');

async function manifestIn(dir: string): Promise<PtbManifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as PtbManifest;
}

async function importAsJson(dir: string, fixture: PtbFixture): Promise<unknown> {
  const data = await readPtbPersistence(join(dir, fixture.pickle), { singleFile: !fixture.multiFile, ...fixture.options });
  // Through JSON text, as the export command prints it.
  return JSON.parse(JSON.stringify(stateToJson(ptbDataToFields(data))));
}

async function refusalOf(dir: string, fixture: PtbFixture): Promise<SerializationError> {
  try {
    await readPtbPersistence(join(dir, fixture.pickle), { singleFile: !fixture.multiFile, ...fixture.options });
  } catch (error) {
    if (error instanceof SerializationError) return error;
    throw error;
  }
  throw new Error(`${fixture.name} imported without a refusal`);
}

function checkFixtures(dir: () => string, manifest: () => PtbManifest) {
  it('lists the fixtures', () => {
    expect(manifest().fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it('imports every file exactly as python-telegram-bot loads it', async () => {
    for (const fixture of manifest().fixtures.filter((f) => f.expected !== undefined)) {
      const expected = JSON.parse(await readFile(join(dir(), fixture.expected!), 'utf8')) as unknown;
      expect(sortSets(await importAsJson(dir(), fixture)), fixture.name).toEqual(sortSets(expected));
    }
  });

  it('refuses what it cannot map, naming the path and the reason', async () => {
    for (const fixture of manifest().fixtures.filter((f) => f.refused !== undefined)) {
      const error = await refusalOf(dir(), fixture);
      expect(error.path, fixture.name).toBe(fixture.refused!.path);
      expect(error.message, fixture.name).toContain(fixture.refused!.reason);
    }
  });
}

describe('the committed fixtures', () => {
  let manifest: PtbManifest;
  beforeAll(async () => {
    manifest = await manifestIn(committed);
  });

  checkFixtures(() => committed, () => manifest);

  it('were made by python-telegram-bot 22', () => {
    expect(manifest.ptbVersion).toMatch(/^22\./);
  });

  it('restore the bot as the placeholder, an unknown bot as null, and big ids as numbers', async () => {
    const data = readPtbPickle(await readFile(join(committed, 'single_file.pickle')));
    const botData = data.botData as Record<string, unknown>;
    expect(botData.bot).toBe(BOT_PLACEHOLDER);
    expect(botData.other_bot).toBeNull();
    expect([...data.userData!.keys()].sort((a, b) => a - b)).toEqual([7, 12345, 2 ** 40]);
    expect(data.chatData!.has(-1001234567890)).toBe(true);
  });

  it('keep __proto__ as an own key and leave Object.prototype alone', async () => {
    const data = readPtbPickle(await readFile(join(committed, 'single_file.pickle')));
    const user = data.userData!.get(12345) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(user, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(user)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('turn conversation tuples into conversationKey strings and leave ended conversations out', async () => {
    const data = readPtbPickle(await readFile(join(committed, 'single_file.pickle')));
    expect(data.conversations).toEqual(
      new Map([
        ['survey', new Map<string, unknown>([['[1,2]', 'ASK_AGE'], ['["1",2]', 'ASK_NAME'], ['["inline-msg-id"]', 1]])],
        ['checkout', new Map([['[-1001234567890,42]', 3]])],
      ]),
    );
  });

  it('read a multi-file persistence from the path without being told', async () => {
    const data = await readPtbPersistence(join(committed, 'multi_file'));
    expect(data.files.map((file) => file.slice(committed.length))).toEqual([
      'multi_file_user_data',
      'multi_file_chat_data',
      'multi_file_bot_data',
      'multi_file_conversations',
    ]);
    expect(data.callbackData).toBeUndefined();
  });

  it('read the bot markers of files written without set_bot as None, and say why', async () => {
    const single = readPtbPickle(await readFile(join(committed, 'no_bot_single_file.pickle')));
    expect(single.botMarkers).toEqual({ count: expect.any(Number), readAs: 'none', reason: 'no None in the files' });
    expect(single.botMarkers.count).toBeGreaterThan(0);
    expect(single.callbackData).toBeNull();
    const multi = await readPtbPersistence(join(committed, 'no_bot_multi_file'));
    expect(multi.botMarkers.readAs).toBe('none');
    expect((multi.userData!.get(1) as Record<string, unknown>).in_set).toEqual(new Set([1, 'a', null]));
  });

  it('read the bot markers as the bot where a None is pickled as itself, or when told', async () => {
    const single = readPtbPickle(await readFile(join(committed, 'single_file.pickle')));
    expect(single.botMarkers).toEqual({ count: expect.any(Number), readAs: 'bot', reason: 'a None in the files' });
    const told = await readPtbPersistence(join(committed, 'multi_file'), { botMarker: 'bot' });
    expect(told.botMarkers).toEqual({ count: 1, readAs: 'bot', reason: 'option' });
    expect((told.userData!.get(42) as Record<string, unknown>).bot).toBe(BOT_PLACEHOLDER);
  });

  it('say a multi-file piece is not a single file', async () => {
    const bytes = await readFile(join(committed, 'multi_file_user_data'));
    expect(() => readPtbPickle(bytes)).toThrow(/not PicklePersistence's dict|not a PicklePersistence/);
  });
});

describe('fixtures made now by the installed python-telegram-bot', () => {
  let dir = '';
  let manifest: PtbManifest;
  let skipped: string | undefined;

  beforeAll(async () => {
    try {
      await promisify(execFile)('python3', ['-c', 'import telegram']);
    } catch {
      skipped = 'python-telegram-bot is not installed (pip install python-telegram-bot): only the committed fixtures were checked';
      return;
    }
    dir = await mkdtemp(join(tmpdir(), 'ptb-fixtures-'));
    await promisify(execFile)('python3', [script, dir]);
    manifest = await manifestIn(dir);
  }, 60_000);
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('are checked when PTB is installed', (context) => {
    if (skipped !== undefined) {
      console.warn(skipped);
      context.skip();
    }
    expect(manifest.ptbVersion).toMatch(/^\d+\./);
  });

  describe('as the committed ones', () => {
    it('import and refuse as the committed ones do', async (context) => {
      if (skipped !== undefined) context.skip();
      for (const fixture of manifest.fixtures) {
        if (fixture.expected !== undefined) {
          const expected = JSON.parse(await readFile(join(dir, fixture.expected), 'utf8')) as unknown;
          expect(sortSets(await importAsJson(dir, fixture)), fixture.name).toEqual(sortSets(expected));
        } else {
          const error = await refusalOf(dir, fixture);
          expect(error.path, fixture.name).toBe(fixture.refused!.path);
          expect(error.message, fixture.name).toContain(fixture.refused!.reason);
        }
      }
    });
  });
});
