/**
 * `S3Persistence`: python-telegram-bot's `PicklePersistence` contract on S3-compatible storage.
 */
import type { S3Client } from '@aws-sdk/client-s3';
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
import { DEFAULT_RETRY, type ConflictHook, type MergeFunction, type RetryPolicy } from './conflicts.js';
import { mergeCallbackData } from './callback-data-merge.js';
import { InvalidOptionsError, SerializationError } from './errors.js';
import { ABSENT, type EntryRef, type EntryValue } from './snapshot/entries.js';
import {
  entryOfShardedKey,
  isLayoutName,
  LAYOUT_NAMES,
  parseFilepath,
  sectionKey,
  shardedKey,
  shardedPrefix,
  type LayoutName,
  type ShardedKind,
} from './snapshot/layout.js';
import { emptyMetrics, TrackedObject, type PersistenceMetrics } from './snapshot/tracked-object.js';
import { copyIn, copyOut, deepEqual, defineEntry, isPlainObject } from './snapshot/values.js';
import { eachLimited } from './limit.js';
import { environmentWith, type Environment } from './engine/environment.js';
import { claimUpdate, releaseClaim, type HeldClaim } from './update-claim.js';
import { OTHER_LAYOUT_EXPECTED, refuseSnapshotBeside } from './layout-collision.js';
import type { ObjectStore } from './store/object-store.js';
import { ConditionalWriteGuard } from './store/conditional-write-guard.js';
import { clientFromEnvironment, endpointOf, S3ObjectStore } from './store/s3-store.js';

export interface S3PersistenceOptions<UD, CD, BD> {
  /** `s3://bucket/some/prefix`, or `some/prefix` together with `bucket`. */
  filepath: string;
  bucket?: string;
  /** Default: built from the environment (`AWS_REGION`; `S3_ENDPOINT` selects that endpoint, path-style). */
  client?: S3Client;
  /** Which kinds of data to store; each defaults to `true`. Conversations are always stored. */
  storeData?: Partial<PersistenceInput>;
  /** One object for everything (default), or PTB's one object per kind of data. */
  singleFile?: boolean;
  /**
   * `'single-file'` (default) and `'multi-file'` are PTB's layouts (the same as `singleFile`);
   * `'sharded'` keeps each user, chat and conversation key in its own object, so that the cost of an
   * update and of a cold start does not grow with the number of users.
   */
  layout?: LayoutName;
  /** Told how far `get*` has come while loading a sharded layout entry by entry. */
  onProgress?: (progress: LoadProgress) => void;
  /** Objects read at once when a sharded layout loads every entry of a kind; default 16. */
  loadConcurrency?: number;
  /** Keep changes in memory until `flush()` (default false: each `update*` is durable when it resolves). */
  onFlush?: boolean;
  /** Seconds between periodic flushes a long-running driver should make; default 60. */
  updateInterval?: number;
  /** Factories for fresh data; default `() => ({})`. */
  contextTypes?: ContextTypes<UD, CD, BD>;
  /** Decides same-entry conflicts instead of "the later write wins" (and of callback data merged per keyboard). */
  merge?: MergeFunction;
  /** Told of every same-entry conflict. */
  onConflict?: ConflictHook;
  /** Backoff of conflicting writes. */
  retry?: Partial<RetryPolicy>;
  /** Snapshot size in bytes from which writes use a multipart upload; default 16 MiB. */
  multipartThreshold?: number;
  /**
   * The largest snapshot object this instance loads; a larger one is refused with
   * `SnapshotTooLargeError` before its body is read, instead of the process running out of memory.
   * Default: on Lambda, a fifth of the function's memory (loading and updating a single-file snapshot
   * takes 4–6 times its size); elsewhere no limit.
   */
  maxSnapshotBytes?: number;
  /** Another object store in place of S3 (for example `MemoryObjectStore` in tests). */
  store?: ObjectStore;
  /** The clock, randomness and waiting of writes, replaced by deterministic tests; default: the real ones. */
  environment?: Partial<Environment>;
  /**
   * `'verify'` (default): before its first write, the instance checks that the S3 server refuses
   * writes whose `If-None-Match`/`If-Match` condition fails, and throws `ConditionalWritesIgnoredError`
   * if not (one GET per cold start once the server has passed; see the README). `'trust'` skips the
   * check: on a server that ignores the conditions, concurrent writers then silently lose updates.
   * Not applied to a `store` given here.
   */
  conditionalWrites?: 'verify' | 'trust';
}

