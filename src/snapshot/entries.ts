/**
 * The unit of merge: an entry. A snapshot holds sections (PTB's five kinds of data); each section
 * is a set of entries that writers change independently: a user id, a chat id, a top-level property
 * of bot data, a conversation key. Callback data is one entry as a whole.
 */
import type { CallbackData } from '../contract.js';
import { CallbackDataShapeError, parseCallbackData } from './callback-data.js';
import { LazySection, storedValue } from './lazy-entries.js';
import { overlayOf } from './overlay-map.js';
import { UndecodableSnapshot } from './value-tags.js';
import { defineEntry, isPlainObject } from './values.js';

export type SectionName =
  | 'user_data'
  | 'chat_data'
  | 'bot_data'
  | 'callback_data'
  | 'conversations'
  /** Update ids already handled, for redelivered webhooks; not a PTB section. */
  | 'processed_updates';

export const SECTION_NAMES: readonly SectionName[] = [
  'user_data',
  'chat_data',
  'bot_data',
  'callback_data',
  'conversations',
  'processed_updates',
];

/**
 * What each section holds once its shape is checked ({@link parseSections}). In `user_data` and
 * `chat_data` a value read from format 2 may be an `EncodedEntry` until it is first read;
 * `storedValue` gives the value either way.
 */
export interface SectionValues {
  user_data: Map<number, unknown>;
  chat_data: Map<number, unknown>;
  bot_data: unknown;
  callback_data: CallbackData | null;
  /** Conversation name to `conversationKey(key)` to state. */
  conversations: Map<string, Map<string, unknown>>;
  /** Update id to the time it was handled (ms since the epoch). */
  processed_updates: Map<number, number>;
}

/**
 * The fields of a snapshot: section name (or a field this release does not know, kept as it is so
 * that it survives a rewrite) to value. A section reads as its type in {@link SectionValues}: what
 * a load decodes becomes fields through {@link parseSections}, and changes go through
 * {@link applyChanges}. (TypeScript lets any `Map<string, unknown>` stand for one: code that builds
 * fields of its own checks them with {@link invalidSection}.)
 */
export interface SnapshotFields extends Map<string, unknown> {
  get<K extends SectionName>(name: K): SectionValues[K] | undefined;
  get(name: string): unknown;
}

/** Sections stored as a map from a number (user id, chat id, update id) to a value. */
type IdSection = 'user_data' | 'chat_data' | 'processed_updates';

/** One entry of one section. */
export type EntryRef =
  | { readonly section: IdSection; readonly id: number }
  | { readonly section: 'bot_data'; readonly property: string | null } // null: bot data as a whole
  | { readonly section: 'callback_data' }
  | { readonly section: 'conversations'; readonly name: string; readonly key: string };

/** Marks an entry that does not exist (a dropped user, an ended conversation, a removed property). */
export const ABSENT: unique symbol = Symbol('absent');
export type EntryValue = unknown | typeof ABSENT;

/** A stable string identity of an entry, to key pending changes. */
export function entryId(ref: EntryRef): string {
  switch (ref.section) {
    case 'user_data':
    case 'chat_data':
    case 'processed_updates':
      return `${ref.section}:${ref.id}`;
    case 'bot_data':
      return ref.property === null ? 'bot_data' : `bot_data.${ref.property}`;
    case 'callback_data':
      return 'callback_data';
    case 'conversations':
      return `conversations:${JSON.stringify([ref.name, ref.key])}`;
  }
}

/** How an entry is named in messages and conflict reports, e.g. `user_data[42]`. */
export function entryLabel(ref: EntryRef): string {
  switch (ref.section) {
    case 'user_data':
    case 'chat_data':
    case 'processed_updates':
      return `${ref.section}[${ref.id}]`;
    case 'bot_data':
      return ref.property === null ? 'bot_data' : `bot_data.${ref.property}`;
    case 'callback_data':
      return 'callback_data';
    case 'conversations':
      return `conversations[${JSON.stringify(ref.name)}][${ref.key}]`;
  }
}

/**
 * `fields` as {@link SnapshotFields}, once each known section is checked to have its shape; throws
 * {@link UndecodableSnapshot} with the reason when one does not.
 */
export function parseSections(fields: Map<string, unknown>): SnapshotFields {
  const invalid = invalidSection(fields);
  if (invalid !== undefined) throw new UndecodableSnapshot(invalid);
  return fields;
}

/**
 * Checks that fields have the shapes of their sections; returns a reason when not.
 * Fields this release does not know are kept as they are, so that they survive a rewrite.
 */
