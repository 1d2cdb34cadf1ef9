/**
 * python-telegram-bot's own PicklePersistence on the same data, to local disk, against this library
 * on MinIO, every side interleaved in the same run (issue 16). The library's target: a write and a
 * load within 1.5x of PicklePersistence's.
 *
 * PTB runs as a long-lived Python process (`peers/pickle_persistence.py --serve`) that this scenario
 * drives one command at a time; its rounds alternate with the library's, which run in this process.
 * Per size, after a warm-up, `rounds` rounds, each side going first in every other round:
 *
 * - **write**, per layout (single-file, multi-file): `writes` updates of distinct users. PTB:
 *   `update_user_data` with `on_flush=False` (the file pickled again; its `refresh_user_data` is a
 *   no-op). The library, immediate: `refreshUserData` (a conditional GET, 304) then
 *   `updateUserData` (a conditional PUT of the snapshot), as a bot's update does; the PUT alone is
 *   reported beside it.
 * - **load in a started process**, per layout: a new instance, then every `get*` (PTB's start-up);
 *   the library's with a client whose connection is open, in a process that ran it before.
 *
 * Each round gives a median per side, and the round's ratio library / PTB; a figure's ratio is the
 * median of its rounds' ratios, so that a slow moment of the machine touches both sides of a ratio.
 *
 * Then **a bot's process start as far as its data** (single-file): `python3 pickle_persistence.py
 * --cold` (interpreter, `import telegram.ext`, every `get_*` from the pickle) against a fresh
 * `node` running bench/load-process.ts (the library's import, the persistence from the
 * environment, every `get*` from MinIO), with the AWS SDK's store (the default) and the fetch store,
 * each timed from spawn to the line it prints when the data is in hand; `rounds` rounds, each in a
 * new random order.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Persistence } from '../../src/index.js';
import type { BenchContext } from '../lib/context.js';
import { SURVEY, touchUser, type UserRecord } from '../lib/population.js';
import { now, shuffled, summarize, type Summary } from '../lib/stats.js';

const script = fileURLToPath(new URL('../peers/pickle_persistence.py', import.meta.url));
const run = promisify(execFile);

type Layout = 'single-file' | 'multi-file';
const LAYOUTS: readonly Layout[] = ['single-file', 'multi-file'];

export interface PicklePersistenceOptions {
  sizes: readonly number[];
  /** Interleaved rounds per size (at least 7 for the targets). */
  rounds: number;
  /** Timed writes per side, layout and round. */
  writes: (users: number) => number;
  /** Sizes of the process-start comparison. */
  freshSizes: readonly number[];
}

export const PICKLE_PERSISTENCE_DEFAULTS: PicklePersistenceOptions = {
  sizes: [1_000, 10_000, 100_000],
  rounds: 9,
  writes: (users) => (users >= 100_000 ? 1 : users >= 10_000 ? 3 : 5),
  freshSizes: [1_000, 10_000],
};

/** Two sides measured in the same rounds. */
export interface PairedFigure {
  /** PTB's figures, every sample. */
  ptbMs: Summary;
  /** The library's, every sample. */
  libraryMs: Summary;
  /** Library / PTB in each round (from each side's median in the round). */
  roundRatios: number[];
  /** The median of {@link roundRatios}: the figure the targets check. */
  ratio: number;
}

export interface PicklePersistenceRow {
  users: number;
  layout: Layout;
  /** PTB's load in its started process (every sample; the same as `load.ptbMs`). */
  loadMs: Summary;
  /** PTB's write (every sample; the same as `write.ptbMs`). */
  writeMs: Summary;
  /** Bytes of the file PTB writes per update. */
  bytesPerWrite: number;
  /** The library's refresh + write against PTB's write. */
  write: PairedFigure;
  /** The library's conditional PUT alone (`updateUserData`), against PTB's write. */
  put: PairedFigure;
  /** A load in a started process, both sides. */
  load: PairedFigure;
}

/** A bot process's start as far as its data, spawn to data in hand, single-file. */
export interface ProcessStartRow {
  users: number;
  /** Inside the library's process (AWS SDK store), from its time origin: to the end of the imports, and to the data in hand. */
  sdkImportedMs: Summary;
  sdkLoadedMs: Summary;
  /** The library with the AWS SDK's store (what `new S3Persistence({ filepath })` builds). */
  sdk: PairedFigure;
  /** The library with the fetch store. */
  fetch: PairedFigure;
}

export type PicklePersistenceResult =
  | { ptbVersion: string; python: string; rounds: number; rows: PicklePersistenceRow[]; processStart: ProcessStartRow[] }
  | { skipped: string };

