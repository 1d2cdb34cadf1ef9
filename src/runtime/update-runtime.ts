/**
 * The role PTB's `Application` plays for a persistence, for one update per invocation (a cloud
 * function): load everything on the first update (cold start), refresh before each update, hand
 * the handler live user, chat and bot data, conversation states and callback data, and write what
 * changed before the invocation returns.
 */
import { conversationKey, type BasePersistence, type ContextTypes, type ConversationKey } from '../contract.js';
import { CallbackDataCache } from './callback-data-cache.js';
import type { ConversationStateAccess } from './conversation.js';
import { LiveState } from './live-state.js';
import type { PersistenceMetrics } from '../engine/conditional-object.js';
import { loggerOf, type Logger } from './logger.js';
import { UpdateLog, type LargeSnapshotOptions } from './update-log.js';
import type { EmfOptions } from './update-metrics.js';
import { InvalidOptionsError, InvalidUseError } from '../errors.js';

/** Who an update concerns. */
export interface UpdateKeys {
  /** `update_id`: remembered so that a redelivered update runs once. */
  updateId?: number;
  /** The effective user, if any. */
  userId?: number;
  /** The effective chat, if any. */
  chatId?: number;
  /** True for a callback query: callback data is refreshed first. */
  callbackQuery?: boolean;
  /** The kind of update (`message`, `callback_query`, ...), for the log. */
  kind?: string;
}

export interface RuntimeOptions<UD, CD, BD> {
  /** Factories for the data of a new user, a new chat and for bot data; default `() => ({})`. */
  contextTypes?: ContextTypes<UD, CD, BD>;
  /** Arbitrary callback data (PTB's `CallbackDataCache`) with at most `maxSize` keyboards (default 1024); `false` disables it. */
  callbackData?: { maxSize?: number } | false;
  /** Remember handled update ids so a redelivered update is acknowledged without running again; default true. */
  skipRedelivered?: boolean;
  /** Where the line of each update and the warnings go; default one JSON line on stdout (stderr for warnings and failures); `false`: nowhere. */
  logger?: Logger | false;
  /** `'emf'` (or `{ namespace, dimensions }`): each update's line is also a CloudWatch embedded-metric-format document. */
  metrics?: 'emf' | EmfOptions | false;
  /** When a snapshot read is large enough for a warning (default: a tenth of the Lambda function's memory); `false`: never. */
  largeSnapshot?: LargeSnapshotOptions | false;
  /**
   * Claim each update before its handler runs (one create-only PUT), so that deliveries of one
   * update that overlap run the handler once: a delivery that meets another's live claim is not
   * run (`status: 'in-progress'`). `leaseSeconds`: how long a claim holds, no longer than the
   * function's timeout, so that a claim whose holder died never blocks a later redelivery.
   * Default: off.
   */
  claimUpdates?: { leaseSeconds: number } | false;
}

/** What `run` did with an update: handled; handled before (a redelivery); or being handled by another delivery now. */
export type RunOutcome<T> = { status: 'handled'; result: T } | { status: 'duplicate' } | { status: 'in-progress' };

/**
 * The state one update works on. `userData` and `chatData` are live objects: change them in
 * place (or assign new ones); what changed is written after the handler.
 */
export class UpdateScope<UD, CD, BD> {
  /** Conversation states changed by this update, by name, then `conversationKey(key)`; each with its key as given. */
  readonly conversationChanges = new Map<string, Map<string, { key: ConversationKey; state: string | null }>>();
  userDropped = false;
  chatDropped = false;
  /** Conversation keys of one's own read for this update (`name\0key`). */
  private readonly loadedKeys = new Set<string>();

  /** Made by {@link PersistenceRuntime.run} for each update. */
  constructor(
    readonly keys: UpdateKeys,
    private readonly live: LiveState<UD, CD, BD>,
    private readonly persistence: BasePersistence<UD, CD, BD>,
    /** The callback data cache, when arbitrary callback data is enabled. */
    readonly callbackData: CallbackDataCache | undefined,
    /** With `claimUpdates`: when this delivery's claim of the update expires (milliseconds since the epoch). */
    readonly claimExpiresAt?: number,
  ) {}

