/**
 * grammY integration: `bot.use(persistence(store))` gives every update `ctx.userData`,
 * `ctx.chatData`, `ctx.botData`, persistent conversations and arbitrary callback data, and writes
 * what changed before the update's handling completes.
 */
import type { Context, MiddlewareFn, MiddlewareObj } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import type { BasePersistence } from './contract.js';
import type { CallbackButton, CallbackDataOutcome } from './runtime/callback-data-cache.js';
import { checkConversation, runConversation, type ConversationDefinition } from './runtime/conversation.js';
import { PersistenceRuntime, type RuntimeOptions, type UpdateKeys, type UpdateScope } from './runtime/update-runtime.js';
import { InvalidUseError, UpdateInProgressError } from './errors.js';

/**
 * The context flavor of {@link persistence}.
 *
 * @example
 * type MyContext = Context & PersistenceFlavor<{ count?: number }, { note?: string }, { total?: number }>;
 * const bot = new Bot<MyContext>(token);
 */
export interface PersistenceFlavor<UD = Record<string, unknown>, CD = Record<string, unknown>, BD = Record<string, unknown>> {
  /** The effective user's data (throws when the update has no user). */
  userData: UD;
  /** The effective chat's data (throws when the update has no chat). */
  chatData: CD;
  /** Data shared by all users and chats. */
  botData: BD;
  /** The whole state of this update: drops, conversations, the callback data cache. */
  persistence: UpdateScope<UD, CD, BD>;
  /**
   * For a callback query: what its button carried (`{ ok: true, value }`), or why that is not
   * known any more (`{ ok: false, reason }`: the keyboard was evicted or the data is foreign).
   */
  callbackData: CallbackDataOutcome | undefined;
  /**
   * An inline keyboard whose buttons carry arbitrary data (any storable value), kept in the
   * persisted callback data cache; Telegram only sees 64-character ids.
   *
   * @example
   * await ctx.reply('Pick one', { reply_markup: ctx.inlineKeyboard([[{ text: 'A', callbackData: { pick: 'A', at: Date.now() } }]]) });
   */
  inlineKeyboard(rows: CallbackButton[][]): InlineKeyboardMarkup;
}

type Flavored<UD, CD, BD> = Context & PersistenceFlavor<UD, CD, BD>;

/** The keys of an update: its id, the effective user and chat, and whether it is a callback query. */
export function updateKeysOf(ctx: Context): UpdateKeys {
  return {
    updateId: ctx.update.update_id,
    userId: ctx.from?.id,
    chatId: ctx.chat?.id,
    callbackQuery: ctx.callbackQuery !== undefined,
    kind: Object.keys(ctx.update).find((key) => key !== 'update_id'),
  };
}

/**
 * The grammY side of a {@link PersistenceRuntime}: its middleware, and persistent conversations.
 */
export class GrammyPersistence<UD, CD, BD, C extends Flavored<UD, CD, BD> = Flavored<UD, CD, BD>>
  implements MiddlewareObj<C>
{
  readonly runtime: PersistenceRuntime<UD, CD, BD>;

  constructor(runtime: PersistenceRuntime<UD, CD, BD>) {
    this.runtime = runtime;
  }

  middleware(): MiddlewareFn<C> {
    return async (ctx, next) => {
      const keys = updateKeysOf(ctx);
      const outcome = await this.runtime.run(keys, async (scope) => {
        decorate(ctx, scope);
        await next();
      });
      // Another delivery runs it now: an error, so that the webhook does not answer 200 for it.
      if (outcome.status === 'in-progress') throw new UpdateInProgressError(keys.updateId ?? 0);
    };
  }

  /**
   * A persistent conversation (PTB's `ConversationHandler` with `persistent=True`), keyed by
   * `[chatId, userId]`. Updates no step of it handles go on to the next middleware.
   */
  conversation(definition: ConversationDefinition<C>): MiddlewareFn<C> {
    checkConversation(definition);
    this.runtime.registerConversation(definition.name);
    return async (ctx, next) => {
      if (ctx.chat === undefined || ctx.from === undefined) return next();
      const handled = await runConversation(definition, ctx, ctx.persistence.conversation(definition.name));
      if (!handled) await next();
    };
  }
}

function decorate<UD, CD, BD>(ctx: Flavored<UD, CD, BD>, scope: UpdateScope<UD, CD, BD>): void {
  const live = (name: 'userData' | 'chatData' | 'botData') =>
    Object.defineProperty(ctx, name, {
      get: () => scope[name],
      set: (value) => {
        scope[name] = value;
      },
      configurable: true,
      enumerable: true,
    });
  live('userData');
  live('chatData');
  live('botData');
  ctx.persistence = scope;
  const cache = scope.callbackData;
  const query = ctx.callbackQuery;
  ctx.callbackData = cache !== undefined && query?.data !== undefined ? cache.resolve(query.id, query.data) : undefined;
  ctx.inlineKeyboard = (rows) => {
    if (cache === undefined) throw new InvalidUseError('arbitrary callback data is disabled (callbackData: false)');
    return { inline_keyboard: cache.processKeyboard(rows) as InlineKeyboardButton[][] };
  };
}

/**
 * grammY middleware over a persistence: loads on the first update, refreshes before each, and
 * writes and flushes after each, before the webhook answers.
 *
 * @example
 * const store = persistence(new S3Persistence({ filepath: process.env.PERSISTENCE_URL! }));
 * bot.use(store);
 * bot.command('count', (ctx) => ctx.reply(String((ctx.userData.count = (ctx.userData.count ?? 0) + 1))));
 */
export function persistence<UD, CD, BD, C extends Flavored<UD, CD, BD> = Flavored<UD, CD, BD>>(
  store: BasePersistence<UD, CD, BD>,
  options: RuntimeOptions<UD, CD, BD> = {},
): GrammyPersistence<UD, CD, BD, C> {
  return new GrammyPersistence<UD, CD, BD, C>(new PersistenceRuntime(store, options));
}
