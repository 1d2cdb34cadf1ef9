/**
 * Arbitrary callback data, as python-telegram-bot's `CallbackDataCache`: a button carries any value,
 * Telegram sees a 64-character id, and the value comes back when the button is pressed.
 */
import type { CallbackData } from '../contract.js';
import { InvalidOptionsError, PersistenceError } from '../errors.js';
import { parseCallbackData } from '../snapshot/callback-data.js';

/**
 * A button given to {@link CallbackDataCache.processKeyboard}: `callbackData` is any storable value;
 * every other field of Telegram's `InlineKeyboardButton` (`url`, `login_url`, `pay`, ...) is copied
 * through as it is.
 */
export interface CallbackButton {
  text: string;
  callbackData?: unknown;
  url?: string;
  [field: string]: unknown;
}

/**
 * A button as sent to Telegram: `callbackData` replaced by `callback_data`, the keyboard id and the
 * button id (64 lowercase hex characters, within Telegram's 64-byte limit).
 */
export interface InlineButton {
  text: string;
  callback_data?: string;
  url?: string;
  [field: string]: unknown;
}

/**
 * What {@link CallbackDataCache.resolve} found: the stored value, or why there is none:
 * `'unknown'` (the keyboard or button was evicted, dropped or never stored here) or `'malformed'`
 * (not 64 hex characters: not ours, or tampered with). PTB raises `InvalidCallbackData` for both.
 */
export type CallbackDataOutcome =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'unknown' | 'malformed'; data: string };

/**
 * Options of {@link CallbackDataCache}.
 */
export interface CallbackDataCacheOptions {
  /** Keyboards kept (and, separately, callback queries remembered) at most; default 1024, as PTB. */
  maxSize?: number;
  /** State to start from, as `BasePersistence.getCallbackData()` returns it. */
  persistentData?: CallbackData | null;
  /** The clock, in seconds since the epoch (PTB's `time.time()`); default `Date.now() / 1000`. */
  now?: () => number;
  /** A fresh id of 32 lowercase hex characters; default a random UUID without dashes (PTB's `uuid4().hex`). */
  newId?: () => string;
}

interface StoredKeyboard {
  accessTime: number;
  buttons: Map<string, unknown>;
}

const ID_PATTERN = /^[0-9a-f]{32}$/;
const CALLBACK_DATA_PATTERN = /^[0-9a-f]{64}$/;

/**
 * PTB's `CallbackDataCache`, without a framework: keyboards whose buttons carry arbitrary values are
 * stored in an LRU of at most `maxSize` keyboards, and persisted in PTB's `callback_data` shape.
 * Values are stored as given, not copied: the persistence copies them when it writes.
 *
 * @example
 * const cache = new CallbackDataCache({ persistentData: await persistence.getCallbackData() });
 * const rows = cache.processKeyboard([[{ text: 'Buy', callbackData: { sku: 'A-1', qty: 2 } }]]);
 * // ...later, on the callback query:
 * const result = cache.resolve(query.id, query.data);
 * if (result.ok) await buy(result.value);
 * if (cache.changed) {
 *   const { version } = cache;
 *   await persistence.updateCallbackData(cache.persistenceData());
 *   cache.markPersisted(version);
 * }
 */
export class CallbackDataCache {
  /** Keyboards kept at most; the least recently used one is evicted beyond that. */
  readonly maxSize: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  /** Keyboard uuid -> keyboard, least recently used first. */
  private readonly keyboards = new Map<string, StoredKeyboard>();
  /** Callback query id -> keyboard uuid, least recently set first. */
  private readonly callbackQueries = new Map<string, string>();
  private currentVersion = 0;
  private persistedVersion = 0;

  constructor(options: CallbackDataCacheOptions = {}) {
    const { maxSize = 1024, persistentData = null, now, newId } = options;
    if (!Number.isSafeInteger(maxSize) || maxSize < 1) {
      throw new InvalidOptionsError(`CallbackDataCache: maxSize must be a positive integer, got ${String(maxSize)}`);
    }
    this.maxSize = maxSize;
    this.now = now ?? (() => Date.now() / 1000);
    // Web Crypto, read when an id is made: importing `node:crypto` costs a cold start (bench/README.md).
    this.newId = newId ?? (() => globalThis.crypto.randomUUID().replaceAll('-', ''));
    this.load(persistentData);
  }

