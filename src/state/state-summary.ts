/**
 * What a whole state holds, counted and fingerprinted in one place: `inspect`'s counts, and a
 * migration's report and verification.
 */
import { createHash } from 'node:crypto';
import { encodeSnapshot, type SnapshotFields } from '../snapshot/codec.js';
import { isPlainObject } from '../snapshot/values.js';

/** The sections that are the state: handled-update marks and write records are not. */
export const STATE_SECTIONS = ['user_data', 'chat_data', 'bot_data', 'callback_data', 'conversations'] as const;

export interface StateCounts {
  users: number;
  chats: number;
  conversationKeys: number;
  botDataProperties: number;
  callbackKeyboards: number;
}

/** {@link StateCounts}, and what only `inspect` shows. */
export interface StateSummary extends StateCounts {
  /** Keys by conversation name. */
  conversations: Record<string, number>;
  callbackQueries: number;
  processedUpdates: number;
}

const sizeOf = (value: unknown) => (value instanceof Map ? value.size : 0);

/** Counts the entries of a state's fields (objects joined, as `readableFields` gives them). */
export function countState(fields: SnapshotFields): StateSummary {
  const botData = fields.get('bot_data');
  const callbackData = fields.get('callback_data');
  const [keyboards, queries] = Array.isArray(callbackData) ? (callbackData as unknown[]) : [];
  const conversations: Record<string, number> = {};
  const stored = fields.get('conversations');
  if (stored instanceof Map) for (const [name, states] of stored) conversations[name] = sizeOf(states);
  return {
    users: sizeOf(fields.get('user_data')),
    chats: sizeOf(fields.get('chat_data')),
    conversationKeys: Object.values(conversations).reduce((sum, keys) => sum + keys, 0),
    // Bot data that is neither an object nor a map is one value.
    botDataProperties: isPlainObject(botData) ? Object.keys(botData).length : botData instanceof Map ? botData.size : botData === undefined || botData === null ? 0 : 1,
    callbackKeyboards: Array.isArray(keyboards) ? keyboards.length : 0,
    callbackQueries: isPlainObject(queries) ? Object.keys(queries).length : 0,
    conversations,
    processedUpdates: sizeOf(fields.get('processed_updates')),
  };
}

/** Nothing stored and something stored empty are one state. */
function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (value instanceof Map && value.size === 0);
}

/** The conversations of `fields` that hold at least one key. */
function nonEmptyConversations(fields: SnapshotFields): Map<string, Map<string, unknown>> | undefined {
  const conversations = fields.get('conversations');
  return conversations && new Map([...conversations].filter(([, states]) => !isEmpty(states)));
}

/**
 * The state in `fields`: its {@link STATE_SECTIONS}, without empty ones or conversation names
 * without keys, so that two layouts holding one state give equal fields.
 */
export function stateSections(fields: SnapshotFields): SnapshotFields {
  const state: SnapshotFields = new Map();
  for (const name of STATE_SECTIONS) {
    const value = name === 'conversations' ? nonEmptyConversations(fields) : fields.get(name);
    if (!isEmpty(value)) state.set(name, value);
  }
  return state;
}

/** Sorted keys everywhere, so equal states give equal bytes whatever order entries were written in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Map) {
    const entries = [...value].map(([key, entry]) => [key, canonical(entry)] as const);
    return new Map(entries.sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0)));
  }
  if (isPlainObject(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) Object.defineProperty(sorted, key, { value: canonical(value[key]), enumerable: true, writable: true, configurable: true });
    return sorted;
  }
  return value;
}

/** SHA-256 of the canonical encoding of the state in `fields` (see {@link stateSections}). */
export function stateChecksum(fields: SnapshotFields): string {
  const state = stateSections(fields);
  const whole = new Map<string, unknown>([
    ['user_data', state.get('user_data') ?? new Map()],
    ['chat_data', state.get('chat_data') ?? new Map()],
    ['bot_data', state.get('bot_data') ?? null],
    ['callback_data', state.get('callback_data') ?? null],
    ['conversations', state.get('conversations') ?? new Map()],
  ]);
  return createHash('sha256').update(encodeSnapshot(canonical(whole) as SnapshotFields)).digest('hex');
}
