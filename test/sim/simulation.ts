// One schedule of the deterministic simulation: a few instances of the real `S3Persistence` (and,
// for the runtime workload, the real `PersistenceRuntime`) over the simulated S3, with faults,
// crashes and duplicate deliveries drawn from one seed, then a checker over what happened.
//
// Every value the workloads write is a list of operation ids, and the merge function appends what
// one side added to the other's list. So an acknowledged operation missing from the final list was
// lost, and an id that appears twice was applied twice: the checker needs no model of the timing.
import { decodeSnapshot } from '../../src/snapshot/codec.js';
import { invalidSection } from '../../src/snapshot/entries.js';
import { S3Persistence, type EntryConflict, type LayoutName } from '../../src/index.js';
import { PersistenceRuntime } from '../../src/runtime/update-runtime.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { deriveSeed, pick, randomInt, seededRandom } from '../support/seed.js';
import { Scheduler, StepBudgetExceeded } from './scheduler.js';
import { NO_FAULTS, SimulatedS3, type FaultCounts, type FaultRates } from './simulated-s3.js';

type Ids = { ids?: number[] };
type Persistence = S3Persistence<Ids, Ids, Ids>;

/** What one schedule is made of, all drawn from its seed. */
export interface ScheduleShape {
  layout: LayoutName;
  workload: 'runtime' | 'direct';
  instances: number;
  onFlush: boolean;
  faults: FaultRates;
  crashes: number;
  /** Runtime workload: updates, each delivered 1 to 3 times. Direct workload: operations per instance. */
  operations: number;
  /** Runtime workload: the lease of update claims in seconds, or 0 without claims. */
  claimLeaseSeconds: number;
}

export interface ScheduleResult {
  seed: number;
  shape: ScheduleShape;
  violations: string[];
  faults: FaultCounts;
  crashes: number;
  deliveries: number;
  steps: number;
}

const FILEPATH = 's3://sim/bot';
/** The simulation's epoch: processed-update times and write-id ages are measured from here. */
const EPOCH = Date.UTC(2026, 0, 1);
const STEP_BUDGET = 50_000;
const USERS = [1, 2];
const DELIVERIES_PER_UPDATE_MAX = 3;
const REDELIVERIES_MAX = 4;

export function shapeOf(seed: number): ScheduleShape {
  const random = seededRandom(deriveSeed(seed, 'shape'));
  const faulty = random() < 0.6;
  const rate = (max: number) => (faulty ? random() * max : 0);
  const faults = faulty
    ? { unavailable: rate(0.1), errorAfterApply: rate(0.1), reset: rate(0.1), lostResponse: rate(0.08), conflict: rate(0.5) }
    : NO_FAULTS;
  return {
    layout: pick(random, ['single-file', 'multi-file', 'sharded'] as const),
    workload: random() < 0.6 ? 'runtime' : 'direct',
    instances: randomInt(random, 2, 3),
    onFlush: random() < 0.5,
    faults,
    crashes: random() < 0.3 ? randomInt(random, 1, 2) : 0,
    operations: randomInt(random, 2, 5),
    claimLeaseSeconds: random() < 0.3 ? randomInt(random, 1, 30) : 0,
  };
}

/** Appends to `theirs` what `ours` added to `base`: an id applied twice shows up twice. */
function mergeIds(conflict: EntryConflict): unknown {
  const { base, ours, theirs } = conflict;
  const list = (value: unknown): number[] | undefined =>
    Array.isArray(value) ? (value as number[]) : Array.isArray((value as Ids | undefined)?.ids) ? (value as Ids).ids : undefined;
  const oursIds = list(ours);
  if (oursIds === undefined) return ours; // not a list (processed updates, conversations): the later write wins
  const remaining = [...(list(base) ?? [])];
  const added = oursIds.filter((id) => {
    const at = remaining.indexOf(id);
    if (at === -1) return true;
    remaining.splice(at, 1);
    return false;
  });
  const merged = [...(list(theirs) ?? []), ...added];
  return Array.isArray(ours) ? merged : { ...(ours as Ids), ids: merged };
}

interface Instance {
  readonly id: number;
  readonly persistence: Persistence;
  readonly runtime: PersistenceRuntime<Ids, Ids, Ids>;
  alive: boolean;
}