  /**
   * Increases with every change of the state; pass it to {@link markPersisted} to acknowledge
   * exactly what was written, even if more changed during the write.
   */
  get version(): number {
    return this.currentVersion;
  }

  /**
   * Whether the state changed since it was loaded or last marked persisted.
   */
  get changed(): boolean {
    return this.currentVersion !== this.persistedVersion;
  }

  /**
   * Records that the state up to `version` (default: the current one) is persisted.
   */
  markPersisted(version: number = this.currentVersion): void {
    this.persistedVersion = Math.min(this.currentVersion, Math.max(this.persistedVersion, version));
  }

  /**
   * Stores the `callbackData` of each button and returns the rows to send to Telegram, with
   * `callback_data` = keyboard id + button id (PTB's `process_keyboard`). A keyboard with no
   * `callbackData` at all is not stored.
   */
  processKeyboard(rows: readonly (readonly CallbackButton[])[]): InlineButton[][] {
    const keyboardUuid = this.freshId();
    const buttons = new Map<string, unknown>();
    const processed = rows.map((row) =>
      row.map((button) => {
        const { callbackData, ...rest } = button;
        if (callbackData === undefined) return rest;
        const buttonUuid = this.freshId();
        buttons.set(buttonUuid, callbackData);
        return { ...rest, callback_data: keyboardUuid + buttonUuid };
      }),
    );
    if (buttons.size > 0) {
      setMostRecent(this.keyboards, keyboardUuid, { accessTime: this.now(), buttons }, this.maxSize);
      this.currentVersion++;
    }
    return processed;
  }

  /**
   * The value stored for the pressed button (PTB's `process_callback_query`): refreshes the
   * keyboard's access time and LRU position and remembers which keyboard the query belongs to, for
   * {@link dropCallbackQuery}. Never throws: unknown or malformed data gives `ok: false`.
   *
   * @example
   * const result = cache.resolve(ctx.callbackQuery.id, ctx.callbackQuery.data ?? '');
   * if (result.ok) await handle(result.value);
   * else await ctx.answerCallbackQuery({ text: 'This button is no longer valid' });
   */
  resolve(callbackQueryId: string, data: string): CallbackDataOutcome {
    if (typeof data !== 'string' || !CALLBACK_DATA_PATTERN.test(data)) {
      return { ok: false, reason: 'malformed', data: String(data) };
    }
    const keyboardUuid = data.slice(0, 32);
    const keyboard = this.keyboards.get(keyboardUuid);
    const buttonUuid = data.slice(32);
    if (keyboard === undefined || !keyboard.buttons.has(buttonUuid)) return { ok: false, reason: 'unknown', data };
    keyboard.accessTime = this.now();
    setMostRecent(this.keyboards, keyboardUuid, keyboard, this.maxSize);
    setMostRecent(this.callbackQueries, callbackQueryId, keyboardUuid, this.maxSize);
    this.currentVersion++;
    return { ok: true, value: keyboard.buttons.get(buttonUuid) };
  }

  /**
   * Forgets the keyboard the callback query belonged to, and the query (PTB's `drop_data`), once
   * its buttons are no longer needed. Returns whether the query was known; PTB raises `KeyError`
   * when it is not.
   */
  dropCallbackQuery(callbackQueryId: string): boolean {
    const keyboardUuid = this.callbackQueries.get(callbackQueryId);
    if (keyboardUuid === undefined) return false;
    this.callbackQueries.delete(callbackQueryId);
    this.keyboards.delete(keyboardUuid);
    this.currentVersion++;
    return true;
  }

