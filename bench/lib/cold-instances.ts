/**
 * Cold starts of a function platform's runtime, measured from outside: a new process per run
 * (workerd, functions-framework), time until it listens, then the first request (`/count` to the
 * sample bot). The same for every platform, so the ratios to a bare function compare.
 */
import { messageUpdate, startFakeBotApi } from '../../test/support/fake-bot-api.js';
import type { PlatformInstance } from '../../test/support/platform-deployment.js';
import type { BenchContext } from './context.js';
import { now, summarize, type Summary } from './stats.js';

export interface ColdInstances {
  /** Spawn to listening: the runtime starts and loads the code. */
  startMs: Summary;
  /** The first request's round trip. */
  firstRequestMs: Summary;
  totalMs: Summary;
}

let updateId = 1;

/**
 * `runs` new instances of each variant, the variants taking turns within a run (so a change in the
 * machine's load falls on all of them alike), each sent one `/count` of a user from `userIds`.
 */
export async function coldInstances<Name extends string>(
  starts: Record<Name, () => Promise<PlatformInstance>>,
  options: { runs: number; userIds: readonly number[]; secret: string },
): Promise<Record<Name, ColdInstances>> {
  const names = Object.keys(starts) as Name[];
  const samples = new Map(names.map((name) => [name, { started: [] as number[], first: [] as number[] }]));
  for (let i = 0; i < options.runs; i++) {
    for (const name of names) {
      const spawned = now();
      const instance = await starts[name]();
      const listening = now();
      const update = messageUpdate({ updateId: updateId++, userId: options.userIds[i % options.userIds.length]!, text: '/count' });
      const response = await fetch(instance.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': options.secret },
        body: JSON.stringify(update),
      });
      await response.arrayBuffer();
      const answered = now();
      const printed = await instance.close();
      if (response.status !== 200) throw new Error(`a cold instance of ${name} answered ${response.status}: ${printed}`);
      samples.get(name)!.started.push(listening - spawned);
      samples.get(name)!.first.push(answered - listening);
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const { started, first } = samples.get(name)!;
      return [name, { startMs: summarize(started), firstRequestMs: summarize(first), totalMs: summarize(started.map((ms, i) => ms + first[i]!)) }];
    }),
  ) as Record<Name, ColdInstances>;
}

const BOT_TOKEN = '7000000001:BENCHMARK-token-not-secret';
const WEBHOOK_SECRET = 'bench-webhook-secret';

/** The sample bot's settings on a stored snapshot of `users` users, with a fake Bot API to answer it. */
export async function sampleBotSettings(context: BenchContext, users: number, name: string) {
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  const path = await context.snapshot(users, 'single-file', `${name}-${users}`);
  const { connection } = context;
  return {
    env: {
      BOT_TOKEN,
      WEBHOOK_SECRET,
      BOT_INFO: JSON.stringify(api.botInfo),
      PERSISTENCE_URL: `s3://${context.bucket}/${path}`,
      S3_ENDPOINT: connection.endpoint,
      AWS_ACCESS_KEY_ID: connection.accessKeyId,
      AWS_SECRET_ACCESS_KEY: connection.secretAccessKey,
      AWS_REGION: connection.region,
      TELEGRAM_API_ROOT: api.apiRoot,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    userIds: context.population(users).users.map(([id]) => id),
    secret: WEBHOOK_SECRET,
    close: () => api.close(),
  };
}