export async function simulate(seed: number, shape: ScheduleShape = shapeOf(seed)): Promise<ScheduleResult> {
  const scheduler = new Scheduler(seededRandom(deriveSeed(seed, 'schedule')));
  if (process.env.SIM_TRACE === String(seed)) scheduler.trace = (line) => console.log(line);
  const s3 = new SimulatedS3(scheduler, shape.faults);
  const violations: string[] = [];
  s3.onStored = (key, body) => {
    try {
      const fields = decodeSnapshot(body);
      scheduler.trace?.(`    stored ${key}: ${JSON.stringify([...fields].filter(([name]) => name !== '$writes'), (_, v: unknown) => (v instanceof Map ? [...v] : v))} writes ${JSON.stringify(fields.get('$writes'))}`);
      const invalid = invalidSection(fields);
      if (invalid !== undefined) violations.push(`stored ${key} does not decode: ${invalid}`);
    } catch (error) {
      violations.push(`stored ${key} does not decode: ${(error as Error).message}`);
    }
  };
  let instanceCount = 0;
  let writeIds = 0;
  const newInstance = (): Instance => {
    const id = ++instanceCount;
    const random = seededRandom(deriveSeed(seed, `instance-${id}`));
    const persistence: Persistence = new S3Persistence<Ids, Ids, Ids>({
      filepath: FILEPATH,
      store: s3.storeFor(id),
      layout: shape.layout,
      onFlush: shape.onFlush,
      merge: (conflict) => {
        const decided = mergeIds(conflict);
        scheduler.trace?.(`    [${id}] conflict ${conflict.entry} base ${JSON.stringify(conflict.base)} ours ${JSON.stringify(conflict.ours)} theirs ${JSON.stringify(conflict.theirs)} -> ${JSON.stringify(decided)}`);
        return decided;
      },
      retry: { maxAttempts: 6, baseDelayMs: 20, maxDelayMs: 200 },
      environment: {
        now: () => EPOCH + scheduler.now,
        random,
        sleep: (ms) => scheduler.sleep(id, ms),
        writeId: () => `w${id}-${++writeIds}`,
      },
    });
    const claimUpdates = shape.claimLeaseSeconds > 0 ? { leaseSeconds: shape.claimLeaseSeconds } : false;
    return { id, persistence, runtime: new PersistenceRuntime(persistence, { claimUpdates }), alive: true };
  };
  const slots = Array.from({ length: shape.instances }, newInstance);
  /** Work running on an instance, to be redone elsewhere when the instance crashes. */
  const running = new Map<number, Set<() => void>>();
  const crash = () => {
    const slot = Math.floor(scheduler.random() * slots.length);
    const victim = slots[slot]!;
    victim.alive = false;
    scheduler.crash(victim.id);
    slots[slot] = newInstance();
    for (const redo of running.get(victim.id) ?? []) redo();
    running.delete(victim.id);
  };
  /** Runs `work` on a live instance; `lost` runs instead of its outcome when that instance crashes first. */
  const onInstance = <T>(instance: Instance, work: () => Promise<T>, settled: (outcome: PromiseSettledResult<T>) => void, lost: () => void) => {
    let set = running.get(instance.id);
    if (set === undefined) running.set(instance.id, (set = new Set()));
    set.add(lost);
    work().then(
      (value) => {
        if (!instance.alive) return;
        set.delete(lost);
        settled({ status: 'fulfilled', value });
      },
      (reason: unknown) => {
        if (!instance.alive) return;
        set.delete(lost);
        settled({ status: 'rejected', reason });
      },
    );
  };
  for (let i = 0; i < shape.crashes; i++) scheduler.schedule('crash', null, crash);

  const acknowledged: Array<{ op: number; user: number; chat: number }> = [];
  let deliveries = 0;
  if (shape.workload === 'runtime') {
    const updates = Array.from({ length: shape.operations }, (_, index) => {
      const user = pick(scheduler.random, USERS);
      return { op: 1000 + index, user, chat: pick(scheduler.random, [user * 10, -100]) };
    });
    const attempts = new Map<number, number>();
    const handlerRuns = new Map<number, Array<{ alive: () => boolean; leaseEnd: number }>>();
    const deliver = (update: (typeof updates)[number]) => {
      deliveries++;
      attempts.set(update.op, (attempts.get(update.op) ?? 0) + 1);
      const redeliver = () => {
        if ((attempts.get(update.op) ?? 0) < REDELIVERIES_MAX) scheduler.schedule(`redeliver ${update.op}`, null, () => deliver(update));
      };
      const instance = pick(scheduler.random, slots);
      onInstance(
        instance,
        () =>
          instance.runtime.run({ updateId: update.op, userId: update.user, chatId: update.chat }, async (scope) => {
            // With claims, a handler of this update may run only when no other run of it holds a live lease.
            const started = scheduler.now;
            scheduler.trace?.(`    [${instance.id}] handler of ${update.op} starts`);
            const overlapping = [...(handlerRuns.get(update.op) ?? [])].filter((run) => run.alive() && EPOCH + started < run.leaseEnd);
            if (shape.claimLeaseSeconds > 0 && overlapping.length > 0) violations.push(`the handler of ${update.op} ran twice at once despite its claim`);
            // A run holds its claim until it ends or the claim expires (Lambda's timeout ends it there).
            const run = { alive: () => instance.alive, leaseEnd: scope.claimExpiresAt ?? 0 };
            handlerRuns.set(update.op, [...(handlerRuns.get(update.op) ?? []), run]);
            scope.userData.ids = [...(scope.userData.ids ?? []), update.op];
            scope.chatData.ids = [...(scope.chatData.ids ?? []), update.op];
            scope.botData.ids = [...(scope.botData.ids ?? []), update.op];
            await scheduler.sleep(instance.id, 5); // the handler's own work (a reply) takes time
            run.leaseEnd = -1; // done: no longer running
          }),
        (outcome) => {
          if (outcome.status === 'fulfilled' && outcome.value.status !== 'in-progress') acknowledged.push(update);
          else redeliver(); // the webhook answers an error: Telegram delivers the update again
        },
        redeliver,
      );
    };
    for (const update of updates) {
      const copies = randomInt(scheduler.random, 1, DELIVERIES_PER_UPDATE_MAX);
      for (let copy = 0; copy < copies; copy++) scheduler.schedule(`deliver ${update.op}`, null, () => deliver(update));
    }
  } else {
    // Each instance reads every user once, then adds its operation ids on top of what it read.
    let nextOp = 0;
    const script = (slot: number) => {
      const instance = slots[slot]!;
      const ops = Array.from({ length: shape.operations }, () => ({ op: 2000 + ++nextOp, user: pick(scheduler.random, USERS), chat: 0 }));
      const work = async () => {
        const users = await instance.persistence.getUserData();
        const acked: typeof ops = [];
        let unflushed: typeof ops = [];
        for (const op of ops) {
          const next = { ids: [...(users.get(op.user)?.ids ?? []), op.op] };
          users.set(op.user, next);
          try {
            await instance.persistence.updateUserData(op.user, next);
            if (shape.onFlush) unflushed.push(op);
            else acked.push(op);
          } catch {
            // not acknowledged; the change stays pending and goes out with the next write
          }
        }
        for (let attempt = 0; attempt < 3 && (shape.onFlush || instance.persistence.hasPendingChanges); attempt++) {
          try {
            await instance.persistence.flush();
            acked.push(...unflushed);
            unflushed = [];
            break;
          } catch {
            // retried
          }
        }
        return acked;
      };
      deliveries++;
      onInstance(
        instance,
        work,
        (outcome) => {
          if (outcome.status === 'fulfilled') acknowledged.push(...outcome.value);
        },
        () => undefined, // a crashed instance's operations were never acknowledged
      );
    };
    for (let slot = 0; slot < slots.length; slot++) scheduler.schedule(`script ${slot}`, null, () => script(slot));
  }

  try {
    await scheduler.run(STEP_BUDGET);
  } catch (error) {
    if (!(error instanceof StepBudgetExceeded)) throw error;
    violations.push(error.message);
  }
  if (violations.length === 0) violations.push(...(await check(s3, shape, acknowledged)));
  return { seed, shape, violations, faults: s3.faults, crashes: shape.crashes, deliveries, steps: scheduler.steps };
}

