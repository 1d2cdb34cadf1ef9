/**
 * The data every scenario and every peer works on: a bot's users, chats, bot data and survey
 * conversations, generated from a seed so that each process (Node or Python) sees the same data.
 *
 * Sizes and ids are Telegram's: a user's data is about 200 bytes of JSON, user ids go up to ~8e9,
 * supergroup ids are `-100` followed by ten digits, private chats have the user's id.
 */
import type { CallbackData, S3Persistence } from '../../src/index.js';
import { pick, randomInt, seededRandom } from '../../test/support/seed.js';

/** One user's data: what a typical bot keeps (profile, counters, settings, an answered survey). */
export interface UserRecord {
  [key: string]: unknown;
  name: string;
  username: string | null;
  lang: string;
  count: number;
  joined: number;
  lastSeen: number;
  settings: { notifications: boolean; timezone: string; theme: string };
  /** An answered survey, for two users in five. */
  survey?: { name: string; age: number };
}

export interface ChatRecord {
  [key: string]: unknown;
  title: string;
  note: string;
  members: number;
  lang: string;
  created: number;
}

export interface BotRecord {
  [key: string]: unknown;
  totalCount: number;
  startedAt: number;
  version: string;
  admins: number[];
}

export interface Population {
  readonly users: ReadonlyArray<readonly [number, UserRecord]>;
  readonly chats: ReadonlyArray<readonly [number, ChatRecord]>;
  readonly botData: BotRecord;
  /** Open survey conversations: `[chatId, userId]` and the state. */
  readonly surveys: ReadonlyArray<readonly [readonly [number, number], string]>;
}

/** The name of the persistent conversation in every population. */
export const SURVEY = 'survey';

const FIRST = ['Olga', 'Ahmed', 'Maria', 'Chen', 'Lukas', 'Aisha', 'Pedro', 'Yuki', 'Ivan', 'Fatima', 'Noah', 'Priya', 'Mateo', 'Elif', 'Sven', 'Amara'];
const LAST = ['Petrova', 'Hassan', 'Garcia', 'Wei', 'Schmidt', 'Bello', 'Santos', 'Tanaka', 'Ivanov', 'Khan', 'Smith', 'Sharma', 'Rossi', 'Yilmaz', 'Berg', 'Okafor'];
const LANGS = ['en', 'ru', 'es', 'de', 'pt', 'tr', 'fa', 'uk', 'id', 'it'];
const ZONES = ['Europe/Berlin', 'Europe/Moscow', 'America/Sao_Paulo', 'Asia/Tehran', 'Asia/Jakarta', 'America/New_York', 'Europe/Istanbul'];
const TOPICS = ['Cyclists', 'Chess Club', 'Crypto Signals', 'Study Group', 'Flat Share', 'Football Fans', 'Dev Chat', 'Book Club'];
const CITIES = ['Berlin', 'Lagos', 'Tehran', 'Jakarta', 'Kyiv', 'Madrid', 'Recife', 'Izmir'];
const NOTES = ['Ride on Saturday at 9, meet at the bridge', 'No spam please', 'Rules: be kind, stay on topic', 'Next meetup: Friday 19:00', ''];

/**
 * `userCount` users, a tenth as many chats (half supergroups, half private chats of those users),
 * open surveys for a twentieth of the users, and the bot's own data.
 *
 * @example
 * const population = generatePopulation(10_000); // the same every time for the same arguments
 */
export function generatePopulation(userCount: number, seed = 20_240_607): Population {
  const next = seededRandom(seed ^ userCount);
  const userIds = new Set<number>();
  while (userIds.size < userCount) userIds.add(randomInt(next, 10_000_000, 8_000_000_000));
  let totalCount = 0;
  const users = [...userIds].map((id): [number, UserRecord] => {
    const first = pick(next, FIRST);
    const last = pick(next, LAST);
    const joined = randomInt(next, 1_600_000_000, 1_730_000_000);
    const count = randomInt(next, 0, 500);
    totalCount += count;
    return [
      id,
      {
        name: `${first} ${last}`,
        username: next() < 0.7 ? `${first}_${last}${randomInt(next, 1, 99)}`.toLowerCase() : null,
        lang: pick(next, LANGS),
        count,
        joined,
        lastSeen: joined + randomInt(next, 0, 30_000_000),
        settings: { notifications: next() < 0.8, timezone: pick(next, ZONES), theme: next() < 0.5 ? 'dark' : 'light' },
        ...(next() < 0.4 ? { survey: { name: first, age: randomInt(next, 16, 70) } } : {}),
      },
    ];
  });
  const chatIds = new Set<number>();
  const chatCount = Math.max(1, Math.floor(userCount / 10));
  while (chatIds.size < chatCount) {
    chatIds.add(next() < 0.5 ? -(1_000_000_000_000 + randomInt(next, 1_000_000_000, 2_999_999_999)) : users[randomInt(next, 0, userCount - 1)]![0]);
  }
  const chats = [...chatIds].map((id): [number, ChatRecord] => [
    id,
    {
      title: id < 0 ? `${pick(next, CITIES)} ${pick(next, TOPICS)}` : '',
      note: pick(next, NOTES),
      members: id < 0 ? randomInt(next, 3, 200_000) : 2,
      lang: pick(next, LANGS),
      created: randomInt(next, 1_500_000_000, 1_730_000_000),
    },
  ]);
  const surveys: Array<[[number, number], string]> = [];
  for (let i = 0; i < userCount; i += 20) {
    const [userId] = users[i]!;
    surveys.push([[userId, userId], next() < 0.5 ? 'NAME' : 'AGE']);
  }
  const botData: BotRecord = {
    totalCount,
    startedAt: 1_700_000_000,
    version: '1.4.2',
    admins: users.slice(0, 3).map(([id]) => id),
  };
  return { users, chats, botData, surveys };
}

