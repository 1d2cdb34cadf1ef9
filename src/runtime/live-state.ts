/**
 * The live objects a runtime hands its handlers: user and chat data by id, bot data, and the states
 * of each registered conversation. They are shared by the updates of one instance and refreshed
 * from the persistence before each; the runtime writes back what an update changed.
 */
import type { ContextTypes } from '../contract.js';
import { InvalidUseError } from '../errors.js';
import { deepEqual } from '../snapshot/values.js';

export class LiveState<UD, CD, BD> {
  readonly userData = new Map<number, UD>();
  readonly chatData = new Map<number, CD>();
  botData!: BD;
  private readonly conversations = new Map<string, Map<string, unknown>>();
  /**
   * Users and chats whose live data was created from `contextTypes` and has not been stored since:
   * left as created, it reads back the same, so it is not written (on any later update either).
   */
  private readonly createdUsers = new Set<number>();
  private readonly createdChats = new Set<number>();

  constructor(private readonly contextTypes: ContextTypes<UD, CD, BD> | undefined) {}

  /** Starts afresh (a cold start, or after a failed update): new bot data, no users, chats or conversation states. */
  reset(conversationNames: Iterable<string>): void {
    this.botData = this.fresh('botData') as BD;
    this.userData.clear();
    this.chatData.clear();
    this.createdUsers.clear();
    this.createdChats.clear();
    this.conversations.clear();
    for (const name of conversationNames) this.conversations.set(name, new Map());
  }

  /** The live data of a user, created from `contextTypes` when new. */
  userEntry(userId: number): UD {
    return this.entry(this.userData, this.createdUsers, userId, 'userData') as UD;
  }

  /** The live data of a chat, created from `contextTypes` when new. */
  chatEntry(chatId: number): CD {
    return this.entry(this.chatData, this.createdChats, chatId, 'chatData') as CD;
  }

  private entry(live: Map<number, unknown>, created: Set<number>, id: number, kind: 'userData' | 'chatData'): unknown {
    let data = live.get(id);
    if (data === undefined) {
      live.set(id, (data = this.fresh(kind)));
      created.add(id);
    }
    return data;
  }

  /** True when the user's data was created from the defaults and is still as created. */
  untouchedUser(userId: number): boolean {
    return this.createdUsers.has(userId) && deepEqual(this.userData.get(userId), this.fresh('userData'));
  }

  /** True when the chat's data was created from the defaults and is still as created. */
  untouchedChat(chatId: number): boolean {
    return this.createdChats.has(chatId) && deepEqual(this.chatData.get(chatId), this.fresh('chatData'));
  }

  /** The user's or chat's data is being stored: from now on it is written whenever an update touches it. */
  stored(kind: 'user' | 'chat', id: number): void {
    (kind === 'user' ? this.createdUsers : this.createdChats).delete(id);
  }

  /** The live states of conversation `name`, by conversation key. */
  conversationStates(name: string): Map<string, unknown> {
    const states = this.conversations.get(name);
    if (states === undefined) {
      throw new InvalidUseError(`conversation "${name}" is not registered with the runtime: register it before the first update`);
    }
    return states;
  }

  private fresh(kind: 'userData' | 'chatData' | 'botData'): unknown {
    return this.contextTypes?.[kind]?.() ?? {};
  }
}
