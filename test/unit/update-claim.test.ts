// Claims (the runtime's claimUpdates): one update's handler runs once however its deliveries
// overlap, and a claim whose holder died does not block a later redelivery.
import { describe, expect, it } from 'vitest';
import { PersistenceRuntime, S3Persistence, UpdateInProgressError } from '../../src/index.js';
import { claimKey } from '../../src/update-claim.js';
import { ControlledStore } from '../support/stores.js';
import { botInfo, textUpdate } from '../support/adapter-bots.js';
import { Bot, type Context } from 'grammy';
import { persistence, type PersistenceFlavor } from '../../src/grammy.js';

type Data = { count?: number };
const LEASE_SECONDS = 30;

function runtime(store: ControlledStore, clock: { now: number }) {
  const persistence = new S3Persistence<Data, Data, Data>({
    filepath: 's3://bucket/bot',
    store,
    retry: { baseDelayMs: 0, maxDelayMs: 0 },
    environment: { now: () => clock.now },
  });
  return new PersistenceRuntime(persistence, { claimUpdates: { leaseSeconds: LEASE_SECONDS } });
}

const keys = { updateId: 7, userId: 1, chatId: 1 };

describe('claimUpdates', () => {
  it('runs the handler of an update once when a second delivery overlaps the first', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    const [a, b] = [runtime(store, clock), runtime(store, clock)];
    let runs = 0;
    let release!: () => void;
    const first = a.run(keys, async (scope) => {
      runs++;
      await new Promise<void>((resolve) => (release = resolve));
      scope.userData.count = 1;
    });
    // a holds the claim and is inside its handler.
    while (runs === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = await b.run(keys, () => {
      runs++;
    });
    release();
    expect((await first).status).toBe('handled');
    expect(second).toEqual({ status: 'in-progress' });
    expect(runs).toBe(1);
    // Telegram delivers again later: b now finds the update handled.
    expect(await b.run(keys, () => runs++)).toEqual({ status: 'duplicate' });
    expect(runs).toBe(1);
  });

  it('lets a later delivery run the update once the lease of a holder that died is over', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    // The holder claimed and died: its claim object stays behind.
    await runtime(store, clock).persistence.claimUpdate(keys.updateId, LEASE_SECONDS * 1000);
    const b = runtime(store, clock);
    expect(await b.run(keys, () => undefined)).toEqual({ status: 'in-progress' });
    clock.now += LEASE_SECONDS * 1000 + 1;
    expect((await b.run(keys, (scope) => void (scope.userData.count = 1))).status).toBe('handled');
  });

  it('costs one create-only PUT per update, and a GET when a claim is met', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    const a = runtime(store, clock);
    await a.run(keys, (scope) => void (scope.userData.count = 1));
    const key = claimKey('bot', keys.updateId);
    expect(store.requests.filter((request) => request.includes(key))).toEqual([`PUT ${key} if-none-match`]);
    await runtime(store, clock).persistence.claimUpdate(keys.updateId, 1000);
    expect(store.requests.filter((request) => request.includes(key))).toEqual([`PUT ${key} if-none-match`, `PUT ${key} if-none-match`, `GET ${key}`]);
  });

  it('finds its own live claim again (a redelivery to the same instance), and resolves its expiry', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    const { persistence } = runtime(store, clock);
    expect(await persistence.claimUpdate(9, 1000)).toBe(1_001_000);
    clock.now += 10;
    expect(await persistence.claimUpdate(9, 1000)).toBe(1_001_000);
  });

  it('does not run on a claim that expired before its holder knew it held it (a slow request)', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    const { persistence } = runtime(store, clock);
    // The PUT is slow: by the time it is answered, the lease it asked for is over.
    store.beforePut = () => void (clock.now += 2000);
    expect(await persistence.claimUpdate(9, 1000)).toBeUndefined();
  });

  it('makes the grammY middleware throw UpdateInProgressError for a claimed update, so the webhook does not answer 200', async () => {
    const store = new ControlledStore();
    const clock = { now: 1_000_000 };
    await runtime(store, clock).persistence.claimUpdate(1, LEASE_SECONDS * 1000);
    const bot = new Bot<Context & PersistenceFlavor<Data, Data, Data>>('1:test', { botInfo });
    bot.use(persistence(new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/bot', store, environment: { now: () => clock.now } }), { claimUpdates: { leaseSeconds: LEASE_SECONDS } }));
    let runs = 0;
    bot.on('message', () => void runs++);
    const error = await bot.handleUpdate(textUpdate(1, 42, 'hi')).catch((caught: unknown) => caught);
    expect((error as { error?: unknown }).error).toBeInstanceOf(UpdateInProgressError);
    expect(runs).toBe(0);
  });

  it('refuses a lease that is not a positive number of seconds', () => {
    expect(() => new PersistenceRuntime(new S3Persistence({ filepath: 's3://bucket/bot', store: new ControlledStore() }), { claimUpdates: { leaseSeconds: 0 } })).toThrow(/leaseSeconds/);
  });
});
