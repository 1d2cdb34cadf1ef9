// The deterministic scheduler of the simulation: every request, every response and every backoff
// timer of every simulated instance is an event, and the seed decides which event runs next. Between
// two events the code under test runs only its microtasks, so the order of events is the whole
// interleaving, and the same seed replays it exactly.
import { setImmediate as nextMacrotask } from 'node:timers/promises';

/** One thing that can happen next: a request reaching the server, a response reaching a client, a timer. */
interface SimEvent {
  readonly label: string;
  /** The instance it belongs to; a crash of that instance drops its responses and timers. */
  readonly owner: number | null;
  /** Responses and timers die with their instance; a request already sent may still land. */
  readonly diesWithOwner: boolean;
  /** Virtual time at which a timer is due (0 for everything else). */
  readonly due: number;
  readonly run: () => void;
}

export class StepBudgetExceeded extends Error {
  constructor(steps: number) {
    super(`the schedule did not settle within ${steps} steps (unbounded retries?)`);
  }
}

export class Scheduler {
  /** Virtual milliseconds since the start of the schedule. */
  now = 0;
  steps = 0;
  private events: SimEvent[] = [];
  /** Instances that crashed: nothing of theirs runs again. */
  private readonly crashed = new Set<number>();

  /** Told of every event as it runs, to read a failing schedule step by step. */
  trace: ((line: string) => void) | undefined;

  constructor(readonly random: () => number) {}

  /** Adds an event that may run at any later step. */
  schedule(label: string, owner: number | null, run: () => void, options: { diesWithOwner?: boolean } = {}): void {
    if (owner !== null && this.crashed.has(owner)) return;
    this.events.push({ label, owner, diesWithOwner: options.diesWithOwner ?? true, due: 0, run });
  }

  /** A promise that resolves when the scheduler chooses to fire this timer; virtual time jumps to its due time. */
  sleep(owner: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.crashed.has(owner)) return;
      this.events.push({ label: `timer ${ms.toFixed(0)}ms`, owner, diesWithOwner: true, due: this.now + ms, run: resolve });
    });
  }

  /** Drops what dies with instance `owner`: its pending responses and timers. */
  crash(owner: number): void {
    this.crashed.add(owner);
    this.events = this.events.filter((event) => event.owner !== owner || !event.diesWithOwner);
  }

  get idle(): boolean {
    return this.events.length === 0;
  }

  /** Runs events, one chosen by the seed at each step, until none is left. */
  async run(maxSteps: number): Promise<void> {
    for (;;) {
      // Let every instance run until it waits on an event again.
      await nextMacrotask();
      if (this.events.length === 0) return;
      if (++this.steps > maxSteps) throw new StepBudgetExceeded(maxSteps);
      const index = Math.floor(this.random() * this.events.length);
      const [event] = this.events.splice(index, 1);
      // Time moves on a little with every step, and to the due time of a timer.
      this.now = Math.max(this.now + 1, event!.due);
      this.trace?.(`${this.steps} t=${this.now} [${event!.owner ?? '-'}] ${event!.label}`);
      event!.run();
    }
  }
}
