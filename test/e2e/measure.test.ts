// Figures, printed rather than asserted (timings depend on the machine): the handler's cold
// initialisation, and the S3 requests an update costs, counted by a recording proxy between the
// handler and MinIO, so the handler carries no instrumentation.
//
//   npm run measure        (= npx vitest run --project e2e test/e2e/measure.test.ts)
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from '../support/recording-proxy.js';
import { deploy, WEBHOOK_SECRET, type Deployment } from './deployment.js';

const UPDATES = 20;
const USER = 8001;

let proxy: RecordingProxy;
let bot: Deployment;
const report: string[] = [];

beforeAll(async () => {
  proxy = await startRecordingProxy(inject('minio').endpoint);
});
afterAll(async () => {
  await proxy.close();
  console.log(['', '── measurements ──', ...report, ''].join('\n'));
});

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${label}: median ${median.toFixed(0)} ms, min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)} (n=${values.length})`;
}

/** "1.00 GET, 0.00 GET 304, 1.00 PUT" per update, and the kinds seen. */
function perUpdate(requests: RecordedRequest[], updates: number): string {
  const kinds = new Map<string, number>();
  for (const { method, status, condition } of requests) {
    const kind = `${method} ${status}${condition ? ` (${condition})` : ''}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const detail = [...kinds].map(([kind, n]) => `${(n / updates).toFixed(2)} × ${kind}`).join(', ');
  return `${(requests.length / updates).toFixed(2)} requests/update [${detail}]`;
}

describe('measurements', () => {
  it(`cold start and S3 requests per update, ${UPDATES} updates each in a fresh process`, async () => {
    bot = await deploy({ s3Endpoint: proxy.endpoint });
    try {
      await bot.say(USER, '/count'); // the snapshot exists from here on: steady state
      proxy.take();
      const init: number[] = [];
      const firstInvoke: number[] = [];
      let perProcess: RecordedRequest[] = [];
      for (let i = 0; i < UPDATES; i++) {
        const { result, initMs, invokeMs } = await bot.say(USER, '/count');
        expect(result.statusCode).toBe(200);
        init.push(initMs);
        firstInvoke.push(invokeMs);
        perProcess = perProcess.concat(proxy.take());
      }
      report.push(
        summary('cold init (import of the bundle until handler is ready, fresh process)', init),
        summary('first invocation in a fresh process (load snapshot, handle, reply, write)', firstInvoke),
        `fresh process per update: ${perUpdate(perProcess, UPDATES)}`,
      );
    } finally {
      await bot.close();
    }
  });

  it(`S3 requests per update in one warm process, ${UPDATES} updates`, async () => {
    bot = await deploy({ s3Endpoint: proxy.endpoint });
    try {
      await bot.say(USER, '/count');
      const warm = bot.warmInstance();
      const send = (updateId: number) =>
        warm.invoke(webhookEvent(messageUpdate({ updateId, userId: USER, text: '/count' }), { secret: WEBHOOK_SECRET }));
      proxy.take();
      await send(1);
      const coldRequests = proxy.take();
      const warmInvoke: number[] = [];
      for (let i = 0; i < UPDATES; i++) {
        const { result, invokeMs } = await send(100 + i);
        expect(result.statusCode).toBe(200);
        warmInvoke.push(invokeMs);
      }
      report.push(
        `warm process, its first update: ${perUpdate(coldRequests, 1)}`,
        `warm process, next ${UPDATES} updates: ${perUpdate(proxy.take(), UPDATES)}`,
        summary('warm invocation', warmInvoke),
      );
    } finally {
      await bot.close();
    }
  });

  it('S3 requests per update under contention: 6 fresh processes at once, 4 rounds', async () => {
    bot = await deploy({ s3Endpoint: proxy.endpoint });
    try {
      const users = [1, 2, 3, 4, 5, 6].map((n) => 8100 + n);
      proxy.take();
      for (let round = 0; round < 4; round++) {
        const results = await Promise.all(users.map((user) => bot.say(user, '/count')));
        expect(results.map((r) => r.result.statusCode)).toEqual(users.map(() => 200));
      }
      const requests = proxy.take();
      const lost = requests.filter((r) => r.status === 412 || r.status === 409).length;
      report.push(`contention (24 updates): ${perUpdate(requests, 24)}; ${lost} conditional writes lost and retried`);
    } finally {
      await bot.close();
    }
  });
});