/** PTB's side: the long-lived peer script, one JSON command and answer a line. */
class PicklePeer {
  private readonly lines: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static start(): PicklePeer {
    const child = spawn('python3', [script, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(`pickle_persistence.py: ${chunk}`));
    // A peer that died closes its stdin: the next command then fails by the missing answer, not by EPIPE.
    child.stdin.on('error', () => undefined);
    return new PicklePeer(child);
  }

  async send<T>(command: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.lines.next();
    if (done === true) throw new Error(`pickle_persistence.py --serve ended before answering ${JSON.stringify(command)}`);
    const answer = JSON.parse(value) as T & { error?: string };
    if (answer.error !== undefined) throw new Error(`pickle_persistence.py: ${answer.error}`);
    return answer;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await exited;
  }
}

/** The library's side of one layout: the bot's instance, which updates, and the users it holds. */
interface LibrarySide {
  persistence: S3Persistence<Partial<UserRecord>>;
  live: Map<number, Partial<UserRecord>>;
  filepath: string;
  /** A client whose connection is open, for the loads. */
  loadClient: S3Client;
}

/** Every `get*` PTB's start-up makes, at once (as bench/load-process.ts). */
async function loadEverything(persistence: S3Persistence<Partial<UserRecord>>): Promise<void> {
  await Promise.all([persistence.getUserData(), persistence.getChatData(), persistence.getBotData(), persistence.getConversations(SURVEY)]);
}

/** One update of the bot's instance: refresh, change, write; the milliseconds of the whole and of the write. */
async function libraryWrite(side: LibrarySide, userId: number): Promise<{ totalMs: number; putMs: number }> {
  let data = side.live.get(userId);
  if (data === undefined) side.live.set(userId, (data = {}));
  const started = now();
  await side.persistence.refreshUserData(userId, data);
  touchUser(data);
  const writing = now();
  await side.persistence.updateUserData(userId, data);
  const done = now();
  return { totalMs: done - started, putMs: done - writing };
}

async function libraryLoad(side: LibrarySide, layout: Layout): Promise<number> {
  const persistence = new S3Persistence<Partial<UserRecord>>({ filepath: side.filepath, client: side.loadClient, layout });
  const started = now();
  await loadEverything(persistence);
  return now() - started;
}

const median = (samples: readonly number[]) => summarize(samples).median;

/** Collects the rounds of one paired figure. */
class Pairing {
  private readonly ptb: number[] = [];
  private readonly library: number[] = [];
  private readonly ratios: number[] = [];

  round(ptb: readonly number[], library: readonly number[]): void {
    this.ptb.push(...ptb);
    this.library.push(...library);
    this.ratios.push(median(library) / median(ptb));
  }