export function invalidSection(fields: ReadonlyMap<string, unknown>): string | undefined {
  for (const section of ['user_data', 'chat_data', 'processed_updates'] as const) {
    const value = fields.get(section);
    if (value === undefined) continue;
    if (!(value instanceof Map)) return `${section} is not a map`;
    // A compact index holds numbers alone: its ids need no look.
    if (value instanceof LazySection) continue;
    // Keys alone where the values need no check: a [key, value] pair per entry is garbage by the 100k.
    for (const id of value.keys()) {
      if (typeof id !== 'number') return `${section} has an id that is a ${typeof id}, not a number`;
      if (section === 'processed_updates' && typeof value.get(id) !== 'number') return `processed_updates[${id}] is not a time`;
    }
  }
  const conversations = fields.get('conversations');
  if (conversations !== undefined) {
    if (!(conversations instanceof Map)) return 'conversations is not a map';
    for (const [name, states] of conversations) {
      if (typeof name !== 'string') return `conversations has a name that is a ${typeof name}, not a string`;
      if (!(states instanceof Map)) return `conversations[${JSON.stringify(name)}] is not a map`;
      for (const key of states.keys()) if (typeof key !== 'string') return `conversations[${name}] has a non-string key`;
    }
  }
  try {
    parseCallbackData(fields.get('callback_data'));
  } catch (error) {
    if (error instanceof CallbackDataShapeError) return error.reason;
    throw error;
  }
  return undefined;
}

/**
 * The value of one entry in `fields`, or {@link ABSENT}. An entry still encoded is decoded here, and
 * throws `UndecodableSnapshot` when its bytes are not a value.
 */
export function readEntry(fields: SnapshotFields, ref: EntryRef): EntryValue {
  switch (ref.section) {
    case 'user_data':
    case 'chat_data':
    case 'processed_updates': {
      const entries = fields.get(ref.section);
      return entries?.has(ref.id) ? storedValue(entries.get(ref.id), ref.section, ref.id) : ABSENT;
    }
    case 'bot_data': {
      if (!fields.has('bot_data')) return ABSENT;
      const botData = fields.get('bot_data');
      if (ref.property === null) return botData;
      return isPlainObject(botData) && Object.prototype.hasOwnProperty.call(botData, ref.property)
        ? botData[ref.property]
        : ABSENT;
    }
    case 'callback_data':
      return fields.has('callback_data') ? fields.get('callback_data') : ABSENT;
    case 'conversations': {
      const states = fields.get('conversations')?.get(ref.name);
      return states?.has(ref.key) ? states.get(ref.key) : ABSENT;
    }
  }
}

/**
 * Returns `fields` with the changes applied (an {@link ABSENT} value removes the entry). Each touched
 * container is copied once, never mutated, so `fields` stays a valid picture of what was read; the
 * Map of users or chats is not copied but overlaid (an `OverlayMap` reading through to it).
 */
export function applyChanges(
  fields: SnapshotFields,
  changes: Iterable<readonly [EntryRef, EntryValue]>,
): SnapshotFields {
  const next: SnapshotFields = new Map(fields);
  const copied = new Set<unknown>();
  const writable = <T>(container: T, copy: (value: T) => T): T => {
    if (copied.has(container)) return container;
    const fresh = copy(container);
    copied.add(fresh);
    return fresh;
  };
  for (const [ref, value] of changes) {
    switch (ref.section) {
      case 'user_data':
      case 'chat_data':
      case 'processed_updates': {
        // A section of every user or chat is not copied: the new Map reads through to it (see overlay-map.ts).
        const entries = writable<Map<number, unknown> | undefined>(next.get(ref.section), ref.section === 'processed_updates' ? (m) => new Map(m) : overlayOf)!;
        if (value === ABSENT) entries.delete(ref.id);
        else entries.set(ref.id, value);
        next.set(ref.section, entries);
        break;
      }
      case 'bot_data': {
        if (ref.property === null) {
          if (value === ABSENT) next.delete('bot_data');
          else next.set('bot_data', value);
          break;
        }
        const current = next.get('bot_data');
        const botData = writable(isPlainObject(current) ? current : undefined, (o) => ({ ...o }))!;
        if (value === ABSENT) delete botData[ref.property];
        else defineEntry(botData, ref.property, value);
        next.set('bot_data', botData);
        break;
      }
      case 'callback_data':
        if (value === ABSENT) next.delete('callback_data');
        else next.set('callback_data', value);
        break;
      case 'conversations': {
        const conversations = writable(next.get('conversations'), (m) => new Map(m))!;
        const states = writable(conversations.get(ref.name), (m) => new Map(m))!;
        if (value === ABSENT) states.delete(ref.key);
        else states.set(ref.key, value);
        if (states.size === 0) conversations.delete(ref.name);
        else conversations.set(ref.name, states);
        next.set('conversations', conversations);
        break;
      }
    }
  }
  return next;
}
