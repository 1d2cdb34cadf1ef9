/**
 * The `telegram-s3-persistence/fetch-store` entry: an object store on `fetch` for runtimes without
 * the AWS SDK (Cloudflare Workers, Deno, edge functions). Nothing here imports `@aws-sdk`.
 */
export { FetchObjectStore, fetchStoreFromEnvironment } from './store/fetch-store.js';
export type { FetchObjectStoreOptions, FetchStoreEnvironment } from './store/fetch-store.js';
