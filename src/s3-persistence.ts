/**
 * `S3Persistence`: python-telegram-bot's `PicklePersistence` contract on S3-compatible storage.
 */
import {
  BasePersistence,
  conversationKey,
  type UpdateOwner,
  type WriteOrigin,
  type CallbackData,
  type ContextTypes,
  type ConversationKey,
  type PersistenceInput,
} from './contract.js';
import { InvalidOptionsError, SerializationError } from './errors.js';
import { ABSENT, type EntryRef, type EntryValue } from './snapshot/entries.js';
import type { LayoutName } from './snapshot/layout.js';
import { emptyMetrics, TrackedObject, type PersistenceMetrics } from './snapshot/tracked-object.js';
import { copyIn, copyOut, deepEqual } from './snapshot/values.js';
import { eachLimited } from './limit.js';
import type { Environment } from './engine/environment.js';
import { claimUpdate, releaseClaim, type HeldClaim } from './update-claim.js';
import type { ObjectStore } from './store/object-store.js';
import { botDataChanges, replaceInPlace } from './state/entry-changes.js';
import { LayoutObjects } from './state/layout-objects.js';
import { resolveOptions, type S3PersistenceOptions } from './s3-persistence-options.js';

export type { S3PersistenceOptions } from './s3-persistence-options.js';
export type { LoadProgress } from './state/layout-objects.js';
export { PROCESSED_UPDATES_KEPT, PROCESSED_UPDATES_TTL_MS } from './snapshot/tracked-object.js';

function checkId(kind: 'user' | 'chat', id: number): void {
  if (!Number.isSafeInteger(id)) {
    throw new SerializationError(`${kind}_data[${String(id)}]`, `a ${kind} id must be an integer`);
  }
}

/**
 * Keeps a bot's `user_data`, `chat_data`, `bot_data`, `callback_data` and conversations in an
 * S3 bucket, as PTB's `PicklePersistence` keeps them in a file. Every write is a conditional PUT,
 * so concurrent instances merge per entry instead of overwriting each other.
 *
 * @example
 * const persistence = new S3Persistence({ filepath: 's3://my-bot-state/prod/bot' });
 * const users = await persistence.getUserData();
 * await persistence.updateUserData(42, { count: (users.get(42)?.count ?? 0) + 1 });
 */
export class S3Persistence<
  UD = Record<string, unknown>,
  CD = Record<string, unknown>,
  BD = Record<string, unknown>,