  /** The data of the effective user; throws when the update has none. */
  get userData(): UD {
    return this.live.userEntry(this.required('userId', 'user data'));
  }
  set userData(value: UD) {
    this.live.userData.set(this.required('userId', 'user data'), value);
  }

  /** The data of the effective chat; throws when the update has none. */
  get chatData(): CD {
    return this.live.chatEntry(this.required('chatId', 'chat data'));
  }
  set chatData(value: CD) {
    this.live.chatData.set(this.required('chatId', 'chat data'), value);
  }

  get botData(): BD {
    return this.live.botData;
  }
  set botData(value: BD) {
    this.live.botData = value;
  }

  /** Removes the effective user's data from storage (PTB's `drop_user_data`). */
  dropUserData(): void {
    this.live.userData.delete(this.required('userId', 'user data'));
    this.userDropped = true;
  }

  /** Removes the effective chat's data from storage (PTB's `drop_chat_data`). */
  dropChatData(): void {
    this.live.chatData.delete(this.required('chatId', 'chat data'));
    this.chatDropped = true;
  }

  /**
   * The state of conversation `name` for `key` (default `[chatId, userId]`, read before the
   * handler). A key of one's own is read with {@link loadConversation} first, in every layout.
   */
  conversation(name: string, key?: ConversationKey): ConversationStateAccess {
    const states = this.live.conversationStates(name);
    // A copy: the key written after the handler is the one given now.
    const given = key ?? [this.required('chatId', 'a conversation'), this.required('userId', 'a conversation')];
    const parts: ConversationKey = Array.isArray(given) ? [...given] : given;
    const id = conversationKey(parts);
    // Only the update's own key is read before the handler: any other would be read empty or stale.
    const own = this.keys.chatId !== undefined && this.keys.userId !== undefined && id === conversationKey([this.keys.chatId, this.keys.userId]);
    if (!own && !this.loadedKeys.has(`${name}\u0000${id}`)) {
      throw new InvalidUseError(
        `conversation "${name}" with key ${id} was not read for this update: only the update's own [chatId, userId] key ` +
          `is read before the handler; call \`await scope.loadConversation(name, key)\` first`,
      );
    }
    return {
      get state() {
        return states.get(id);
      },
      set: (state) => {
        if (state === null) states.delete(id);
        else states.set(id, state);
        let changes = this.conversationChanges.get(name);
        if (changes === undefined) this.conversationChanges.set(name, (changes = new Map()));
        changes.set(id, { key: parts, state });
      },
    };
  }

  /**
   * Reads the current state of conversation `name` for a key of one's own (not `[chatId, userId]`),
   * then gives access to it as {@link conversation} does.
   *
   * @example
   * const game = await scope.loadConversation('game', ['room', roomId]);
   */
  async loadConversation(name: string, key: ConversationKey): Promise<ConversationStateAccess> {
    const states = this.live.conversationStates(name);
    const state = await this.persistence.refreshConversation(name, key);
    const id = conversationKey(key);
    if (!this.conversationChanges.get(name)?.has(id)) {
      if (state === undefined) states.delete(id);
      else states.set(id, state);
    }
    this.loadedKeys.add(`${name}\u0000${id}`);
    return this.conversation(name, key);
  }

  private required(key: 'userId' | 'chatId', what: string): number {
    const id = this.keys[key];
    if (id === undefined) {
      throw new InvalidUseError(`this update has no ${key === 'userId' ? 'user' : 'chat'}, so it has no ${what}`);
    }
    return id;
  }
}

/**
 * Drives a persistence for a cloud function: one `run` per update.
 *
 * @example
 * const runtime = new PersistenceRuntime(new S3Persistence({ filepath: process.env.PERSISTENCE_URL! }));
 * await runtime.run({ updateId, userId, chatId }, async (scope) => {
 *   scope.userData.count = Number(scope.userData.count ?? 0) + 1;
 * });
 */
