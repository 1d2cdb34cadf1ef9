// The in-memory store and the simulation's S3 pass the conformance suite that S3ObjectStore passes on
// MinIO (test/integration/object-store-conformance.test.ts): what the unit tests and the simulation
// conclude from them holds for S3.
import { Scheduler } from '../sim/scheduler.js';
import { SimulatedS3 } from '../sim/simulated-s3.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { testObjectStore } from '../support/object-store-conformance.js';
import { seededRandom } from '../support/seed.js';

/** Steps one call may take: a request is two events, a listing page is one request. */
const STEPS_PER_CALL = 10_000;

/**
 * The simulated store as a plain `ObjectStore`: a simulated request only moves while its scheduler
 * runs, so every call (and every page of a listing) starts the request and runs the scheduler until
 * nothing is left to happen. Calls made at once share the runs, and race as the seed orders them.
 */
function driven(scheduler: Scheduler, store: ObjectStore): ObjectStore {
  const settle = async <T>(call: Promise<T>): Promise<T> => {
    call.catch(() => undefined); // observed below, after the run
    await scheduler.run(scheduler.steps + STEPS_PER_CALL);
    return call;
  };
  return {
    bucket: store.bucket,
    get: (key, options) => settle(store.get(key, options)),
    put: (key, body, condition) => settle(store.put(key, body, condition)),
    delete: (key) => settle(store.delete(key)),
    async *list(prefix) {
      const pages = store.list(prefix)[Symbol.asyncIterator]();
      for (;;) {
        const next = await settle(pages.next());
        if (next.done === true) return;
        yield next.value;
      }
    },
  };
}

testObjectStore('MemoryObjectStore', () => ({ store: new MemoryObjectStore() }));

testObjectStore(
  'SimulatedObjectStore (no faults)',
  () => {
    const scheduler = new Scheduler(seededRandom(1));
    return { store: driven(scheduler, new SimulatedS3(scheduler).storeFor(1)) };
  },
  { listPageSize: 2 },
);