  /**
   * Forgets every keyboard, or only those not accessed within the last `olderThanSeconds`
   * (PTB's `clear_callback_data(time.time() - olderThanSeconds)`).
   */
  clearCallbackData(olderThanSeconds?: number): void {
    if (olderThanSeconds === undefined) {
      if (this.keyboards.size > 0) this.currentVersion++;
      this.keyboards.clear();
      return;
    }
    if (!Number.isFinite(olderThanSeconds) || olderThanSeconds < 0) {
      throw new PersistenceError(
        'INVALID_OPTIONS',
        `clearCallbackData: olderThanSeconds must be a number of seconds >= 0, got ${String(olderThanSeconds)}`,
      );
    }
    const cutoff = this.now() - olderThanSeconds;
    for (const [keyboardUuid, keyboard] of this.keyboards) {
      if (keyboard.accessTime < cutoff) {
        this.keyboards.delete(keyboardUuid);
        this.currentVersion++;
      }
    }
  }

  /**
   * Forgets which keyboard each callback query belonged to (PTB's `clear_callback_queries`).
   */
  clearCallbackQueries(): void {
    if (this.callbackQueries.size > 0) this.currentVersion++;
    this.callbackQueries.clear();
  }

  /**
   * The state in PTB's persisted shape: `[[keyboardUuid, accessTime, {buttonUuid: value}], ...]`,
   * least recently used first, and `{callbackQueryId: keyboardUuid}`. Fresh arrays and records;
   * the values are the stored ones, not copies.
   */
  persistenceData(): CallbackData {
    const keyboards = [...this.keyboards].map(
      ([keyboardUuid, { accessTime, buttons }]): [string, number, Record<string, unknown>] => [
        keyboardUuid,
        accessTime,
        Object.fromEntries(buttons),
      ],
    );
    return [keyboards, Object.fromEntries(this.callbackQueries)];
  }

  /**
   * Replaces the whole state with persisted data (`null`: empty), e.g. another instance's after
   * `refreshCallbackData()`. Unpersisted changes of this instance are discarded, and `changed` is
   * false afterwards. Beyond `maxSize`, the least recent entries are dropped, as PTB does. Throws a
   * `PersistenceError` with code `SNAPSHOT_UNREADABLE`, naming the bad part, and keeps the state,
   * when the data is not in that shape.
   */
  load(data: CallbackData | null): void {
    const { keyboards, callbackQueries } = parsePersisted(data);
    this.keyboards.clear();
    this.callbackQueries.clear();
    for (const [keyboardUuid, keyboard] of keyboards) {
      setMostRecent(this.keyboards, keyboardUuid, keyboard, this.maxSize);
    }
    for (const [callbackQueryId, keyboardUuid] of callbackQueries) {
      setMostRecent(this.callbackQueries, callbackQueryId, keyboardUuid, this.maxSize);
    }
    this.currentVersion++;
    this.persistedVersion = this.currentVersion;
  }

  private freshId(): string {
    const id = this.newId();
    if (!ID_PATTERN.test(id)) {
      throw new InvalidOptionsError(`CallbackDataCache: newId returned "${id}", expected 32 lowercase hex characters`);
    }
    return id;
  }
}

/** Puts `key` last (most recent) in `lru`, evicting the least recent entries beyond `maxSize`. */
function setMostRecent<V>(lru: Map<string, V>, key: string, value: V, maxSize: number): void {
  lru.delete(key);
  lru.set(key, value);
  for (const oldest of lru.keys()) {
    if (lru.size <= maxSize) break;
    lru.delete(oldest);
  }
}

/** The persisted value as the cache's own LRU entries; throws before anything is replaced. */
function parsePersisted(data: unknown): {
  keyboards: Array<[string, StoredKeyboard]>;
  callbackQueries: Array<[string, string]>;
} {
  const [keyboards, callbackQueries] = parseCallbackData(data) ?? [[], {}];
  return {
    keyboards: keyboards.map(([keyboardUuid, accessTime, buttons]) => [keyboardUuid, { accessTime, buttons: new Map(Object.entries(buttons)) }]),
    callbackQueries: Object.entries(callbackQueries),
  };
}
