/**
 * Session storage for other frameworks' session plugins, on the conditional writes of this
 * library: `telegram-s3-persistence/adapters`. Nothing here imports a bot framework.
 */
export { S3KeyValueStore } from './key-value-store.js';
export type { S3KeyValueStoreOptions, ValueConflict, ValueConflictHook, ValueMerge } from './key-value-store.js';
export { grammyStorage } from './grammy-storage.js';
export type { GrammyStorageAdapter } from './grammy-storage.js';
export { telegrafSessionStore } from './telegraf-session-store.js';
export type { TelegrafSessionStore } from './telegraf-session-store.js';
