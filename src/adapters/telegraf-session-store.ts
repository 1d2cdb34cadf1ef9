/**
 * Telegraf's session middleware on S3: a session store whose keys are objects under a prefix, each
 * written conditionally (see {@link S3KeyValueStore}). Types only: nothing here imports Telegraf.
 */
import { S3KeyValueStore, type S3KeyValueStoreOptions } from './key-value-store.js';

/**
 * Telegraf's `AsyncSessionStore<T>` (`telegraf/typings/session.d.ts`), written out so that this
 * module needs no Telegraf at run time or for its types.
 */
export interface TelegrafSessionStore<T> {
  get: (name: string) => Promise<T | undefined>;
  set: (name: string, value: T) => Promise<void>;
  delete: (name: string) => Promise<void>;
}

/**
 * A session store for Telegraf's `session({ store })`. Telegraf writes a session back whenever a
 * handler touched `ctx.session`; one equal to what was read costs no request. Concurrent updates of
 * one key in one process share one session object (Telegraf's design), and each write of it is
 * conditional on the previous one. A write lost to another instance is re-read and retried; when
 * that instance changed the session too, the conflict is reported to `onConflict` and `merge`
 * decides, or else the later write wins.
 *
 * @example
 * import { Telegraf, session, type Context } from 'telegraf';
 * import { telegrafSessionStore } from 'telegram-s3-persistence/telegraf';
 *
 * const bot = new Telegraf<Context & { session?: { count: number } }>(token);
 * bot.use(session({ store: telegrafSessionStore({ prefix: 's3://my-bot-state/sessions' }), defaultSession: () => ({ count: 0 }) }));
 * bot.command('count', (ctx) => ctx.reply(String(++ctx.session!.count)));
 */
export function telegrafSessionStore<T>(store: S3KeyValueStore<T> | S3KeyValueStoreOptions<T>): TelegrafSessionStore<T> {
  const values = store instanceof S3KeyValueStore ? store : new S3KeyValueStore<T>(store);
  return {
    get: (name) => values.get(name),
    set: (name, value) => values.set(name, value),
    delete: (name) => values.delete(name),
  };
}
