/**
 * Persistent conversations: PTB's `ConversationHandler` with `persistent=True`, for any framework.
 * A conversation is a named state machine; its state per key (by default `[chatId, userId]`) lives
 * in the persistence, so the next step can run on another instance after a cold start.
 */
import { InvalidOptionsError, InvalidUseError } from '../errors.js';

declare const endBrand: unique symbol;
/** The type of {@link END}. */
export interface ConversationEnd {
  readonly [endBrand]: true;
}
/** Returned by a step to end the conversation: its key is removed. (An object: a symbol would widen in async steps.) */
export const END = Object.freeze({}) as ConversationEnd;

/** What a step returns: the next state, {@link END}, or `undefined` to stay in the current state. */
export type NextState = string | ConversationEnd | undefined | void;

/** One handler of a conversation: runs when `match` accepts the update. */
export interface ConversationStep<C> {
  match: (ctx: C) => boolean;
  handle: (ctx: C) => NextState | Promise<NextState>;
}

/**
 * A conversation.
 *
 * @example
 * const survey: ConversationDefinition<MyContext> = {
 *   name: 'survey',
 *   entryPoints: [{ match: Context.has.command('survey'), handle: async (ctx) => { await ctx.reply('Name?'); return 'NAME'; } }],
 *   states: { NAME: [{ match: Context.has.filterQuery('message:text'), handle: saveNameAndAskAge }], AGE: [...] },
 *   fallbacks: [{ match: Context.has.command('cancel'), handle: () => END }],
 * };
 */
export interface ConversationDefinition<C> {
  /** Required: the name under which states are stored (PTB refuses an unnamed persistent conversation too). */
  name: string;
  entryPoints: ConversationStep<C>[];
  states: Record<string, ConversationStep<C>[]>;
  fallbacks?: ConversationStep<C>[];
  /** Let an entry point restart a conversation already under way; default false. */
  allowReentry?: boolean;
}

/** Reads and writes the state of the conversation for the current key. */
export interface ConversationStateAccess {
  /** The current state; `undefined` outside the conversation. */
  readonly state: unknown;
  /** Sets the state; `null` ends the conversation. */
  set(state: string | null): void;
}

/** Refuses a definition that cannot be persisted or run, with a message saying what to fix. */
export function checkConversation<C>(definition: ConversationDefinition<C>): void {
  if (typeof definition?.name !== 'string' || definition.name.trim() === '') {
    throw new InvalidOptionsError('a persistent conversation needs a name: its states are stored under it');
  }
  if (!Array.isArray(definition.entryPoints) || definition.entryPoints.length === 0) {
    throw new InvalidOptionsError(`conversation "${definition.name}" needs at least one entry point`);
  }
  if (typeof definition.states !== 'object' || definition.states === null) {
    throw new InvalidOptionsError(`conversation "${definition.name}" needs a states object`);
  }
}

/**
 * Runs the step of `definition` that matches `ctx` in the current state, and records the next
 * state. Returns false when no step of the conversation handles the update.
 */
export async function runConversation<C>(
  definition: ConversationDefinition<C>,
  ctx: C,
  access: ConversationStateAccess,
): Promise<boolean> {
  const current = access.state;
  const active = typeof current === 'string';
  const candidates: ConversationStep<C>[] = [];
  if (!active || definition.allowReentry === true) candidates.push(...definition.entryPoints);
  if (active) candidates.push(...(definition.states[current] ?? []), ...(definition.fallbacks ?? []));
  const step = candidates.find((candidate) => candidate.match(ctx));
  if (step === undefined) return false;
  const next = await step.handle(ctx);
  if (next === END) access.set(null);
  else if (typeof next === 'string') {
    if (!Object.prototype.hasOwnProperty.call(definition.states, next)) {
      throw new InvalidUseError(`conversation "${definition.name}" moved to state "${next}", which it does not define`);
    }
    access.set(next);
  }
  return true;
}