export { PROCESSED_UPDATES_KEPT, PROCESSED_UPDATES_TTL_MS } from './snapshot/tracked-object.js';

/** A fifth of a Lambda function's memory, or no limit off Lambda (see `maxSnapshotBytes`). */
function defaultMaxSnapshotBytes(): number | undefined {
  const megabytes = Number(globalThis.process?.env?.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return megabytes > 0 ? Math.floor((megabytes * 2 ** 20) / 5) : undefined;
}

/** Progress of loading every entry of one kind in the sharded layout. */
export interface LoadProgress {
  kind: ShardedKind;
  loaded: number;
  total: number;
}

function layoutOf(options: { layout?: LayoutName; singleFile?: boolean }): LayoutName {
  const { layout, singleFile } = options;
  if (layout === undefined) return singleFile === false ? 'multi-file' : 'single-file';
  if (!isLayoutName(layout)) {
    throw new InvalidOptionsError(`layout must be one of ${LAYOUT_NAMES.join(', ')}, not ${JSON.stringify(layout)}`);
  }
  if (singleFile !== undefined && singleFile !== (layout === 'single-file')) {
    throw new InvalidOptionsError(`singleFile: ${singleFile} contradicts layout: '${layout}'; set only layout`);
  }
  return layout;
}

/** The default store: S3, behind the check of conditional writes unless `conditionalWrites: 'trust'`. */
function guardedS3Store(bucket: string, path: string, options: S3PersistenceOptions<unknown, unknown, unknown>): ObjectStore {
  const client = options.client ?? clientFromEnvironment();
  const store = new S3ObjectStore({ client, bucket, multipartThreshold: options.multipartThreshold });
  const mode = options.conditionalWrites ?? 'verify';
  if (mode !== 'verify' && mode !== 'trust') {
    throw new InvalidOptionsError(`conditionalWrites must be 'verify' or 'trust', not ${JSON.stringify(mode)}`);
  }
  if (mode === 'trust') return store;
  return new ConditionalWriteGuard({ store, endpoint: () => endpointOf(client), path, multipartThreshold: store.multipartThreshold });
}

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
  private readonly objects = new Map<string, TrackedObject>();
  private readonly newObject: (key: string) => TrackedObject;
  /** Where the objects are read and written (the webhook keeps the bot's getMe answer there too). */
  readonly store: ObjectStore;
  private readonly onProgress: ((progress: LoadProgress) => void) | undefined;
  private readonly loadConcurrency: number;
  private readonly environment: Environment;
  /** This instance's id as a claim holder. */
  private readonly holder: string;
  /** Claims this instance holds, by update id, until the update ends. */
  private readonly heldClaims = new Map<number, HeldClaim>();
  /** Objects holding changes of an update whose "handled" mark they keep: written by markUpdateProcessed or flush, last. */
  private readonly awaitingMark = new Set<TrackedObject>();
  /** Sharded layout: the prefixes the caller listed (read whole); an entry created later under one was seen absent. */
  private readonly listedPrefixes = new Set<string>();
  private bot: object | undefined;

  constructor(options: S3PersistenceOptions<UD, CD, BD>) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options are required, e.g. { filepath: "s3://my-bucket/bot/state" }');
    }
    const { bucket, path } = parseFilepath(options.filepath, options.bucket);
    this.bucket = bucket;
    this.path = path;
    this.storeData = Object.freeze({
      userData: options.storeData?.userData ?? true,
      chatData: options.storeData?.chatData ?? true,
      botData: options.storeData?.botData ?? true,
      callbackData: options.storeData?.callbackData ?? true,
    });
    this.layout = layoutOf(options);
    this.singleFile = this.layout === 'single-file';
    this.onProgress = options.onProgress;
    this.loadConcurrency = options.loadConcurrency ?? 16;
    if (!Number.isInteger(this.loadConcurrency) || this.loadConcurrency < 1) {
      throw new InvalidOptionsError('loadConcurrency must be a positive integer');
    }
    this.onFlush = options.onFlush ?? false;
    this.updateInterval = options.updateInterval ?? 60;
    if (!(this.updateInterval > 0)) throw new InvalidOptionsError('updateInterval must be a positive number of seconds');
    this.contextTypes = options.contextTypes ?? {};
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
      throw new InvalidOptionsError('retry.maxAttempts must be a positive integer');
    }
    if (options.store !== undefined && options.store.bucket !== bucket) {
      throw new InvalidOptionsError(`the store is for bucket "${options.store.bucket}" but filepath names bucket "${bucket}"`);
    }
    const store = options.store ?? guardedS3Store(bucket, path, options);
    this.store = store;
    const environment = (this.environment = environmentWith(options.environment));
    this.holder = environment.writeId();
    const maxSnapshotBytes = options.maxSnapshotBytes ?? defaultMaxSnapshotBytes();
    if (maxSnapshotBytes !== undefined && !(maxSnapshotBytes > 0)) throw new InvalidOptionsError('maxSnapshotBytes must be a positive number of bytes');
    this.newObject = (key) =>
      new TrackedObject({
        store,
        key,
        retry,
        metrics: this.metrics,
        merge: options.merge ?? mergeCallbackDataOnly,
        onConflict: options.onConflict,
        exportValue: (value) => copyOut(value, this.bot),
        importValue: (value, entry) => copyIn(value, entry, this.bot),
        environment,
        maxSnapshotBytes,
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
    const stored = this.storeData.botData ? await this.readEntry(ref, true) : ABSENT;
    if (stored === ABSENT) return this.contextTypes.botData?.() ?? ({} as BD);
    return copyOut(stored, this.bot) as BD;
  }

  async getCallbackData(): Promise<CallbackData | null> {
    if (!this.storeData.callbackData) return null;
    const stored = await this.readEntry({ section: 'callback_data' }, true);
    return stored === ABSENT ? null : (copyOut(stored, this.bot) as CallbackData | null);
  }

  async getConversations(name: string): Promise<Map<string, unknown>> {
    const states = new Map<string, unknown>();
    const objects =
      this.layout === 'sharded'
        ? await this.loadAll('conversations', name)
        : [await this.loaded({ section: 'conversations', name, key: '' })];
    for (const object of objects) {
      object.sawScope({ section: 'conversations', name, key: '' });
      const stored = object.view().get('conversations')?.get(name);
      for (const [key, state] of stored ?? []) states.set(key, copyOut(state, this.bot));
    }
    return states;
  }

  /**
   * The state of one conversation key, revalidated first (one conditional GET); `undefined` when the
   * key is in no conversation. This is what a driver reads per update in the sharded layout.
   */
  override async refreshConversation(name: string, key: ConversationKey): Promise<unknown> {
    const ref = { section: 'conversations', name, key: conversationKey(key) } as const;
    const object = this.objectFor(ref);
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
    const object = await this.loaded({ section: 'bot_data', property: null });
    const current = object.entry({ section: 'bot_data', property: null });
    // Absent bot data reads as the default: storing the default would change nothing a reader sees.
    if (current === ABSENT && deepEqual(value, copyIn(this.contextTypes.botData?.() ?? {}, 'bot_data', this.bot))) return;
    let changed = false;
    if (isPlainObject(value) && (current === ABSENT || isPlainObject(current))) {
      // Per top-level property, so that writers changing different properties merge.
      const stored = current === ABSENT ? {} : current;
      for (const property of Object.keys(value)) {
        changed = object.set({ section: 'bot_data', property }, value[property], origin.updateId) || changed;
      }
      for (const property of Object.keys(stored)) {
        if (!Object.prototype.hasOwnProperty.call(value, property)) {
          changed = object.set({ section: 'bot_data', property }, ABSENT, origin.updateId) || changed;
        }
      }
    } else {
      changed = object.set({ section: 'bot_data', property: null }, value, origin.updateId);
    }
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
    if (!Array.isArray(key) || !key.every((part) => typeof part === 'number' || typeof part === 'string')) {
      throw new SerializationError(`conversations[${JSON.stringify(name)}]`, 'a conversation key is an array of numbers and strings');
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
    if (this.layout === 'sharded') {
      const objects = await this.loadAll('conversations', name);
      await eachLimited(objects, this.loadConcurrency, async (object) => void (await object.revalidate()));
    } else {
      await this.objectFor({ section: 'conversations', name, key: '' }).revalidate();
    }
    return this.getConversations(name);
  }

  override async refreshCallbackData(): Promise<CallbackData | null> {
    if (!this.storeData.callbackData) return null;
    await this.objectFor({ section: 'callback_data' }).revalidate();
    return this.getCallbackData();
  }

  /** True in the sharded layout: a driver should read entries one by one, not call `getUserData()`. */
  override get loadsLazily(): boolean {
    return this.layout === 'sharded';
  }

  override async isUpdateProcessed(updateId: number, keys: UpdateOwner = {}): Promise<boolean> {
    const object = this.processedObject(keys);
    await object.load();
    return object.entry({ section: 'processed_updates', id: updateId }) !== ABSENT;
  }

  /**
   * Remembers the update id with the time it was handled, and forgets ids older than
   * `PROCESSED_UPDATES_TTL_MS` or beyond the newest `PROCESSED_UPDATES_KEPT`.
   */
  override async markUpdateProcessed(updateId: number, keys: UpdateOwner = {}, now = this.environment.now()): Promise<void> {
    if (!Number.isSafeInteger(updateId)) throw new SerializationError(`processed_updates[${String(updateId)}]`, 'an update id must be an integer');
    const object = this.processedObject(keys);
    await object.load();
    // The update's other objects first: the mark says every change of the update is stored.
    await this.flushExcept(new Set([object]), this.onFlush ? [] : [...this.objects.values()].filter((other) => other.carries(updateId)));
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

  private claimOptions() {
    const { store, path, environment, metrics, holder } = this;
    return { store, path, environment, metrics, holder };
  }

  /** Writes every pending change. Throws the first failure after trying every object. */
  async flush(): Promise<void> {
    // Objects with something to write, or a write in flight; at most loadConcurrency at once (a
    // sharded layout may hold many). Objects that keep a "handled" mark go last.
    const dirty = [...this.objects.values()].filter((object) => object.hasPendingChanges || object.isWriting);
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
   *
   * @example
   * for (const name of await persistence.conversationNames()) console.log(name, (await persistence.getConversations(name)).size);
   */
  async conversationNames(): Promise<string[]> {
    const names = new Set<string>();
    if (this.layout === 'sharded') {
      for await (const key of this.store.list(shardedPrefix(this.path, 'conversations'))) {
        const ref = entryOfShardedKey(this.path, key);
        if (ref?.section === 'conversations') names.add(ref.name);
      }
      for (const object of this.objects.values()) {
        for (const name of object.view().get('conversations')?.keys() ?? []) names.add(name);
      }
    } else {
      const object = await this.loaded({ section: 'conversations', name: '', key: '' });
      for (const name of object.view().get('conversations')?.keys() ?? []) names.add(name);
    }
    return [...names].sort();
  }

  /** True while some change is not yet durable. */
  get hasPendingChanges(): boolean {
    return [...this.objects.values()].some((object) => object.hasPendingChanges);
  }

  /** The object that holds `ref` in this layout, created on first use. */
  private objectFor(ref: EntryRef): TrackedObject {
    const key = this.layout === 'sharded' ? shardedKey(this.path, ref) : sectionKey(this.path, this.singleFile, ref.section);
    let object = this.objects.get(key);
    if (object === undefined) {
      this.objects.set(key, (object = this.newObject(key)));
      // Not in the listing the caller read: whatever another writer stored since is a conflict, not a base.
      if (ref.section !== 'bot_data' && ref.section !== 'callback_data' && ref.section !== 'processed_updates') {
        const prefix = shardedPrefix(this.path, ref.section, ref.section === 'conversations' ? ref.name : undefined);
        if (this.layout === 'sharded' && this.listedPrefixes.has(prefix)) object.sawNothing(ref);
      }
    }
    return object;
  }

  private async loaded(ref: EntryRef): Promise<TrackedObject> {
    const object = this.objectFor(ref);
    await object.load();
    return object;
  }

  /**
   * Where the ids of handled updates are kept: with bot data in PTB's layouts; in the sharded layout
   * with the update's user (or chat), so that instances serving different users never write one object.
   */
  private processedObject(keys: UpdateOwner): TrackedObject {
    if (this.layout === 'sharded') {
      if (keys.userId !== undefined) return this.objectFor({ section: 'user_data', id: keys.userId });
      if (keys.chatId !== undefined) return this.objectFor({ section: 'chat_data', id: keys.chatId });
    }
    return this.objectFor({ section: 'processed_updates', id: 0 });
  }

  /** Every object of one kind in the sharded layout, listed and loaded with bounded concurrency. */
  private async loadAll(kind: ShardedKind, conversationName?: string): Promise<TrackedObject[]> {
    const prefix = shardedPrefix(this.path, kind, conversationName);
    const keys = new Set<string>();
    for await (const key of this.store.list(prefix)) if (entryOfShardedKey(this.path, key) !== undefined) keys.add(key);
    // Nothing listed: a single-file snapshot at this path may hold what this layout cannot see.
    if (keys.size === 0 && !OTHER_LAYOUT_EXPECTED.has(this)) await refuseSnapshotBeside(this.store, this.path, kind, conversationName);
    this.listedPrefixes.add(prefix);
    for (const key of this.objects.keys()) if (key.startsWith(prefix)) keys.add(key); // written here, maybe not yet stored
    const objects = [...keys].map((key) => {
      let object = this.objects.get(key);
      if (object === undefined) this.objects.set(key, (object = this.newObject(key)));
      return object;
    });
    let loaded = 0;
    this.onProgress?.({ kind, loaded, total: objects.length });
    await eachLimited(objects, this.loadConcurrency, async (object) => {
      await object.load();
      this.onProgress?.({ kind, loaded: ++loaded, total: objects.length });
    });
    return objects;
  }

  private async readIdMap<T>(section: 'user_data' | 'chat_data'): Promise<Map<number, T>> {
    const objects = this.layout === 'sharded' ? await this.loadAll(section) : [await this.loaded({ section, id: 0 })];
    const entries = new Map<number, T>();
    for (const object of objects) {
      object.sawScope({ section, id: 0 });
      for (const [id, value, own] of object.idEntries(section)) entries.set(id, (own ? value : copyOut(value, this.bot)) as T);
    }
    return entries;
  }

  /** The entry's current value, which the caller now sees (with `wholeScope`, as part of its whole section). */
  private async readEntry(ref: EntryRef, wholeScope = false): Promise<EntryValue> {
    const object = await this.loaded(ref);
    const value = object.entry(ref);
    if (wholeScope) object.sawScope(ref);
    else object.sawEntry(ref, value);
    return value;
  }

  private async change(ref: EntryRef, value: EntryValue, origin: WriteOrigin = {}): Promise<void> {
    const object = await this.loaded(ref);
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
    if (origin.updateId !== undefined && object === this.processedObject(origin.owner ?? {})) {
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
    const object = this.objectFor(ref);
    await object.revalidate();
    const stored = object.entry(ref);
    if (ref.section === 'bot_data') object.sawScope(ref);
    else object.sawEntry(ref, stored);
    const source = stored === ABSENT ? (fresh?.() ?? {}) : copyOut(stored, this.bot);
    if (!deepEqual(source, target)) replaceInPlace(target, source);
  }
}

/** Makes `target` hold what `source` holds, keeping its identity (the caller's live object). */
function replaceInPlace(target: unknown, source: unknown): void {
  if (target instanceof Map && source instanceof Map) {
    target.clear();
    for (const [key, value] of source) target.set(key, value);
  } else if (Array.isArray(target) && Array.isArray(source)) {
    target.splice(0, target.length, ...(source as unknown[]));
  } else if (isPlainObject(target) && isPlainObject(source)) {
    for (const key of Object.keys(target)) delete target[key];
    for (const key of Object.keys(source)) defineEntry(target, key, source[key]);
  }
}

/** Without a `merge` option: the later write wins, except that callback data is merged per keyboard. */
const mergeCallbackDataOnly: MergeFunction = ({ section, base, ours, theirs }) =>
  section === 'callback_data' ? mergeCallbackData(base, ours, theirs) : ours;
