/**
 * Claims of updates: so that the handler of one `update_id` runs at most once at a time, however
 * Telegram's deliveries overlap. A claim is a small object per update id, created with
 * `If-None-Match: *` and holding when it expires; a delivery that finds a live claim of another
 * holder does not run the update, and a claim whose holder died expires (its lease is no longer
 * than the function's timeout), so that a later redelivery runs it.
 *
 * Cost: one create-only PUT per update; a delivery that meets a claim adds one GET (and one
 * conditional PUT when the claim expired). A redelivery of an update already handled is answered
 * from the handled mark before any claim.
 */
import { ConditionalObject, emptyMetrics, type ObjectCodec, type PersistenceMetrics } from './engine/conditional-object.js';
import type { Environment } from './engine/environment.js';
import { decodeSnapshot, encodeSnapshot, UndecodableSnapshot } from './snapshot/codec.js';
import type { ObjectStore } from './store/object-store.js';

interface Claim {
  /** Who holds it: an id of the claiming instance. */
  holder: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const CLAIM_CODEC: ObjectCodec<Claim | null> = {
  empty: () => null,
  // No write records: a claim whose answer was lost is recognised by its holder.
  encode: (claim) =>
    encodeSnapshot(
      new Map<string, unknown>([
        ['holder', claim?.holder ?? ''],
        ['expiresAt', claim?.expiresAt ?? 0],
      ]),
    ),
  decode(body) {
    const fields = decodeSnapshot(body);
    const holder = fields.get('holder');
    const expiresAt = fields.get('expiresAt');
    if (typeof holder !== 'string' || typeof expiresAt !== 'number') throw new UndecodableSnapshot('not an update claim (no holder and expiry)');
    return { value: { holder, expiresAt }, writes: [] };
  },
};

/** The key of the claim of `updateId`: beside the state, never under a snapshot's key (a key under an object breaks some servers). */
export function claimKey(path: string, updateId: number): string {
  return `${path}.claims/${updateId}`;
}

export interface ClaimOptions {
  store: ObjectStore;
  path: string;
  environment: Environment;
  metrics?: PersistenceMetrics;
  /** This instance's id, so that a redelivery to the same instance finds its own claim. */
  holder: string;
}

/**
 * Claims update `updateId` for `leaseMs` milliseconds. Resolves the claim's expiry (milliseconds
 * since the epoch) when this instance holds it now (it created it, it was its own and live, or it
 * took over an expired one), and `undefined` when another holder's claim is live, or when this
 * instance's own claim expired before it knew it held it (a slow or retried request): another may
 * be taking it over.
 */
export async function claimUpdate(options: ClaimOptions, updateId: number, leaseMs: number): Promise<HeldClaim | undefined> {
  const { environment, holder } = options;
  let decided: boolean | undefined;
  // The lease counts from before the request is sent: when the answer comes, less of it is left.
  let expiresAt = 0;
  const claim = (): Claim => ({ holder, expiresAt: (expiresAt = environment.now() + leaseMs) });
  // Created (If-None-Match: *) without a read first; met, the claim is read once and taken over if expired.
  const engine = claimObject(options, updateId, 2, null);
  try {
    await engine.commit({
      prepare: () => (decided === undefined ? { value: claim(), carries: undefined } : undefined),
      stored: () => (decided = true),
      rebase: (fresh) => {
        if (decided !== undefined || fresh.value === null) return;
        const live = fresh.value.expiresAt > environment.now();
        // Our own live claim (a redelivery to this instance, or our PUT whose answer was lost) holds;
        // an expired one, ours or not, is taken over with If-Match, which only one taker wins.
        if (live) decided = fresh.value.holder === holder;
        if (decided === true) expiresAt = fresh.value.expiresAt;
      },
    });
  } catch (error) {
    // Two instances took over one expired claim at once: the other one has it.
    if (decided === undefined && (error as { code?: string }).code === 'WRITE_CONFLICT') return undefined;
    throw error;
  }
  const etag = engine.current?.etag;
  return decided === true && expiresAt > environment.now() && etag != null ? { expiresAt, etag } : undefined;
}

/** The engine of one claim's writes: `attempts` conditional PUTs, from the version with `etag` (`null`: absent). */
function claimObject(options: ClaimOptions, updateId: number, attempts: number, etag: string | null): ConditionalObject<Claim | null, undefined> {
  return new ConditionalObject<Claim | null, undefined>({
    store: options.store,
    key: claimKey(options.path, updateId),
    codec: CLAIM_CODEC,
    retry: { maxAttempts: attempts, baseDelayMs: 0, maxDelayMs: 0 },
    metrics: options.metrics ?? emptyMetrics(),
    environment: options.environment,
    initial: { value: null, etag, writes: [] },
  });
}

/** A claim this instance holds: its expiry, and the ETag that lets it release the claim. */
export interface HeldClaim {
  expiresAt: number;
  etag: string;
}

/**
 * Releases a claim this instance holds (its update failed): the claim is written as expired, so that
 * a redelivery runs the update at once instead of waiting out the lease. Conditional on the claim's
 * ETag: a claim taken over meanwhile is left alone. Best effort: a failure leaves the lease to expire.
 */
export async function releaseClaim(options: ClaimOptions, updateId: number, claim: HeldClaim): Promise<void> {
  const { holder } = options;
  const engine = claimObject(options, updateId, 1, claim.etag);
  let released = false;
  await engine
    .commit({
      prepare: () => (released ? undefined : { value: { holder, expiresAt: 0 }, carries: undefined }),
      stored: () => (released = true),
      rebase: () => undefined,
    })
    .catch(() => undefined);
}
