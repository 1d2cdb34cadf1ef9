/**
 * A one-shot conditional write through the engine: the import of a whole state, a migration's
 * manifest. It is written over the version the caller read, or not at all: when another writer
 * changed the object since, that writer's change is kept and the caller is told (a
 * `WriteConflictError` from the engine, which the caller may explain in its own terms).
 */
import { ConditionalObject, emptyMetrics, type ObjectCodec, type PersistenceMetrics } from './conditional-object.js';
import { REAL_ENVIRONMENT } from './environment.js';
import type { ObjectStore } from '../store/object-store.js';

export interface WriteOnceOptions<T> {
  store: ObjectStore;
  key: string;
  codec: ObjectCodec<T>;
  /** The ETag of the version the caller read; `null` when the object did not exist. */
  etag: string | null;
  metrics?: PersistenceMetrics;
}

/** Writes `value` if the object still has `etag`; returns the new ETag. */
export async function writeOnce<T>(options: WriteOnceOptions<T>, value: T): Promise<string> {
  const { store, key, codec, etag } = options;
  let written: string | undefined;
  const engine = new ConditionalObject<T, undefined>({
    store,
    key,
    codec,
    // One attempt: what to do about another writer's change is the caller's to decide, not a merge's.
    retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    metrics: options.metrics ?? emptyMetrics(),
    environment: REAL_ENVIRONMENT,
    initial: { value: codec.empty(), etag, writes: [] },
    changesKept: false,
  });
  await engine.commit({
    prepare: () => (written === undefined ? { value, carries: undefined } : undefined),
    stored: (_, version) => (written = version.etag ?? undefined),
    rebase: () => undefined,
  });
  return written!;
}
