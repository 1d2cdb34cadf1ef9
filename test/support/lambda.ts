// Runs the bundled Lambda handler the way Lambda does, in a Node process of its own: a fresh process
// per invocation is a true cold start (nothing in memory, every module evaluated again); a process
// kept for several invocations is a warm container. Used by the end-to-end tests, the measurements
// and the demo.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HttpApiResult } from '../../handlers/webhook.js';

/** The lines the child prints for the parent; anything else on its stdout is the handler's own output. */
const READY_MARK = '@@lambda-ready@@';
const RESULT_MARK = '@@lambda-result@@';

/**
 * The child: imports the bundle (timing it: Lambda's init phase), then reads one event per stdin line,
 * calls `handler(event)` and prints the result on a marked line. When stdin ends it exits at once, as
 * a frozen Lambda container does: work the handler did not await before returning is lost.
 */
const RUNNER = `
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
const print = (mark, value) =>
  new Promise((resolve) => process.stdout.write(mark + ' ' + JSON.stringify(value) + '\\n', resolve));
const importStarted = performance.now();
const { handler } = await import(pathToFileURL(process.argv[1]).href);
await print(${JSON.stringify(READY_MARK)}, { pid: process.pid, initMs: performance.now() - importStarted, node: process.version });
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const started = performance.now();
  try {
    const result = await handler(JSON.parse(line));
    await print(${JSON.stringify(RESULT_MARK)}, { result, invokeMs: performance.now() - started });
  } catch (error) {
    await print(${JSON.stringify(RESULT_MARK)}, { error: String(error?.stack ?? error), invokeMs: performance.now() - started });
  }
}
process.exit(0);
`;

/** One invocation in a fresh process. */
export interface FreshInvocation {
  /** What the handler returned. */
  result: HttpApiResult;
  /** The process's own output (marked lines removed) and its stderr, whole. */
  stdout: string;
  stderr: string;
  /** Importing the bundle, until `handler` was ready to call (Lambda's init phase), in milliseconds. */
  initMs: number;
  /** The handler call, in milliseconds; in a fresh process this includes loading the state. */
  invokeMs: number;
  /** The process that ran it. */
  pid: number;
  /** The Node version that ran it (`process.version` in the process). */
  node: string;
}

/** A Node process holding the imported handler, like a warm Lambda container. */
export interface LambdaInstance {
  readonly pid: number;
  /** Resolves with the import time and the Node version once the bundle is imported; rejects if the process fails before. */
  readonly ready: Promise<{ initMs: number; node: string }>;
  /** Calls the handler with `event` in this process; invocations run one after another. */
  invoke(event: unknown): Promise<{ result: HttpApiResult; invokeMs: number }>;
  /** The process's output so far, marked lines removed. */
  output(): { stdout: string; stderr: string };
  /** Ends the process (stdin closed: it exits when idle) and resolves with all its output; may be called again. */
  close(): Promise<{ stdout: string; stderr: string; exitCode: number | null }>;
}

export interface InstanceOptions {
  /** An invocation, or the import, taking longer than this kills the process; default 60 s. */
  timeoutMs?: number;
  /** The Node executable to run, e.g. Lambda's next runtime from infra/runtimes.mjs; default this process's. */
  node?: string;
}

/**
 * Starts a Node process that imports the bundle at `bundlePath` with exactly `env` (plus `PATH`),
 * ready for {@link LambdaInstance.invoke}.
 *
 * @example
 * const instance = startInstance('.build/webhook.mjs', { BOT_TOKEN: '...', ... });
 * const { result } = await instance.invoke(webhookEvent(update, { secret }));
 * await instance.close();
 */