export class PersistenceRuntime<UD = Record<string, unknown>, CD = Record<string, unknown>, BD = Record<string, unknown>> {
  readonly persistence: BasePersistence<UD, CD, BD>;
  private readonly options: RuntimeOptions<UD, CD, BD>;
  private readonly live: LiveState<UD, CD, BD>;
  private readonly conversationNames = new Set<string>();
  private callbackCache: CallbackDataCache | undefined;
  private loaded: Promise<void> | null = null;
  private previous: Promise<void> = Promise.resolve();
  private readonly log: UpdateLog;

  constructor(persistence: BasePersistence<UD, CD, BD>, options: RuntimeOptions<UD, CD, BD> = {}) {
    this.persistence = persistence;
    this.options = options;
    this.live = new LiveState(options.contextTypes);
    const { claimUpdates } = options;
    if (claimUpdates && !(Number.isFinite(claimUpdates.leaseSeconds) && claimUpdates.leaseSeconds > 0)) {
      throw new InvalidOptionsError('claimUpdates.leaseSeconds must be a positive number of seconds, no longer than the function timeout');
    }
    // S3Persistence counts its requests; another persistence may not, and its lines go without them.
    const { metrics } = persistence as { metrics?: PersistenceMetrics };
    this.log = new UpdateLog(metrics, {
      logger: loggerOf(options.logger),
      metrics: options.metrics,
      largeSnapshot: options.largeSnapshot,
    });
  }

  /** Declares a persistent conversation, so that its states are loaded and refreshed with each update. */
  registerConversation(name: string): void {
    if (this.conversationNames.has(name)) throw new InvalidOptionsError(`two persistent conversations are named "${name}"`);
    this.conversationNames.add(name);
    this.loaded = null; // load its states with the next update
  }

  /**
   * Handles one update: loads or refreshes, skips a redelivered update, runs `handler`, then writes
   * and flushes what changed. Updates run one at a time. When the handler throws, nothing of the
   * update is written; when it or a write fails, the live state is reloaded from the persistence
   * (its memory, no request) before the next update.
   */
  run<T>(keys: UpdateKeys, handler: (scope: UpdateScope<UD, CD, BD>) => T | Promise<T>): Promise<RunOutcome<T>> {
    // One update at a time: the live objects are shared between updates (and the counters each line reports).
    const outcome = this.previous.then(async () => {
      const ended = this.log.start({ updateId: keys.updateId, kind: keys.kind });
      try {
        const done = await this.runAlone(keys, handler);
        ended(done.status);
        return done;
      } catch (error) {
        ended({ failed: error });
        throw error;
      }
    });
    this.previous = outcome.then(
      () => undefined,
      () => undefined,
    );
    return outcome;
  }

