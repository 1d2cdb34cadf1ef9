// What the reliability writers write, and how a stored snapshot is judged against what they were
// told was durable. Shared by the tests and by the child processes they run (bundled by
// ./global-setup.ts), so both sides agree on entries and values.
//
// Every write carries `{ writer, seq }`; a writer's `seq` only grows, so for an entry that only one
// writer changes, the stored `seq` must be at least the highest `seq` acknowledged for it.
import { conversationKey, PersistenceError, type PersistenceMetrics, type S3Persistence } from '../../src/index.js';
import { pick, randomInt } from '../support/seed.js';

/** The stored value of one write. */
export interface Stamp {
  writer: string;
  seq: number;
}

/** One update a writer makes: `entry` is `user:<id>`, `chat:<id>`, `conversation:<key>` or `bot:shared`. */
export interface Write extends Stamp {
  entry: string;
  /** True when other writers change the same entry (a same-entry conflict may follow). */
  shared: boolean;
}

/** The conversation the writers keep states of. */
export const CONVERSATION = 'reliability';
/** The user every writer changes (same entry). */
export const SHARED_USER = 0;

type Persistence = S3Persistence<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>;

export interface WorkloadShape {
  /** Entries of its own per section that a writer cycles through. */
  ownEntries: number;
  /** The share of writes to the entries every writer changes (user 0 and `bot_data.shared`). */
  sharedShare: number;
}

/**
 * The next write of writer `writer` (a small integer), drawn from `random`: mostly its own users,
 * chats and conversation states, and with probability `sharedShare` an entry all writers change.
 */
export function nextWrite(random: () => number, writer: number, seq: number, shape: WorkloadShape): Write {
  const stamp = { writer: String(writer), seq };
  if (random() < shape.sharedShare) {
    return { ...stamp, entry: pick(random, [`user:${SHARED_USER}`, 'bot:shared']), shared: true };
  }
  const own = writer * 1000 + 1 + randomInt(random, 0, shape.ownEntries - 1);
  const entry = pick(random, [`user:${own}`, `chat:${-own}`, `conversation:${conversationKey([writer, own])}`]);
  return { ...stamp, entry, shared: false };
}

/** Makes `write` through the persistence (durable when it resolves, unless the instance is `onFlush`). */
export async function applyWrite(persistence: Persistence, write: Write): Promise<void> {
  const value: Stamp = { writer: write.writer, seq: write.seq };
  const [kind, id] = splitEntry(write.entry);
  switch (kind) {
    case 'user':
      return persistence.updateUserData(Number(id), { ...value });
    case 'chat':
      return persistence.updateChatData(Number(id), { ...value });
    case 'conversation':
      return persistence.updateConversation(CONVERSATION, JSON.parse(id) as number[], { ...value });
    case 'bot': {
      // bot_data is replaced as a whole (PTB's update_bot_data): change one property of the current copy.
      const botData = await persistence.getBotData();
      botData[id] = { ...value };
      return persistence.updateBotData(botData);
    }
    default:
      throw new Error(`unknown entry ${write.entry}`);
  }
}

function splitEntry(entry: string): [string, string] {
  const colon = entry.indexOf(':');
  return [entry.slice(0, colon), entry.slice(colon + 1)];
}

function isStamp(value: unknown): value is Stamp {
  return typeof value === 'object' && value !== null && typeof (value as Stamp).writer === 'string' && typeof (value as Stamp).seq === 'number';
}

/** Every entry the writers wrote, as a (cold, fresh) persistence reads it: entry -> stamp. */
export async function storedStamps(persistence: Persistence): Promise<Map<string, Stamp>> {
  const stamps = new Map<string, Stamp>();
  const add = (entry: string, value: unknown) => {
    if (isStamp(value)) stamps.set(entry, { writer: value.writer, seq: value.seq });
  };
  for (const [id, value] of await persistence.getUserData()) add(`user:${id}`, value);
  for (const [id, value] of await persistence.getChatData()) add(`chat:${id}`, value);
  for (const [key, value] of await persistence.getConversations(CONVERSATION)) add(`conversation:${key}`, value);
  for (const [property, value] of Object.entries(await persistence.getBotData())) add(`bot:${property}`, value);
  return stamps;
}

