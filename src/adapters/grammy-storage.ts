/**
 * grammY's session plugin on S3: a `StorageAdapter` whose keys are objects under a prefix, each
 * written conditionally (see {@link S3KeyValueStore}). Types only: nothing here imports grammY.
 */
import { S3KeyValueStore, type S3KeyValueStoreOptions } from './key-value-store.js';

/**
 * grammY's `StorageAdapter<T>` (`grammy/out/convenience/session.d.ts`), written out so that this
 * module needs no grammY at run time or for its types.
 */
export interface GrammyStorageAdapter<T> {
  read: (key: string) => Promise<T | undefined>;
  write: (key: string, value: T) => Promise<void>;
  delete: (key: string) => Promise<void>;
  has: (key: string) => Promise<boolean>;
  readAllKeys: () => AsyncIterable<string>;
  readAllValues: () => AsyncIterable<T>;
  readAllEntries: () => AsyncIterable<[key: string, value: T]>;
}

/**
 * A storage adapter for grammY's `session()` and `lazySession()`. grammY writes every session it
 * loaded back after the update; one equal to what was read costs no request. A write lost to
 * another instance is re-read and retried; when that instance changed the session too, the
 * conflict is reported to `onConflict` and `merge` decides, or else the later write wins.
 *
 * The `readAll*` methods list the prefix (`s3:ListBucket`) and read each key.
 *
 * @example
 * import { Bot, session, type Context, type SessionFlavor } from 'grammy';
 * import { grammyStorage } from 'telegram-s3-persistence/adapters';
 *
 * const bot = new Bot<Context & SessionFlavor<{ count: number }>>(token);
 * bot.use(session({ initial: () => ({ count: 0 }), storage: grammyStorage({ prefix: 's3://my-bot-state/sessions' }) }));
 * bot.command('count', (ctx) => ctx.reply(String(++ctx.session.count)));
 */
export function grammyStorage<T>(store: S3KeyValueStore<T> | S3KeyValueStoreOptions<T>): GrammyStorageAdapter<T> {
  const values = store instanceof S3KeyValueStore ? store : new S3KeyValueStore<T>(store);
  return {
    read: (key) => values.get(key),
    write: (key, value) => values.set(key, value),
    delete: (key) => values.delete(key),
    has: (key) => values.has(key),
    readAllKeys: () => values.keys(),
    readAllValues: () => values.values(),
    readAllEntries: () => values.entries(),
  };
}