  private async runAlone<T>(keys: UpdateKeys, handler: (scope: UpdateScope<UD, CD, BD>) => T | Promise<T>): Promise<RunOutcome<T>> {
    const { persistence } = this;
    const skipRedelivered = this.options.skipRedelivered ?? true;
    const cold = this.loaded === null;
    this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = null;
      throw error;
    });
    await this.loaded;
    await this.refresh(keys, cold);
    const owner = { userId: keys.userId, chatId: keys.chatId };
    if (skipRedelivered && keys.updateId !== undefined && (await persistence.isUpdateProcessed(keys.updateId, owner))) {
      await persistence.flush(); // a failed earlier attempt may have left this update's changes pending
      return { status: 'duplicate' };
    }
    const { claimUpdates } = this.options;
    let claimExpiresAt: number | undefined;
    if (claimUpdates && keys.updateId !== undefined) {
      claimExpiresAt = await persistence.claimUpdate(keys.updateId, claimUpdates.leaseSeconds * 1000);
      if (claimExpiresAt === undefined) return { status: 'in-progress' };
    }
    const scope = new UpdateScope(keys, this.live, persistence, this.callbackCache, claimExpiresAt);
    try {
      const result = await handler(scope);
      await this.persist(scope, skipRedelivered);
      return { status: 'handled', result };
    } catch (error) {
      // Live objects may hold changes that were not stored: take them afresh from the persistence.
      this.loaded = null;
      // The update failed: a redelivery may run it at once, not after the claim's lease.
      if (claimExpiresAt !== undefined && keys.updateId !== undefined) await persistence.releaseUpdate(keys.updateId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The cold start, without a request: fresh live state. The first update's refresh then reads what
   * it needs (on one snapshot object, one GET shared by all), and copies out only the update's own
   * user, chat and conversation states, not every entry as PTB's Application does.
   */
  private async load(): Promise<void> {
    this.live.reset(this.conversationNames);
    const { callbackData: cacheOptions = {} } = this.options;
    this.callbackCache = cacheOptions === false ? undefined : new CallbackDataCache({ maxSize: cacheOptions.maxSize });
  }

  /**
   * Revalidates what this update reads, in every layout the same: its user, its chat, bot data, and
   * its own `[chatId, userId]` state of each conversation; on one snapshot object the requests share
   * one conditional GET (or, on a cold start, one GET). Callback data is read on a cold start and
   * for callback queries.
   */
  private async refresh(keys: UpdateKeys, cold: boolean): Promise<void> {
    const { persistence, live } = this;
    const cache = cold || keys.callbackQuery === true ? this.callbackCache : undefined;
    await Promise.all([
      persistence.refreshBotData(live.botData),
      keys.userId === undefined ? undefined : persistence.refreshUserData(keys.userId, live.userEntry(keys.userId)),
      keys.chatId === undefined ? undefined : persistence.refreshChatData(keys.chatId, live.chatEntry(keys.chatId)),
      ...[...this.conversationNames].map(async (name) => {
        if (keys.chatId === undefined || keys.userId === undefined) return;
        const key = [keys.chatId, keys.userId];
        const state = await persistence.refreshConversation(name, key);
        const states = live.conversationStates(name);
        if (state === undefined) states.delete(conversationKey(key));
        else states.set(conversationKey(key), state);
      }),
      cache === undefined ? undefined : persistence.refreshCallbackData().then((data) => cache.load(data)),
    ]);
  }

  private async persist(scope: UpdateScope<UD, CD, BD>, skipRedelivered: boolean): Promise<void> {
    const { persistence, live } = this;
    const { userId, chatId, updateId } = scope.keys;
    const writes: Array<Promise<void>> = [];
    // Each change carries its update: a store drops it when another delivery of the update stored first.
    const origin = { updateId: skipRedelivered ? updateId : undefined, owner: { userId, chatId } };
    // Data created from the defaults and left as it was is not stored: it reads back the same.
    if (userId !== undefined && !live.untouchedUser(userId)) {
      writes.push(scope.userDropped ? persistence.dropUserData(userId, origin) : persistence.updateUserData(userId, live.userEntry(userId), origin));
      live.stored('user', userId);
    }
    if (chatId !== undefined && !live.untouchedChat(chatId)) {
      writes.push(scope.chatDropped ? persistence.dropChatData(chatId, origin) : persistence.updateChatData(chatId, live.chatEntry(chatId), origin));
      live.stored('chat', chatId);
    }
    writes.push(persistence.updateBotData(live.botData, origin));
    const cache = this.callbackCache;
    if (cache?.changed) {
      const { version } = cache;
      writes.push(persistence.updateCallbackData(cache.persistenceData()).then(() => cache.markPersisted(version)));
    }
    for (const [name, changes] of scope.conversationChanges) {
      for (const { key, state } of changes.values()) writes.push(persistence.updateConversation(name, key, state, origin));
    }
    // Every write is started before any is awaited, so they share one PUT per object; the update is
    // marked handled once they are stored (the store writes the mark's object last); flush before
    // returning, because the function is frozen once the response is sent.
    const settled = await Promise.allSettled(writes);
    const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    // Not marked: the changes stay pending for the next write, and a redelivery runs the update again.
    if (failure !== undefined) throw failure.reason;
    if (skipRedelivered && updateId !== undefined) await persistence.markUpdateProcessed(updateId, { userId, chatId });
    await persistence.flush();
  }
}