/**
 * The acknowledged writes the stored state does not hold: for an entry only its writer changes,
 * one whose `seq` is above the stored one (or whose entry is missing). Shared entries are judged
 * by {@link unexplainedShared} instead, as a later write of another writer legitimately replaces them.
 */
export function lostAcknowledged(stored: ReadonlyMap<string, Stamp>, acknowledged: Iterable<Write>): Write[] {
  const lost: Write[] = [];
  for (const write of acknowledged) {
    if (write.shared) continue;
    const stamp = stored.get(write.entry);
    if (stamp === undefined || stamp.writer !== write.writer || stamp.seq < write.seq) lost.push(write);
  }
  return lost;
}

/**
 * Shared entries whose stored value is not the last write of some writer. Once every writer has
 * flushed, the later write wins: what is stored must be one writer's final value for that entry.
 */
export function unexplainedShared(stored: ReadonlyMap<string, Stamp>, writes: Iterable<Write>): string[] {
  const finals = new Map<string, Map<string, number>>(); // entry -> writer -> last seq
  for (const write of writes) {
    if (!write.shared) continue;
    const byWriter = finals.get(write.entry) ?? new Map<string, number>();
    byWriter.set(write.writer, Math.max(byWriter.get(write.writer) ?? -1, write.seq));
    finals.set(write.entry, byWriter);
  }
  const unexplained: string[] = [];
  for (const [entry, byWriter] of finals) {
    const stamp = stored.get(entry);
    if (stamp === undefined || byWriter.get(stamp.writer) !== stamp.seq) unexplained.push(entry);
  }
  return unexplained;
}

/**
 * A short name for the kind of an error a caller saw, e.g. `WriteConflictError`,
 * `StorageError(SlowDown, HTTP 503)`, `StorageError(TimeoutError/ECONNRESET, no response)`.
 */
export function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error ${typeof error}`;
  if (!(error instanceof PersistenceError)) return `untyped ${error.name}`;
  if (error.name !== 'StorageError') return error.name;
  const cause = (error as { cause?: { name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } } }).cause;
  // The SDK names a reset and a timeout both TimeoutError; the Node code tells them apart.
  const causeName = cause?.Code ?? ([cause?.name === 'Error' ? undefined : cause?.name, cause?.code].filter(Boolean).join('/') || 'unknown');
  const status = (error as { status?: number }).status ?? cause?.$metadata?.httpStatusCode;
  return `StorageError(${causeName}, ${status === undefined ? 'no response' : `HTTP ${status}`})`;
}

/** Counts of error kinds, e.g. `{ WriteConflictError: 2 }`. */
export type ErrorTally = Record<string, number>;

export function tally(into: ErrorTally, error: unknown): void {
  const kind = errorKind(error);
  into[kind] = (into[kind] ?? 0) + 1;
}

/** Sums tallies. */
export function sumTallies(tallies: Iterable<ErrorTally>): ErrorTally {
  const total: ErrorTally = {};
  for (const one of tallies) for (const [kind, count] of Object.entries(one)) total[kind] = (total[kind] ?? 0) + count;
  return total;
}

/** The user every process counts. */
export const SHARED_COUNTER_USER = 1;
/** Users of its own a process counts, in turn. */
export const OWN_COUNTER_USERS = 3;

/** The users of process `writer`. */
export function ownCounterUsers(writer: number): number[] {
  return Array.from({ length: OWN_COUNTER_USERS }, (_, index) => 1000 * (writer + 1) + index);
}

/** What a process of counters.test.ts reports (see fixtures/counter.ts). */
export interface CounterResult {
  /** Increments made on the local copy, per user. */
  attempted: Record<number, number>;
  /** Increments a resolved flush carried, per user. */
  acknowledged: Record<number, number>;
  /** Flushes called, and the errors of those that failed, by kind. */
  flushes: number;
  flushErrors: ErrorTally;
  metrics: PersistenceMetrics;
  /** Calls of the onConflict hook. */
  conflictsDelivered: number;
}