  figure(): PairedFigure {
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return { ptbMs: summarize(this.ptb), libraryMs: summarize(this.library), roundRatios: this.ratios.map(round), ratio: round(median(this.ratios)) };
  }
}

export async function picklePersistence(
  context: BenchContext,
  loadProcessScript: string,
  options: PicklePersistenceOptions = PICKLE_PERSISTENCE_DEFAULTS,
): Promise<PicklePersistenceResult> {
  try {
    await run('python3', ['-c', 'import telegram.ext']);
  } catch (error) {
    return { skipped: `python3 with python-telegram-bot is not available (pip install python-telegram-bot): ${(error as Error).message}` };
  }
  const workdir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-ptb-'));
  const peer = PicklePeer.start();
  const opened: S3Client[] = [];
  const client = () => {
    const made = context.client();
    opened.push(made);
    return made;
  };
  try {
    const rows: PicklePersistenceRow[] = [];
    const processStart: ProcessStartRow[] = [];
    let versions = { ptbVersion: '?', python: '?' };
    for (const users of options.sizes) {
      const population = context.population(users);
      const populationFile = join(workdir, `population-${users}.json`);
      await writeFile(populationFile, JSON.stringify(population));
      const setup = await peer.send<{ ptbVersion: string; python: string; bytes: Record<Layout, number> }>({
        cmd: 'setup',
        population: populationFile,
        workdir: join(workdir, String(users)),
      });
      versions = { ptbVersion: setup.ptbVersion, python: setup.python };

      const writes = options.writes(users);
      // Distinct users for every write of a round (the warm-up's first), spread over the population.
      const count = options.rounds * writes + 1;
      const step = Math.max(1, Math.floor(users / count));
      const touched = Array.from({ length: count }, (_, i) => population.users[(i * step) % users]![0]);

      const sides = new Map<Layout, LibrarySide>();
      for (const layout of LAYOUTS) {
        const filepath = `s3://${context.bucket}/${await context.snapshot(users, layout, `pickle-${users}-${layout}`)}`;
        const persistence = new S3Persistence<Partial<UserRecord>>({ filepath, client: client(), layout });
        const [live] = await Promise.all([persistence.getUserData(), persistence.getChatData(), persistence.getBotData()]);
        const side = { persistence, live, filepath, loadClient: client() };
        sides.set(layout, side);
        // Warm-up: a write and a load on each side.
        await libraryWrite(side, touched[0]!);
        await peer.send({ cmd: 'write', layout, users: [touched[0]] });
        await libraryLoad(side, layout);
        await peer.send({ cmd: 'load', layout });
      }

      const pairings = new Map(LAYOUTS.map((layout) => [layout, { write: new Pairing(), put: new Pairing(), load: new Pairing() }]));
      for (let round = 0; round < options.rounds; round++) {
        const ids = touched.slice(1 + round * writes, 1 + (round + 1) * writes);
        const ptbFirst = round % 2 === 0;
        for (const layout of LAYOUTS) {
          const side = sides.get(layout)!;
          const pairing = pairings.get(layout)!;
          const ptbWrites = async () => (await peer.send<{ ms: number[] }>({ cmd: 'write', layout, users: ids })).ms;
          const libraryWrites = async () => {
            const timings = [];
            for (const id of ids) timings.push(await libraryWrite(side, id));
            return timings;
          };
          const ptbLoad = async () => [(await peer.send<{ ms: number }>({ cmd: 'load', layout })).ms];
          const ownLoad = async () => [await libraryLoad(side, layout)];
          let ptbMs: number[];
          let timings: Array<{ totalMs: number; putMs: number }>;
          let ptbLoadMs: number[];
          let libraryLoadMs: number[];
          if (ptbFirst) {
            ptbMs = await ptbWrites();
            timings = await libraryWrites();
            ptbLoadMs = await ptbLoad();
            libraryLoadMs = await ownLoad();
          } else {
            timings = await libraryWrites();
            ptbMs = await ptbWrites();
            libraryLoadMs = await ownLoad();
            ptbLoadMs = await ptbLoad();
          }
          pairing.write.round(ptbMs, timings.map((t) => t.totalMs));
          pairing.put.round(ptbMs, timings.map((t) => t.putMs));
          pairing.load.round(ptbLoadMs, libraryLoadMs);
        }
      }
      for (const layout of LAYOUTS) {
        const pairing = pairings.get(layout)!;
        const write = pairing.write.figure();
        const load = pairing.load.figure();
        rows.push({ users, layout, loadMs: load.ptbMs, writeMs: write.ptbMs, bytesPerWrite: setup.bytes[layout], write, put: pairing.put.figure(), load });
      }

      if (options.freshSizes.includes(users)) {
        const pickleFile = join(workdir, String(users), 'single', 'bot');
        const filepath = `s3://${context.bucket}/${await context.snapshot(users)}`;
        processStart.push(await compareProcessStarts(context, loadProcessScript, { users, pickleFile, filepath, rounds: options.rounds }));
      }
    }
    return { ...versions, rounds: options.rounds, rows, processStart };
  } finally {
    await peer.close();
    for (const made of opened) made.destroy();
    await rm(workdir, { recursive: true, force: true });
  }
}

/**
 * Spawns `command args`; resolves with the milliseconds from spawn to the line `loaded` on its
 * stdout, and what follows `loaded` on that line (then waits for its exit).
 */
function timeToLoaded(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; said: string }> {
  const started = now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let loadedAt: number | undefined;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (loadedAt === undefined && chunk.includes('loaded')) loadedAt = now();
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && loadedAt !== undefined) resolve({ ms: loadedAt - started, said: stdout.slice(stdout.indexOf('loaded') + 'loaded'.length).trim() });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code} before its data was in hand:\n${stderr}`));
    });
  });
}

async function compareProcessStarts(
  context: BenchContext,
  loadProcessScript: string,
  spec: { users: number; pickleFile: string; filepath: string; rounds: number },
): Promise<ProcessStartRow> {
  const { connection, bucket } = context;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    S3_ENDPOINT: connection.endpoint,
    AWS_ACCESS_KEY_ID: connection.accessKeyId,
    AWS_SECRET_ACCESS_KEY: connection.secretAccessKey,
    AWS_REGION: connection.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const library = (store: 'sdk' | 'fetch') => () =>
    timeToLoaded(process.execPath, [loadProcessScript, JSON.stringify({ filepath: spec.filepath, bucket, layout: 'single-file', store })], env);
  const cells = { ptb: () => timeToLoaded('python3', [script, '--cold', spec.pickleFile], env), sdk: library('sdk'), fetch: library('fetch') };
  // One of each first, untimed: the files in the page cache, as for every later process.
  for (const start of Object.values(cells)) await start();
  const sdk = new Pairing();
  const fetch = new Pairing();
  const inside = { importedMs: [] as number[], loadedMs: [] as number[] };
  for (let round = 0; round < spec.rounds; round++) {
    const ms: Partial<Record<keyof typeof cells, number>> = {};
    for (const name of shuffled(Object.keys(cells) as Array<keyof typeof cells>)) {
      const { ms: took, said } = await cells[name]();
      ms[name] = took;
      if (name === 'sdk') {
        const { importedMs, loadedMs } = JSON.parse(said) as { importedMs: number; loadedMs: number };
        inside.importedMs.push(importedMs);
        inside.loadedMs.push(loadedMs);
      }
    }
    sdk.round([ms.ptb!], [ms.sdk!]);
    fetch.round([ms.ptb!], [ms.fetch!]);
  }
  return { users: spec.users, sdkImportedMs: summarize(inside.importedMs), sdkLoadedMs: summarize(inside.loadedMs), sdk: sdk.figure(), fetch: fetch.figure() };
}
