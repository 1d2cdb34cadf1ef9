/**
 * The persistence contract of python-telegram-bot's `BasePersistence`, in TypeScript.
 *
 * `S3Persistence` implements it on object storage; another store can implement it too and be
 * driven by the same runtime.
 */

/** Which kinds of data a persistence stores. Each defaults to `true`. */
export interface PersistenceInput {
  userData: boolean;
  chatData: boolean;
  botData: boolean;
  callbackData: boolean;
}

/** The key of a conversation, e.g. `[chatId, userId]`. `1` and `'1'` are different keys. */
export type ConversationKey = readonly (number | string)[];

/**
 * PTB's persisted `CallbackDataCache`: the keyboards as `[keyboardUuid, accessTime, {buttonUuid: data}]`
 * and the map from callback query id to keyboard uuid.
 */
export type CallbackData = [
  Array<[string, number, Record<string, unknown>]>,
  Record<string, string>,
];

/**
 * The string form of a conversation key, as `getConversations` returns them:
 * `JSON.stringify(key)`, so `[1, 2]` gives `'[1,2]'` and `['1', 2]` gives `'["1",2]'`.
 *
 * @example
 * const states = await persistence.getConversations('survey');
 * const state = states.get(conversationKey([chatId, userId]));
 */
export function conversationKey(key: ConversationKey): string {
  return JSON.stringify(key);
}

/**
 * Why a write is made: the update whose handler made the change. A store that records it with the
 * change applies each update's changes once, however often the update is delivered.
 */
export interface WriteOrigin {
  updateId?: number;
  /** The update's user and chat: the store writes the object that keeps the "handled" mark last. */
  owner?: UpdateOwner;
}

/** The user and chat an update concerns, where a store keeps its "handled" mark. */
export interface UpdateOwner {
  userId?: number;
  chatId?: number;
}

/** Factories for fresh user, chat and bot data, as PTB's `ContextTypes`. */
export interface ContextTypes<UD, CD, BD> {
  userData?: () => UD;
  chatData?: () => CD;
  botData?: () => BD;
}

/**
 * The abstract persistence contract. Methods mirror PTB's `BasePersistence`:
 * `get*` load (once) and return copies; `update*` record a change and, unless `onFlush`, make it
 * durable before resolving; `refresh*` bring a live object up to date in place; `flush` writes
 * everything still pending.
 */
export abstract class BasePersistence<
  UD = Record<string, unknown>,
  CD = Record<string, unknown>,
  BD = Record<string, unknown>,
> {
  /** Which kinds of data this persistence stores. */
  abstract readonly storeData: Readonly<PersistenceInput>;
  /** Seconds between periodic `flush` calls a long-running driver should make (PTB's `update_interval`). */
  abstract readonly updateInterval: number;

  abstract getUserData(): Promise<Map<number, UD>>;
  abstract getChatData(): Promise<Map<number, CD>>;
  abstract getBotData(): Promise<BD>;
  abstract getCallbackData(): Promise<CallbackData | null>;
  abstract getConversations(name: string): Promise<Map<string, unknown>>;

  abstract updateUserData(userId: number, data: UD, origin?: WriteOrigin): Promise<void>;
  abstract updateChatData(chatId: number, data: CD, origin?: WriteOrigin): Promise<void>;
  abstract updateBotData(data: BD, origin?: WriteOrigin): Promise<void>;
  abstract updateCallbackData(data: CallbackData): Promise<void>;
  /** Set the state of one conversation; `null` ends it and removes the key. */
  abstract updateConversation(name: string, key: ConversationKey, state: unknown, origin?: WriteOrigin): Promise<void>;

  abstract dropUserData(userId: number, origin?: WriteOrigin): Promise<void>;
  abstract dropChatData(chatId: number, origin?: WriteOrigin): Promise<void>;

  abstract refreshUserData(userId: number, data: UD): Promise<void>;
  abstract refreshChatData(chatId: number, data: CD): Promise<void>;
  abstract refreshBotData(data: BD): Promise<void>;

  /**
   * The states of a conversation, brought up to date with storage first where the store can
   * (another instance may have moved the conversation on). Default: {@link getConversations}.
   */
  refreshConversations(name: string): Promise<Map<string, unknown>> {
    return this.getConversations(name);
  }

  /**
   * The state of one conversation key, brought up to date first; `undefined` outside a
   * conversation. Default: from {@link refreshConversations}.
   */
  async refreshConversation(name: string, key: ConversationKey): Promise<unknown> {
    return (await this.refreshConversations(name)).get(conversationKey(key));
  }

  /** Callback data, brought up to date with storage first where the store can. Default: {@link getCallbackData}. */
  refreshCallbackData(): Promise<CallbackData | null> {
    return this.getCallbackData();
  }

  /**
   * Whether the update with this id was handled already, so that a redelivered webhook update is
   * acknowledged without running its handler twice. Default: never (the store remembers nothing).
   */
  async isUpdateProcessed(_updateId: number, _owner?: UpdateOwner): Promise<boolean> {
    return false;
  }

  /**
   * Remembers that the update was handled; stored with the update's other changes. `owner` lets a
   * store keep the mark beside the user's or chat's data. Default: forgets.
   */
  async markUpdateProcessed(_updateId: number, _owner?: UpdateOwner): Promise<void> {}

  /**
   * Claims update `updateId` for `leaseMs` milliseconds, so that its handler runs at most once at a
   * time: resolves the claim's expiry (milliseconds since the epoch) while this delivery holds it,
   * `undefined` while another holds a live claim. Default: an endless claim (the store cannot claim).
   */
  async claimUpdate(_updateId: number, _leaseMs: number): Promise<number | undefined> {
    return Number.POSITIVE_INFINITY;
  }

  /** Gives up this delivery's claim of `updateId` (its update failed), so that a redelivery runs it at once. Default: nothing. */
  async releaseUpdate(_updateId: number): Promise<void> {}

  abstract flush(): Promise<void>;
  /** The live bot: stored data that holds it is written as a placeholder and restored as this bot. */
  abstract setBot(bot: object): void;
}