> extends BasePersistence<UD, CD, BD> {
  readonly bucket: string;
  /** The path part of `filepath`. */
  readonly path: string;
  readonly storeData: Readonly<PersistenceInput>;
  /** True for PTB's single-file layout. */
  readonly singleFile: boolean;
  readonly layout: LayoutName;
  readonly onFlush: boolean;
  readonly updateInterval: number;
  /** Requests sent and conflicts met by this instance. */
  readonly metrics: PersistenceMetrics = emptyMetrics();
  private readonly contextTypes: ContextTypes<UD, CD, BD>;
  /** The objects this instance tracks, placed by its layout. */
  private readonly objects: LayoutObjects;
  /** Where the objects are read and written (the webhook keeps the bot's getMe answer there too). */
  readonly store: ObjectStore;
  private readonly loadConcurrency: number;
  private readonly environment: Environment;
  /** This instance's id as a claim holder, drawn when a claim first needs it (see {@link holder}). */
  private holderId: string | undefined;
  /** Claims this instance holds, by update id, until the update ends. */
  private readonly heldClaims = new Map<number, HeldClaim>();
  /** Objects holding changes of an update whose "handled" mark they keep: written by markUpdateProcessed or flush, last. */
  private readonly awaitingMark = new Set<TrackedObject>();
  private bot: object | undefined;

  constructor(options: S3PersistenceOptions<UD, CD, BD>) {
    super();
    const resolved = resolveOptions(options);
    const { store, environment, layout, retry, maxSnapshotBytes, merge } = resolved;
    this.bucket = resolved.bucket;
    this.path = resolved.path;
    this.storeData = resolved.storeData;
    this.layout = layout.name;
    this.singleFile = layout.singleFile;
    this.loadConcurrency = resolved.loadConcurrency;
    this.onFlush = resolved.onFlush;
    this.updateInterval = resolved.updateInterval;
    this.contextTypes = resolved.contextTypes;
    this.store = store;
    this.environment = environment;
    const newObject = (key: string) =>
      new TrackedObject({
        store,
        key,
        retry,
        metrics: this.metrics,
        merge,
        onConflict: options.onConflict,
        exportValue: (value) => copyOut(value, this.bot),
        importValue: (value, entry) => copyIn(value, entry, this.bot),
        environment,
        maxSnapshotBytes,
      });
    this.objects = new LayoutObjects({
      layout,
      path: this.path,
      store,
      concurrency: this.loadConcurrency,
      newObject,
      maxSnapshotBytes,
      onProgress: options.onProgress,
    });
    Object.defineProperty(this, 'updateInterval', { writable: false });
  }

  setBot(bot: object): void {
    if (typeof bot !== 'object' || bot === null) throw new InvalidOptionsError('setBot expects the bot object');
    this.bot = bot;
  }

  async getUserData(): Promise<Map<number, UD>> {
    return this.storeData.userData ? this.readIdMap('user_data') : new Map();
  }

  async getChatData(): Promise<Map<number, CD>> {
    return this.storeData.chatData ? this.readIdMap('chat_data') : new Map();
  }

  async getBotData(): Promise<BD> {
    const ref = { section: 'bot_data', property: null } as const;
    const stored = this.storeData.botData ? await this.readSection(ref) : ABSENT;
    if (stored === ABSENT) return this.contextTypes.botData?.() ?? ({} as BD);
    return copyOut(stored, this.bot) as BD;
  }

  async getCallbackData(): Promise<CallbackData | null> {
    if (!this.storeData.callbackData) return null;
    const stored = await this.readSection({ section: 'callback_data' });
    return stored === ABSENT ? null : (copyOut(stored, this.bot) as CallbackData | null);
  }

  async getConversations(name: string): Promise<Map<string, unknown>> {
    const states = new Map<string, unknown>();
    for (const object of await this.objects.holding('conversations', name)) {
      object.sawScope({ section: 'conversations', name, key: '' });
      const stored = object.view('conversations').get('conversations')?.get(name);
      for (const [key, state] of stored ?? []) states.set(key, copyOut(state, this.bot));
    }
    return states;
  }

  /**
   * The state of one conversation key, revalidated first (one conditional GET); `undefined` when the
   * key is in no conversation. This is what the runtime reads per update, in every layout.
   */
  override async refreshConversation(name: string, key: ConversationKey): Promise<unknown> {
    const ref = { section: 'conversations', name, key: conversationKey(key) } as const;
    const object = this.objects.objectFor(ref);
    await object.revalidate();
    const state = object.entry(ref);
    object.sawEntry(ref, state);
    return state === ABSENT ? undefined : copyOut(state, this.bot);
  }

  async updateUserData(userId: number, data: UD, origin: WriteOrigin = {}): Promise<void> {
    checkId('user', userId);
    if (!this.storeData.userData) return;
    await this.change({ section: 'user_data', id: userId }, copyIn(data, `user_data[${userId}]`, this.bot), origin);
  }

  async updateChatData(chatId: number, data: CD, origin: WriteOrigin = {}): Promise<void> {
    checkId('chat', chatId);
    if (!this.storeData.chatData) return;
    await this.change({ section: 'chat_data', id: chatId }, copyIn(data, `chat_data[${chatId}]`, this.bot), origin);
  }

  async updateBotData(data: BD, origin: WriteOrigin = {}): Promise<void> {
    if (!this.storeData.botData) return;
    const value = copyIn(data, 'bot_data', this.bot);
    const object = await this.objects.loaded({ section: 'bot_data', property: null });
    const current = object.entry({ section: 'bot_data', property: null });
    // Absent bot data reads as the default: storing the default would change nothing a reader sees.
    if (current === ABSENT && deepEqual(value, copyIn(this.contextTypes.botData?.() ?? {}, 'bot_data', this.bot))) return;
    let changed = false;
    for (const [ref, entry] of botDataChanges(current, value)) changed = object.set(ref, entry, origin.updateId) || changed;
    if (changed) await this.commitChanged(object, origin);
  }

  async updateCallbackData(data: CallbackData): Promise<void> {
    if (!this.storeData.callbackData) return;
    await this.change({ section: 'callback_data' }, copyIn(data, 'callback_data', this.bot));
  }

  async updateConversation(name: string, key: ConversationKey, state: unknown, origin: WriteOrigin = {}): Promise<void> {
    if (typeof name !== 'string' || name === '') {
      throw new SerializationError('conversations', 'a persistent conversation needs a non-empty name');
    }
    // Finite numbers only: JSON, the key's stored form, writes NaN and Infinity as null.
    if (!Array.isArray(key) || !key.every((part) => (typeof part === 'number' && Number.isFinite(part)) || typeof part === 'string')) {
      throw new SerializationError(`conversations[${JSON.stringify(name)}]`, 'a conversation key is an array of finite numbers and strings');
    }
    const id = conversationKey(key);
    const value =
      state === null || state === undefined ? ABSENT : copyIn(state, `conversations[${JSON.stringify(name)}][${id}]`, this.bot);
    await this.change({ section: 'conversations', name, key: id }, value, origin);
  }

  async dropUserData(userId: number, origin: WriteOrigin = {}): Promise<void> {
    checkId('user', userId);
    if (!this.storeData.userData) return;
    await this.change({ section: 'user_data', id: userId }, ABSENT, origin);
  }

  async dropChatData(chatId: number, origin: WriteOrigin = {}): Promise<void> {
    checkId('chat', chatId);
    if (!this.storeData.chatData) return;
    await this.change({ section: 'chat_data', id: chatId }, ABSENT, origin);
  }

  async refreshUserData(userId: number, data: UD): Promise<void> {
    if (!this.storeData.userData) return;
    await this.refresh({ section: 'user_data', id: userId }, data, this.contextTypes.userData);
  }

  async refreshChatData(chatId: number, data: CD): Promise<void> {
    if (!this.storeData.chatData) return;
    await this.refresh({ section: 'chat_data', id: chatId }, data, this.contextTypes.chatData);
  }

  async refreshBotData(data: BD): Promise<void> {
    if (!this.storeData.botData) return;
    await this.refresh({ section: 'bot_data', property: null }, data, this.contextTypes.botData);
  }

  /** In the sharded layout this lists and revalidates every key of the conversation: prefer {@link refreshConversation}. */
  override async refreshConversations(name: string): Promise<Map<string, unknown>> {
    const objects = await this.objects.holding('conversations', name, 'unloaded');
    await eachLimited(objects, this.loadConcurrency, async (object) => void (await object.revalidate()));
    return this.getConversations(name);
  }

  override async refreshCallbackData(): Promise<CallbackData | null> {
    if (!this.storeData.callbackData) return null;
    await this.objects.objectFor({ section: 'callback_data' }).revalidate();
    return this.getCallbackData();
  }

  override async isUpdateProcessed(updateId: number, keys: UpdateOwner = {}): Promise<boolean> {
    const object = this.objects.processedObject(keys);
    await object.load();
    return object.entry({ section: 'processed_updates', id: updateId }) !== ABSENT;
  }

  /**
   * Remembers the update id with the time it was handled, and forgets ids older than
   * `PROCESSED_UPDATES_TTL_MS` or beyond the newest `PROCESSED_UPDATES_KEPT`.
   */
  override async markUpdateProcessed(updateId: number, keys: UpdateOwner = {}): Promise<void> {
    const now = this.environment.now();
    if (!Number.isSafeInteger(updateId)) throw new SerializationError(`processed_updates[${String(updateId)}]`, 'an update id must be an integer');
    const object = this.objects.processedObject(keys);
    await object.load();
    // The update's other objects first: the mark says every change of the update is stored.
    await this.flushExcept(new Set([object]), this.onFlush ? [] : this.objects.all().filter((other) => other.carries(updateId)));
    const changed = object.recordUpdate(updateId, now);
    if (!this.onFlush && (changed || this.awaitingMark.has(object))) {
      this.awaitingMark.delete(object);
      await object.commit();
    }
  }

  /**
   * Claims update `updateId` for `leaseMs` milliseconds with a create-only object beside the state
   * (`<path>.claims/<update_id>`): one PUT, and a GET when another delivery got there first. See
   * `claimUpdate` in update-claim.ts.
   */
  override async claimUpdate(updateId: number, leaseMs: number): Promise<number | undefined> {
    if (!Number.isSafeInteger(updateId)) throw new SerializationError(`claims[${String(updateId)}]`, 'an update id must be an integer');
    const held = await claimUpdate(this.claimOptions(), updateId, leaseMs);
    if (held === undefined) return undefined;
    this.heldClaims.set(updateId, held);
    // Only a failing update releases its claim, right after it was made: the latest few are enough.
    for (const oldest of this.heldClaims.keys()) {
      if (this.heldClaims.size <= 16) break;
      this.heldClaims.delete(oldest);
    }
    return held.expiresAt;
  }

  /** Releases this instance's claim of `updateId` (its update failed), so that a redelivery runs it at once. */
  override async releaseUpdate(updateId: number): Promise<void> {
    const held = this.heldClaims.get(updateId);
    if (held === undefined) return;
    this.heldClaims.delete(updateId);
    await releaseClaim(this.claimOptions(), updateId, held);
  }

  /**
   * This instance's id as a claim holder. Drawn on first use, not at construction: a load needs
   * none, and the first use of Web Crypto costs a fresh process several milliseconds.
   */
  private get holder(): string {
    return (this.holderId ??= this.environment.writeId());
  }

  private claimOptions() {
    const { store, path, environment, metrics, holder } = this;
    return { store, path, environment, metrics, holder };
  }

  /** Writes every pending change. Throws the first failure after trying every object. */
  async flush(): Promise<void> {
    // Objects with something to write, or a write in flight; at most loadConcurrency at once (a
    // sharded layout may hold many). Objects that keep a "handled" mark go last.
    const dirty = this.objects.all().filter((object) => object.hasPendingChanges || object.isWriting);
    const marks = new Set(this.awaitingMark);
    await this.flushExcept(marks, dirty);
    for (const object of marks) this.awaitingMark.delete(object);
    await eachLimited([...marks], this.loadConcurrency, (object) => object.commit());
  }

  /** Commits `objects` but those in `except`, at most loadConcurrency at once; throws the first failure after trying all. */
  private async flushExcept(except: ReadonlySet<TrackedObject>, objects: readonly TrackedObject[]): Promise<void> {
    await eachLimited(
      objects.filter((object) => !except.has(object)),
      this.loadConcurrency,
      (object) => object.commit(),
    );
  }

  /**
   * The names of the conversations stored (in the sharded layout: listed from the bucket).
   */
  async conversationNames(): Promise<string[]> {
    return this.objects.conversationNames();
  }

  /** True while some change is not yet durable. */
  get hasPendingChanges(): boolean {
    return this.objects.all().some((object) => object.hasPendingChanges);
  }

  private async readIdMap<T>(section: 'user_data' | 'chat_data'): Promise<Map<number, T>> {
    let entries: Map<number, unknown> | undefined;
    for (const object of await this.objects.holding(section, undefined, 'every-entry')) {
      object.sawScope({ section, id: 0 });
      entries = object.readIdSection(section, entries);
    }
    return (entries ?? new Map()) as Map<number, T>;
  }

  /** The current value of an entry that is a whole section (bot data, callback data), which the caller of its `get*` now sees. */
  private async readSection(ref: EntryRef): Promise<EntryValue> {
    const object = await this.objects.loaded(ref);
    object.sawScope(ref);
    return object.entry(ref);
  }

  private async change(ref: EntryRef, value: EntryValue, origin: WriteOrigin = {}): Promise<void> {
    const object = await this.objects.loaded(ref);
    // PTB's update_* compare with data.get(id), None for an absent entry: null there changes nothing.
    if (value === null && object.entry(ref) === ABSENT) return;
    if (object.set(ref, value, origin.updateId)) await this.commitChanged(object, origin);
  }

  /**
   * Commits an object just changed, unless `onFlush`. The object that keeps an update's "handled"
   * mark waits for {@link markUpdateProcessed}: written before the update's other objects, the mark
   * would make a redelivery skip changes that a crash kept from being stored.
   */
  private async commitChanged(object: TrackedObject, origin: WriteOrigin): Promise<void> {
    if (origin.updateId !== undefined && object === this.objects.processedObject(origin.owner ?? {})) {
      this.awaitingMark.add(object);
      return;
    }
    if (!this.onFlush) await object.commit();
  }

  /**
   * Revalidates the object, then makes `target` hold the entry's current value when it differs.
   * Comparing contents, not only "did this GET bring news", matters: on one snapshot object the
   * first refresh takes the news for all, and a rebase may have merged another writer's changes
   * that no caller's object holds yet.
   */
  private async refresh<T>(ref: EntryRef, target: T, fresh: (() => T) | undefined): Promise<void> {
    const object = this.objects.objectFor(ref);
    await object.revalidate();
    const stored = object.entry(ref);
    if (ref.section === 'bot_data') object.sawScope(ref);
    else object.sawEntry(ref, stored);
    const source = stored === ABSENT ? (fresh?.() ?? {}) : copyOut(stored, this.bot);
    if (!deepEqual(source, target)) replaceInPlace(target, source);
  }
}