/** The population as one JSON document, as the naive peer and the JSON baseline store it. */
export function toJsonDocument(population: Population): Record<string, unknown> {
  return {
    user_data: Object.fromEntries(population.users),
    chat_data: Object.fromEntries(population.chats),
    bot_data: population.botData,
    conversations: { [SURVEY]: Object.fromEntries(population.surveys.map(([key, state]) => [JSON.stringify(key), state])) },
  };
}

/** The population as decoded snapshot fields (`decodeSnapshot`'s shape), for the codec scenario. */
export function toSnapshotFields(population: Population): Map<string, unknown> {
  return new Map<string, unknown>([
    ['user_data', new Map(population.users)],
    ['chat_data', new Map(population.chats)],
    ['bot_data', population.botData],
    ['conversations', new Map([[SURVEY, new Map(population.surveys.map(([key, state]) => [JSON.stringify(key), state]))]])],
  ]);
}

/**
 * Stores the population through the library's public API (one flush), so the stored objects have
 * whatever layout the library writes. With `only`, just those users, their private chats and their
 * surveys (and bot data): what a per-entry layout reads for their updates.
 */
export async function seedPersistence(
  persistence: S3Persistence,
  population: Population,
  only?: ReadonlySet<number>,
  extra: { callbackData?: CallbackData } = {},
): Promise<void> {
  if (!persistence.onFlush) throw new Error('seed through an onFlush persistence: one write, not one per entry');
  const kept = (id: number) => only === undefined || only.has(id);
  await Promise.all([
    ...(extra.callbackData === undefined ? [] : [persistence.updateCallbackData(extra.callbackData)]),
    ...population.users.filter(([id]) => kept(id)).map(([id, data]) => persistence.updateUserData(id, data)),
    ...population.chats.filter(([id]) => kept(id)).map(([id, data]) => persistence.updateChatData(id, data)),
    ...population.surveys.filter(([[, userId]]) => kept(userId)).map(([key, state]) => persistence.updateConversation(SURVEY, key, state)),
    persistence.updateBotData(population.botData),
  ]);
  await persistence.flush();
}

/**
 * Callback data as the sample bot's `/menu` leaves it (`CallbackDataCache.persistenceData()`): 32
 * keyboards of three fruit buttons and the callback queries that pointed at 8 of them, generated
 * from the population's seed. The scale scenario stores it in every layout, so that a cold start
 * reads it as the sample bot's does.
 */
export function generateCallbackData(userCount: number, seed = 20_240_607): CallbackData {
  const next = seededRandom((seed ^ userCount) + 1);
  const hex = (length: number) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join('');
  const fruits = [
    { fruit: 'apple', colour: 'red', calories: 52 },
    { fruit: 'banana', colour: 'yellow', calories: 89 },
    { fruit: 'kiwi', colour: 'green', calories: 61, tags: ['fuzzy', 'tart'] },
  ];
  const keyboards = Array.from({ length: 32 }, (): [string, number, Record<string, unknown>] => [
    hex(32),
    randomInt(next, 1_720_000_000, 1_730_000_000),
    Object.fromEntries(fruits.map((data) => [hex(32), data])),
  ]);
  const queries = Object.fromEntries(keyboards.slice(0, 8).map(([id]) => [String(randomInt(next, 1e15, 9e15)), id]));
  return [keyboards, queries];
}

/** The average size of one user's data as JSON, in bytes. */
export function averageUserBytes(population: Population): number {
  const total = population.users.reduce((sum, [, data]) => sum + Buffer.byteLength(JSON.stringify(data)), 0);
  return total / population.users.length;
}

/**
 * What one update does to a user's data, in place: the counter moves on and the time changes (a new
 * user starts from nothing). Every peer applies this same change.
 */
export function touchUser(data: Partial<UserRecord>): void {
  data.count = (data.count ?? 0) + 1;
  data.lastSeen = (data.lastSeen ?? 1_730_000_000) + 60;
}
