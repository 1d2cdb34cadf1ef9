// What the runtime logs: one line per update with its costs and outcome, the warnings an operator
// acts on, the EMF form of the line, and never a token, a secret or what a user wrote.
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  BasePersistence} from '../../src/index.js';
import {
  ConditionalWritesIgnoredError,
  emfDocument,
  jsonLogger,
  PersistenceRuntime,
  S3Persistence,
  UPDATE_METRICS,
  type LogRecord,
  type Logger,
  type RuntimeOptions,
  type UpdateRecord,
} from '../../src/index.js';
import { lambdaMemoryLimit } from '../../src/runtime/update-log.js';
import { createBot, type BotData, type ChatData, type UserData } from '../../handlers/bot.js';
import { botInfo } from '../support/adapter-bots.js';
import { callbackQueryUpdate, messageUpdate } from '../support/fake-bot-api.js';
import { ControlledStore } from '../support/stores.js';

type Data = Record<string, unknown>;
type Level = 'info' | 'warn' | 'error';

/** A logger that keeps every record with its level. */
function capture(): Logger & { lines: Array<LogRecord & { level: Level }> } {
  const lines: Array<LogRecord & { level: Level }> = [];
  const keep = (level: Level) => (record: LogRecord) => void lines.push({ level, ...record });
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

function setup(options: { store?: ControlledStore; runtime?: RuntimeOptions<Data, Data, Data>; maxAttempts?: number } = {}) {
  const store = options.store ?? new ControlledStore();
  const logger = capture();
  const persistence = new S3Persistence<Data, Data, Data>({
    filepath: 's3://bucket/bot',
    store,
    onFlush: true,
    retry: { baseDelayMs: 0, maxDelayMs: 0, maxAttempts: options.maxAttempts ?? 10 },
  });
  const runtime = new PersistenceRuntime(persistence, { logger, ...options.runtime });
  return { store, logger, persistence, runtime };
}

const counted = (scope: { userData: Data }) => {
  scope.userData.count = Number(scope.userData.count ?? 0) + 1;
};

const updates = (lines: LogRecord[]) => lines.filter((line) => line.event === 'update') as Array<UpdateRecord & { level: Level }>;
const count = (requests: string[], pattern: RegExp) => requests.filter((request) => pattern.test(request)).length;

describe('the line of each update', () => {
  it('is one line per update, with its id, kind, duration, requests, bytes and outcome', async () => {
    const { store, logger, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7, kind: 'message' }, counted);
    const firstRequests = [...store.requests];
    const firstBody = store.objects.get('bot')!.body.length;
    await runtime.run({ updateId: 2, userId: 7, kind: 'callback_query' }, counted);
    const secondBody = store.objects.get('bot')!.body.length;
    await runtime.run({ updateId: 2, userId: 7, kind: 'callback_query' }, counted); // redelivered

    const [first, second, duplicate, ...rest] = logger.lines;
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      level: 'info',
      event: 'update',
      updateId: 1,
      kind: 'message',
      outcome: 'handled',
      gets: count(firstRequests, /^GET/),
      notModified: 0,
      puts: count(firstRequests, /^PUT/),
      preconditionsLost: 0,
      conflicts: 0,
      retries: 0,
      bytesRead: 0, // nothing stored yet
      bytesWritten: firstBody,
    });
    expect(first!.durationMs).toBeGreaterThanOrEqual(0);
    // Warm: the conditional GET is answered 304 (nothing read), one PUT of the grown snapshot.
    expect(second).toMatchObject({ updateId: 2, kind: 'callback_query', outcome: 'handled', gets: 1, notModified: 1, puts: 1, bytesRead: 0, bytesWritten: secondBody });
    expect(duplicate).toMatchObject({ level: 'info', updateId: 2, outcome: 'duplicate', puts: 0 });
  });

  it('counts the bytes a cold start reads', async () => {
    const { store, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    const cold = setup({ store });
    await cold.runtime.run({ updateId: 2, userId: 7 }, counted);
    expect(updates(cold.logger.lines)[0]).toMatchObject({ gets: 1, notModified: 0, bytesRead: expect.any(Number) });
    expect(updates(cold.logger.lines)[0]!.bytesRead).toBeGreaterThan(0);
  });

  it('counts the lost conditions, conflicts and retries of a contended write', async () => {
    const { store, logger, runtime } = setup();
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    let rival = 0;
    // Another writer changes the same user twice while this one writes: two lost conditions, two conflicts.
    store.beforePut = (key) => {
      if (rival < 2) store.writeDirectly(key, new Map([['user_data', new Map([[7, { count: 100 + ++rival }]])]]));
    };
    await runtime.run({ updateId: 2, userId: 7 }, counted);

    expect(updates(logger.lines)[1]).toMatchObject({ outcome: 'handled', preconditionsLost: 2, retries: 2, conflicts: 2, puts: 3 });
  });

  it('is logged at error level with the error code when the update fails', async () => {
    const store = new ControlledStore();
    const { logger, runtime } = setup({ store, maxAttempts: 3 });
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    store.beforePut = (key) => store.writeDirectly(key, store.fields(key)); // every write loses

    await expect(runtime.run({ updateId: 2, userId: 7, kind: 'message' }, counted)).rejects.toMatchObject({ code: 'WRITE_CONFLICT' });
    store.beforePut = undefined;
    await expect(runtime.run({ updateId: 3, userId: 7 }, () => Promise.reject(new RangeError('user text: hello')))).rejects.toThrow(RangeError);

    const [, conflict, thrown] = updates(logger.lines);
    expect(conflict).toMatchObject({ level: 'error', outcome: 'failed', errorCode: 'WRITE_CONFLICT', errorName: 'WriteConflictError', preconditionsLost: 3, retries: 2 });
    expect(conflict!.error).toMatch(/gave up after 3 conditional writes/);
    // A handler's own error is named, not quoted: its message may carry what a user wrote.
    expect(thrown).toMatchObject({ level: 'error', outcome: 'failed', errorName: 'RangeError' });
    expect(JSON.stringify(thrown)).not.toContain('hello');
  });

  it('says in-progress when another delivery holds the update\'s claim, counting the claim\'s requests', async () => {
    const store = new ControlledStore();
    const holder = setup({ store, runtime: { claimUpdates: { leaseSeconds: 30 } } });
    await holder.persistence.claimUpdate(5, 30_000); // another delivery claimed update 5 and runs it
    const { logger, runtime } = setup({ store, runtime: { claimUpdates: { leaseSeconds: 30 } } });
    const before = store.requests.length;

    expect(await runtime.run({ updateId: 5, userId: 7 }, counted)).toEqual({ status: 'in-progress' });

    const requests = store.requests.slice(before);
    expect(updates(logger.lines)).toEqual([
      expect.objectContaining({ level: 'info', updateId: 5, outcome: 'in-progress', gets: count(requests, /^GET/), puts: count(requests, /^PUT/) }),
    ]);
  });

  it('has no counters when the persistence keeps none', async () => {
    const logger = capture();
    const persistence = new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/bot', store: new ControlledStore(), onFlush: true });
    // A persistence of another kind: the same contract, without `metrics`.
    const uncounted = new Proxy(persistence, { get: (target, name) => (name === 'metrics' ? undefined : Reflect.get(target, name, target)) });
    const runtime = new PersistenceRuntime(uncounted as BasePersistence<Data, Data, Data>, { logger });
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    expect(Object.keys(updates(logger.lines)[0]!).sort()).toEqual(['durationMs', 'event', 'level', 'outcome', 'updateId']);
  });

  it('goes nowhere with logger: false, and by default to stdout as one JSON line', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const silent = new PersistenceRuntime(new S3Persistence({ filepath: 's3://bucket/a', store: new ControlledStore(), onFlush: true }), { logger: false });
      await silent.run({ updateId: 1, userId: 7 }, counted);
      expect(write).not.toHaveBeenCalled();

      const standard = new PersistenceRuntime(new S3Persistence({ filepath: 's3://bucket/a', store: new ControlledStore(), onFlush: true }));
      await standard.run({ updateId: 2, userId: 7 }, counted);
      expect(write).toHaveBeenCalledTimes(1);
      const line = String(write.mock.calls[0]![0]);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.trim()).not.toContain('\n');
      expect(JSON.parse(line)).toMatchObject({ level: 'info', event: 'update', updateId: 2, outcome: 'handled' });
    } finally {
      write.mockRestore();
    }
  });

  it('does not fail an update when the logger throws, nor hide the update\'s own error', async () => {
    const broken: Logger = {
      info: () => {
        throw new Error('log sink closed');
      },
      warn: () => undefined,
      error: () => {
        throw new Error('log sink closed');
      },
    };
    const { runtime } = setup({ runtime: { logger: broken } });

    expect(await runtime.run({ updateId: 1, userId: 7 }, () => 'done')).toEqual({ status: 'handled', result: 'done' });
    await expect(runtime.run({ updateId: 2, userId: 7 }, () => Promise.reject(new RangeError('handler')))).rejects.toThrow(RangeError);
  });

  it('jsonLogger writes info to one sink and warnings and errors to the other', () => {
    const out: string[] = [];
    const err: string[] = [];
    const logger = jsonLogger({ out: (line) => out.push(line), err: (line) => err.push(line) });
    logger.info({ event: 'a' });
    logger.warn({ event: 'b' });
    logger.error({ event: 'c' });
    expect(out.map((line) => JSON.parse(line) as unknown)).toEqual([expect.objectContaining({ level: 'info', event: 'a' })]);
    expect(err.map((line) => (JSON.parse(line) as LogRecord).event)).toEqual(['b', 'c']);
  });
});

