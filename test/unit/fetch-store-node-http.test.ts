/**
 * Every FetchObjectStore test again, its requests sent by the sample Lambda handler's transport on
 * node:http (handlers/node-fetch.ts) instead of Node's fetch: the store must get the same answers
 * and errors through it. The store looks up the global `fetch` at each request.
 */
import { vi } from 'vitest';
import { nodeFetch } from '../../handlers/node-fetch.js';

vi.stubGlobal('fetch', nodeFetch);
await import('./fetch-store.test.js');