/** Reads the final state with a fresh instance and checks every acknowledged operation is there exactly once. */
async function check(s3: SimulatedS3, shape: ScheduleShape, acknowledged: Array<{ op: number; user: number; chat: number }>): Promise<string[]> {
  const store = new MemoryObjectStore('sim');
  for (const [key, object] of s3.objects) store.objects.set(key, object);
  const reader = new S3Persistence<Ids, Ids, Ids>({ filepath: FILEPATH, store, layout: shape.layout });
  const violations: string[] = [];
  const lists: Array<[string, number[]]> = [];
  for (const [id, data] of await reader.getUserData()) lists.push([`user_data[${id}]`, data.ids ?? []]);
  if (shape.workload === 'runtime') {
    for (const [id, data] of await reader.getChatData()) lists.push([`chat_data[${id}]`, data.ids ?? []]);
    lists.push(['bot_data.ids', (await reader.getBotData()).ids ?? []]);
  }
  for (const [entry, ids] of lists) {
    const twice = ids.filter((id, index) => ids.indexOf(id) !== index);
    if (twice.length > 0) violations.push(`${entry} holds ${[...new Set(twice)].join(', ')} more than once: ${JSON.stringify(ids)}`);
  }
  const holds = (entry: string, op: number) => lists.some(([name, ids]) => name === entry && ids.includes(op));
  for (const { op, user, chat } of acknowledged) {
    if (!holds(`user_data[${user}]`, op)) violations.push(`acknowledged ${op} is missing from user_data[${user}]`);
    if (shape.workload !== 'runtime') continue;
    if (!holds(`chat_data[${chat}]`, op)) violations.push(`acknowledged ${op} is missing from chat_data[${chat}]`);
    if (!holds('bot_data.ids', op)) violations.push(`acknowledged ${op} is missing from bot_data.ids`);
  }
  return violations;
}

/** A one-line account of a schedule, for a failure message: replays with `simulate(seed)`. */
export function describe(result: ScheduleResult): string {
  const { seed, shape, violations } = result;
  const claims = shape.claimLeaseSeconds > 0 ? `, claims ${shape.claimLeaseSeconds} s` : '';
  return `seed ${seed} (${shape.layout}, ${shape.workload}, ${shape.instances} instances, onFlush ${shape.onFlush}, ${shape.crashes} crashes${claims}): ${violations.join('; ')}`;
}