export function startInstance(bundlePath: string, env: Record<string, string>, options: InstanceOptions = {}): LambdaInstance {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const child = spawn(options.node ?? process.execPath, ['--input-type=module', '-e', RUNNER, bundlePath], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let failure: Error | undefined;
  const pending: Array<{ resolve: (value: { result: HttpApiResult; invokeMs: number }) => void; reject: (error: Error) => void }> = [];
  let resolveReady!: (value: { initMs: number; node: string }) => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<{ initMs: number; node: string }>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined); // observed through invoke() or close() when it matters

  const fail = (error: Error) => {
    failure ??= error;
    rejectReady(failure);
    for (const waiter of pending.splice(0)) waiter.reject(failure);
  };
  const withOutput = (what: string) =>
    new Error(`${what} (pid ${child.pid}, ${bundlePath})\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);

  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fail(withOutput(`no answer within ${timeoutMs} ms: killed`));
      child.kill('SIGKILL');
    }, timeoutMs);
  };
  const disarm = () => clearTimeout(timer);
  arm(); // the import

  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    if (line.startsWith(`${READY_MARK} `)) {
      const { initMs, node } = JSON.parse(line.slice(READY_MARK.length + 1)) as { initMs: number; node: string };
      if (pending.length === 0) disarm();
      resolveReady({ initMs, node });
    } else if (line.startsWith(`${RESULT_MARK} `)) {
      const outcome = JSON.parse(line.slice(RESULT_MARK.length + 1)) as { result?: HttpApiResult; error?: string; invokeMs: number };
      const waiter = pending.shift();
      if (pending.length === 0) disarm();
      else arm();
      if (outcome.error !== undefined) waiter?.reject(withOutput(`the handler threw: ${outcome.error}`));
      else waiter?.resolve({ result: outcome.result!, invokeMs: outcome.invokeMs });
    } else {
      stdout += `${line}\n`;
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      fail(withOutput(`could not start node: ${error.message}`));
      resolve(null);
    });
    // 'close': stdout and stderr are drained too.
    child.on('close', (code) => {
      disarm();
      fail(withOutput(`the process exited with code ${code}`));
      resolve(code);
    });
  });
  child.stdin.on('error', () => undefined); // the process died: 'close' reports it

  return {
    pid: child.pid ?? -1,
    ready,
    invoke(event) {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        arm();
        child.stdin.write(`${JSON.stringify(event)}\n`);
      });
    },
    output: () => ({ stdout, stderr }),
    close() {
      child.stdin.end();
      return exited.then((exitCode) => ({ stdout, stderr, exitCode }));
    },
  };
}

/**
 * Invokes the handler once in a new Node process (a true cold start) and returns what it answered,
 * with the process's whole output.
 *
 * @example
 * const { result, initMs } = await invokeInFreshProcess(bundle, webhookEvent(update, { secret }), env);
 * expect(result.statusCode).toBe(200);
 */
export async function invokeInFreshProcess(
  bundlePath: string,
  event: unknown,
  env: Record<string, string>,
  options: InstanceOptions = {},
): Promise<FreshInvocation> {
  const instance = startInstance(bundlePath, env, options);
  let answer: { result: HttpApiResult; invokeMs: number; initMs: number; node: string };
  try {
    const { result, invokeMs } = await instance.invoke(event);
    answer = { result, invokeMs, ...(await instance.ready) };
  } finally {
    await instance.close();
  }
  const { stdout, stderr, exitCode } = await instance.close();
  if (exitCode !== 0) throw new Error(`pid ${instance.pid} exited with code ${exitCode} after answering\n${stderr}`);
  return { ...answer, stdout, stderr, pid: instance.pid };
}

/** The API Gateway HTTP API (payload format 2.0) event of a webhook call. */
export interface HttpApiV2Event {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body: string;
  isBase64Encoded: boolean;
}

export interface WebhookEventOptions {
  /** Sent as `X-Telegram-Bot-Api-Secret-Token`; no header when undefined. */
  secret?: string | undefined;
  /** The HTTP method; default POST, as Telegram uses. */
  method?: string;
}

let requestCounter = 0;

/**
 * The event API Gateway hands the function when Telegram posts `update` (an object, sent as JSON,
 * or a raw body string, sent as it is) to the webhook. Header names are lowercase, as in payload 2.0.
 *
 * @example
 * webhookEvent(messageUpdate({ updateId: 1, userId: 42, text: '/start' }), { secret: 'hunter2' });
 * webhookEvent('not json', { secret: 'hunter2' });
 */
export function webhookEvent(update: object | string, options: WebhookEventOptions = {}): HttpApiV2Event {
  const body = typeof update === 'string' ? update : JSON.stringify(update);
  const method = options.method ?? 'POST';
  const now = new Date();
  const requestId = `e2e-${process.pid}-${++requestCounter}`;
  const headers: Record<string, string> = {
    accept: '*/*',
    'content-length': String(Buffer.byteLength(body)),
    'content-type': 'application/json',
    host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'x-forwarded-for': '91.108.6.1',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  if (options.secret !== undefined) headers['x-telegram-bot-api-secret-token'] = options.secret;
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: headers.host!,
      http: { method, path: '/webhook', protocol: 'HTTP/1.1', sourceIp: '91.108.6.1', userAgent: '' },
      requestId,
      routeKey: 'POST /webhook',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
}