describe('the warnings', () => {
  it('warn when a write needed more than 70% of retry.maxAttempts, and not below', async () => {
    const loseTimes = async (losses: number) => {
      const store = new ControlledStore();
      const { logger, runtime } = setup({ store, maxAttempts: 10 });
      await runtime.run({ updateId: 1, userId: 7 }, counted);
      let lost = 0;
      store.beforePut = (key) => {
        if (lost++ < losses) store.writeDirectly(key, store.fields(key));
      };
      await runtime.run({ updateId: 2, userId: 7 }, counted);
      return logger.lines.filter((line) => line.level === 'warn');
    };
    expect(await loseTimes(6)).toEqual([]); // stored at the 7th attempt: 70%, not more
    const [warning, ...others] = await loseTimes(7); // the 8th
    expect(others).toEqual([]);
    expect(warning).toMatchObject({ event: 'retry-budget-nearly-spent', updateId: 2, writes: 1, hint: expect.stringContaining('retry.maxAttempts') });
  });

  it('warn when a snapshot read is larger than the share of memory given, once until it grows', async () => {
    const store = new ControlledStore();
    const writer = setup({ store });
    await writer.runtime.run({ updateId: 1, userId: 7 }, (scope) => void (scope.botData.blob = 'x'.repeat(2000)));
    const size = store.objects.get('bot')!.body.length;

    const reader = setup({ store, runtime: { largeSnapshot: { memoryLimitBytes: size * 10, share: 0.05 } } });
    await reader.runtime.run({ updateId: 2, userId: 8 }, counted); // reads the snapshot: warned
    await reader.runtime.run({ updateId: 3, userId: 8 }, counted); // 304: nothing read
    const quiet = setup({ store, runtime: { largeSnapshot: { memoryLimitBytes: size * 10, share: 0.5 } } });
    await quiet.runtime.run({ updateId: 4, userId: 9 }, counted);

    expect(reader.logger.lines.filter((line) => line.level === 'warn')).toEqual([
      expect.objectContaining({ event: 'large-snapshot', updateId: 2, bytes: size, thresholdBytes: Math.round(size * 0.5) }),
    ]);
    expect(quiet.logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('take the memory limit of a Lambda function from its environment', () => {
    expect(lambdaMemoryLimit({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(512 * 1024 * 1024);
    expect(lambdaMemoryLimit({})).toBeUndefined();
    expect(lambdaMemoryLimit({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' })).toBeUndefined();
  });

  it('warn when the server answers a read without condition with 304', async () => {
    const store = new ControlledStore();
    store.get = async () => ({ status: 'not-modified' });
    const { logger, runtime } = setup({ store });

    await expect(runtime.run({ updateId: 1, userId: 7 }, counted)).rejects.toMatchObject({ code: 'STORAGE_FAILURE' });

    expect(logger.lines.map((line) => [line.level, line.event])).toEqual([
      ['error', 'update'],
      ['warn', 'unexpected-answer'],
    ]);
    expect(logger.lines[1]!.error).toMatch(/304 to an unconditional read/);
  });

  it('warn when the server is found to ignore conditional writes', async () => {
    const store = new ControlledStore();
    store.put = async (key) => {
      throw new ConditionalWritesIgnoredError('http://127.0.0.1:4569', 'a PUT with If-Match and a stale ETag succeeded', { bucket: 'bucket', key });
    };
    const { logger, runtime } = setup({ store });

    await expect(runtime.run({ updateId: 1, userId: 7 }, counted)).rejects.toMatchObject({ code: 'CONDITIONAL_WRITES_IGNORED' });

    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([
      expect.objectContaining({ event: 'unexpected-answer', updateId: 1, endpoint: 'http://127.0.0.1:4569', error: expect.stringContaining('ignores conditional writes') }),
    ]);
  });

  describe('on S3', () => {
    const s3 = mockClient(S3Client);
    afterEach(() => s3.reset());

    it('warn when a PUT is acknowledged without an ETag, naming the endpoint', async () => {
      const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
      s3.on(GetObjectCommand).rejects(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
      s3.on(PutObjectCommand).resolves({ $metadata: { httpStatusCode: 200 } });
      const logger = capture();
      const runtime = new PersistenceRuntime(new S3Persistence<Data, Data, Data>({ filepath: 's3://bucket/bot', client, onFlush: true }), { logger });

      await expect(runtime.run({ updateId: 1, userId: 7 }, counted)).rejects.toThrow(/without an ETag/);

      expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([
        expect.objectContaining({ event: 'unexpected-answer', endpoint: 'http://127.0.0.1:9000', error: expect.stringContaining('without an ETag') }),
      ]);
    });
  });
});

/** The required fields of CloudWatch's embedded metric format, as its specification states them. */
function emfViolations(document: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const units = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None']);
  const aws = document._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (typeof aws !== 'object' || aws === null) return ['no _aws object'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp)) problems.push('_aws.Timestamp is not milliseconds since the epoch');
  if (!Array.isArray(aws.CloudWatchMetrics)) return [...problems, '_aws.CloudWatchMetrics is not an array'];
  for (const directive of aws.CloudWatchMetrics as Array<Record<string, unknown>>) {
    const { Namespace, Dimensions, Metrics } = directive;
    if (typeof Namespace !== 'string' || Namespace.length < 1 || Namespace.length > 255) problems.push('Namespace is not a string of 1 to 255 characters');
    if (!Array.isArray(Dimensions)) problems.push('Dimensions is not an array');
    for (const set of (Dimensions as unknown[]) ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('a DimensionSet is not an array of at most 30 keys');
      for (const key of (set as unknown[]) ?? []) {
        if (typeof key !== 'string' || typeof document[key] !== 'string') problems.push(`dimension ${String(key)} has no string value at the root`);
      }
    }
    if (!Array.isArray(Metrics) || Metrics.length > 100) problems.push('Metrics is not an array of at most 100 definitions');
    for (const metric of (Metrics as Array<Record<string, unknown>>) ?? []) {
      if (typeof metric.Name !== 'string' || metric.Name.length < 1 || metric.Name.length > 255) problems.push('a metric has no Name');
      else if (typeof document[metric.Name] !== 'number') problems.push(`metric ${metric.Name} has no number at the root`);
      if (metric.Unit !== undefined && !units.has(metric.Unit as string)) problems.push(`metric ${String(metric.Name)} has unit ${String(metric.Unit)}`);
    }
  }
  return problems;
}

describe('metrics in CloudWatch embedded metric format', () => {
  const record: UpdateRecord = { event: 'update', updateId: 3, kind: 'message', outcome: 'handled', durationMs: 12.5, gets: 1, notModified: 1, puts: 1, preconditionsLost: 0, conflicts: 0, retries: 0, bytesRead: 0, bytesWritten: 180 };

  it('(the check finds what the specification forbids)', () => {
    expect(emfViolations({})).toEqual(['no _aws object']);
    const broken = emfDocument(record);
    delete (broken as Record<string, unknown>).durationMs;
    delete (broken as Record<string, unknown>).Service;
    expect(emfViolations(broken)).toEqual(['dimension Service has no string value at the root', 'metric durationMs has no number at the root']);
  });

  it('holds every metric the line has, with its unit, under the namespace and dimensions given', () => {
    const document = emfDocument(record, { namespace: 'MyBot', dimensions: { Stage: 'prod', Bot: 'sample' } }, 1_700_000_000_000);
    expect(emfViolations(document)).toEqual([]);
    expect(document).toMatchObject({ ...record, failed: 0, Stage: 'prod', Bot: 'sample' });
    const [directive] = (document._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> }).CloudWatchMetrics;
    expect(directive!.Namespace).toBe('MyBot');
    expect(directive!.Dimensions).toEqual([['Stage', 'Bot']]);
    expect(directive!.Metrics).toEqual([...UPDATE_METRICS.map(({ field, unit }) => ({ Name: field, Unit: unit })), { Name: 'failed', Unit: 'Count' }]);
  });

  it('is the line of each update with metrics: "emf", and counts a failure', async () => {
    const { logger, runtime } = setup({ runtime: { metrics: 'emf' } });
    await runtime.run({ updateId: 1, userId: 7 }, counted);
    await expect(runtime.run({ updateId: 2, userId: 7 }, () => Promise.reject(new Error('no')))).rejects.toThrow();

    const [handled, failed] = updates(logger.lines);
    for (const line of [handled!, failed!]) {
      const { level: _level, ...document } = line;
      expect(emfViolations(document)).toEqual([]);
    }
    expect(handled).toMatchObject({ failed: 0, Service: 'telegram-bot' });
    expect(failed).toMatchObject({ failed: 1, outcome: 'failed' });
  });
});

describe('the sample bot logs', () => {
  const TOKEN = '7000001:AAHsecretPartOfTheToken_xyz';
  const USER_TEXT = 'my private note 8c1f';

  it('one line per update, and never its token or what users wrote', async () => {
    const lines: string[] = [];
    const logger = jsonLogger({ out: (line) => lines.push(line), err: (line) => lines.push(line) });
    const store = new S3Persistence<UserData, ChatData, BotData>({ filepath: 's3://bucket/bot', store: new ControlledStore(), onFlush: true });
    const bot = createBot({ token: TOKEN, botInfo, store, log: { logger, metrics: 'emf' } });
    store.setBot(bot);
    let sent = 0;
    bot.api.config.use(async (_prev, method, payload) => {
      sent++;
      const buttons = (payload as { reply_markup?: { inline_keyboard?: Array<Array<{ callback_data: string }>> } }).reply_markup;
      if (buttons?.inline_keyboard !== undefined) lastKeyboard = buttons.inline_keyboard[0]![0]!.callback_data;
      return { ok: true, result: method === 'answerCallbackQuery' ? true : { message_id: sent, date: 0, chat: { id: 1, type: 'private' } } } as never;
    });
    let lastKeyboard = '';
    const texts = ['/start', '/count', `/note ${USER_TEXT}`, '/note', '/survey', USER_TEXT, '41', '/menu'];
    let updateId = 1;
    for (const text of texts) await bot.handleUpdate(messageUpdate({ updateId: updateId++, userId: 42, text }) as never);
    await bot.handleUpdate(callbackQueryUpdate({ updateId: updateId++, userId: 42, data: lastKeyboard, messageId: sent }) as never);

    const records = lines.map((line) => JSON.parse(line) as UpdateRecord);
    expect(records.map((record) => [record.event, record.updateId, record.kind, record.outcome])).toEqual([
      ...texts.map((_, index) => ['update', index + 1, 'message', 'handled']),
      ['update', texts.length + 1, 'callback_query', 'handled'],
    ]);
    for (const record of records) expect(record).toMatchObject({ durationMs: expect.any(Number), gets: expect.any(Number), puts: expect.any(Number), bytesWritten: expect.any(Number) });
    const secretPart = TOKEN.split(':')[1]!;
    expect(lines.filter((line) => line.includes(secretPart) || line.includes(USER_TEXT) || line.includes('"41"'))).toEqual([]);
  });
});
