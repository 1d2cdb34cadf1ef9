/**
 * `telegram-s3-persistence/telegraf`: Telegraf's session store on S3, and the key-value store
 * under it. Nothing here imports Telegraf.
 */
export { telegrafSessionStore } from './telegraf-session-store.js';
export type { TelegrafSessionStore } from './telegraf-session-store.js';
export { S3KeyValueStore } from './key-value-store.js';
export type { S3KeyValueStoreOptions, ValueConflict, ValueConflictHook, ValueMerge } from './key-value-store.js';
