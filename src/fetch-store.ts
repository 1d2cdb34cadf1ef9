/**
 * The `telegram-s3-persistence/fetch-store` entry: an object store on `fetch` for runtimes without
 * the AWS SDK (Cloudflare Workers, Deno, browsers' service workers). Nothing here imports `@aws-sdk`.
 *
 * @example
 * import { fetchStoreFromEnvironment } from 'telegram-s3-persistence/fetch-store';
 * const store = fetchStoreFromEnvironment('my-bot-state', env);
 * const persistence = new S3Persistence({ filepath: 's3://my-bot-state/prod/bot', store });
 */
export { FetchObjectStore, fetchStoreFromEnvironment } from './store/fetch-store.js';
export type { FetchObjectStoreOptions, FetchStoreEnvironment } from './store/fetch-store.js';
