// A fault-injecting reverse proxy on loopback between an S3 client and MinIO. Point the client's
// endpoint at it: it forwards requests unchanged (the Host header too, so SigV4 signatures still
// verify), and, by a seeded plan or by script, answers some of them with the failures a real
// deployment meets: 500 and 503 SlowDown, a connection reset before the server saw the request, a
// response lost after the server applied it, latency, and requests held until the client times out
// (dropped, delivered late, or applied with the answer withheld).
import { Agent, createServer, request as forward, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seed.js';

/**
 * What the proxy can do to one request.
 * - `pass`: forward it and relay the answer.
 * - `latency`: forward it after a delay (shorter than the client's timeout).
 * - `error500`, `slowDown503`, `preconditionFailed412`, `conflict409`: answer that S3 error itself;
 *   the server never sees the request.
 * - `resetBeforeServer`: close the connection; the server never sees the request.
 * - `lostResponse`: forward it, let the server apply it, then close the connection without an answer.
 * - `timeoutBeforeServer`: hold it until the client gives up; the server never sees it.
 * - `lateDelivery`: hold it until the client gives up, then deliver it to the server anyway.
 * - `timeoutAfterServer`: forward it, let the server apply it, and withhold the answer until the client gives up.
 *
 * The last three wait for the client: give it a request timeout, or they wait for ever.
 */
export type FaultKind =
  | 'pass'
  | 'latency'
  | 'error500'
  | 'slowDown503'
  | 'preconditionFailed412'
  | 'conflict409'
  | 'resetBeforeServer'
  | 'lostResponse'
  | 'timeoutBeforeServer'
  | 'lateDelivery'
  | 'timeoutAfterServer';

/** The faults a request can meet, in the order a plan's rates are laid out. */
export const FAULT_KINDS: readonly Exclude<FaultKind, 'pass'>[] = [
  'latency',
  'error500',
  'slowDown503',
  'preconditionFailed412',
  'conflict409',
  'resetBeforeServer',
  'lostResponse',
  'timeoutBeforeServer',
  'lateDelivery',
  'timeoutAfterServer',
];

/** Which requests a fault applies to. */
export interface RequestMatch {
  /** HTTP method, e.g. `PUT`; any when undefined. */
  method?: string;
}

/** Random faults: each request meets fault `kind` with probability `rates[kind]`, drawn from `seed`. */
export interface FaultPlan {
  seed: number;
  rates: Partial<Record<Exclude<FaultKind, 'pass'>, number>>;
  /** The delay of a `latency` fault, uniform in this range; default [5, 50] ms. */
  latencyMs?: readonly [number, number];
  /** Only these requests meet faults; all when undefined. */
  match?: RequestMatch;
}

/** One request as the proxy handled it. */
export interface ProxiedRequest {
  /** Arrival order, from 1. */
  seq: number;
  method: string;
  /** `/bucket/key` (path style), without the query. */
  path: string;
  /** The query's parameter names, e.g. `uploads`, `partNumber`. */
  query: string[];
  condition: 'If-Match' | 'If-None-Match' | undefined;
  /** The SDK's attempt number of this request (its `amz-sdk-request` header); 1 for a first try. */
  attempt: number | undefined;
  fault: FaultKind;
  /** The HTTP status the server answered, when the request reached it. */
  serverStatus: number | undefined;
  /** The HTTP status the client received; undefined when it received none. */
  clientStatus: number | undefined;
}

/** A scripted fault: the next `times` requests matching `match` meet `fault`. */
export interface ScriptedFault extends RequestMatch {
  fault: Exclude<FaultKind, 'pass'>;
  /** How many matching requests; default 1, `Infinity` for every one. */
  times?: number;
  /**
   * Runs while the request is held at the fault: after the server applied it for `lostResponse` and
   * `timeoutAfterServer`, before the connection closes for the others. Lets a test act at exactly
   * that moment (another writer, a change made while the write is in flight).
   */
  during?: (request: ProxiedRequest) => Promise<void> | void;
}

export interface FaultProxy {
  /** Use as the client's endpoint. */
  readonly endpoint: string;
  /** Every request handled so far, in arrival order. */
  readonly requests: readonly ProxiedRequest[];
  /** Starts random faults by `plan`, or stops them (`null`). Scripted faults go first. */
  setPlan(plan: FaultPlan | null): void;
  /** Queues a scripted fault. */
  inject(fault: ScriptedFault): void;
  /** Drops the scripted faults not yet used up. */
  clearScript(): void;
  /** How many requests met each fault. */
  faultCounts(): Partial<Record<FaultKind, number>>;
  /** Resolves when every request received so far is done with, late deliveries included. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const ERROR_ANSWERS = {
  error500: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  slowDown503: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  preconditionFailed412: { status: 412, code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' },
  conflict409: { status: 409, code: 'ConditionalRequestConflict', message: 'A conflicting conditional operation is currently in progress against this resource.' },
} as const;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.on('close', () => {
      if (!stream.complete) reject(new Error('the connection closed before the whole message arrived'));
    });
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Resolves when the client's connection closes (the client gave up on its request). */
function clientGone(outgoing: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (outgoing.socket === null || outgoing.socket.destroyed) resolve();
    else outgoing.once('close', () => resolve());
  });
}

/**
 * Starts a fault proxy on 127.0.0.1 in front of `target` (e.g. MinIO's `http://127.0.0.1:9000`).
 * Without a plan or a script it forwards everything unchanged.
 *
 * @example
 * const proxy = await startFaultProxy(minio.endpoint);
 * proxy.setPlan({ seed, rates: { slowDown503: 0.05, lostResponse: 0.05 } });
 * proxy.inject({ fault: 'lostResponse', method: 'PUT' }); // deterministic: the next PUT
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  const inFlight = new Set<Promise<void>>();
  let script: Array<ScriptedFault & { left: number }> = [];
  let plan: { plan: FaultPlan; random: () => number } | null = null;

  const matches = (match: RequestMatch, method: string) => match.method === undefined || match.method === method;

  function choose(method: string): { fault: FaultKind; during?: ScriptedFault['during']; latencyMs: number } {
    const scripted = script.find((entry) => entry.left > 0 && matches(entry, method));
    if (scripted !== undefined) {
      scripted.left--;
      script = script.filter((entry) => entry.left > 0);
      return { fault: scripted.fault, during: scripted.during, latencyMs: 20 };
    }
    if (plan === null || !matches(plan.plan.match ?? {}, method)) return { fault: 'pass', latencyMs: 0 };
    const { random } = plan;
    const [low, high] = plan.plan.latencyMs ?? [5, 50];
    const latencyMs = low + random() * (high - low);
    let draw = random();
    for (const kind of FAULT_KINDS) {
      const rate = plan.plan.rates[kind] ?? 0;
      if (draw < rate) return { fault: kind, latencyMs };
      draw -= rate;
    }
    return { fault: 'pass', latencyMs };
  }

  function toServer(incoming: IncomingMessage, body: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const relay = forward(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
        (answer) => {
          readBody(answer).then((answerBody) => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: answerBody }), reject);
        },
      );
      relay.on('error', reject);
      relay.end(body);
    });
  }

  function relay(outgoing: ServerResponse, answer: Answer, record: ProxiedRequest): void {
    if (outgoing.destroyed) return;
    record.clientStatus = answer.status;
    outgoing.writeHead(answer.status, answer.headers);
    outgoing.end(answer.body);
  }

  function answerError(outgoing: ServerResponse, kind: keyof typeof ERROR_ANSWERS, record: ProxiedRequest): void {
    const { status, code, message } = ERROR_ANSWERS[kind];
    const requestId = `fault-proxy-${record.seq}`;
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
      `<Resource>${record.path}</Resource><RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`;
    record.clientStatus = status;
    outgoing.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': String(Buffer.byteLength(body)),
      'x-amz-request-id': requestId,
    });
    outgoing.end(body);
  }

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const body = await readBody(incoming);
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const method = incoming.method ?? '?';
    const attempt = /attempt=(\d+)/.exec(header(incoming.headers, 'amz-sdk-request') ?? '')?.[1];
    const { fault, during, latencyMs } = choose(method);
    const record: ProxiedRequest = {
      seq: requests.length + 1,
      method,
      path: url.pathname,
      query: [...url.searchParams.keys()],
      condition:
        header(incoming.headers, 'if-match') !== undefined
          ? 'If-Match'
          : header(incoming.headers, 'if-none-match') !== undefined
            ? 'If-None-Match'
            : undefined,
      attempt: attempt === undefined ? undefined : Number(attempt),
      fault,
      serverStatus: undefined,
      clientStatus: undefined,
    };
    requests.push(record);
    const viaServer = async () => {
      const answer = await toServer(incoming, body);
      record.serverStatus = answer.status;
      return answer;
    };

    switch (fault) {
      case 'pass':
        relay(outgoing, await viaServer(), record);
        return;
      case 'latency':
        await new Promise((resolve) => setTimeout(resolve, latencyMs)); // the fault itself, not a synchronisation
        await during?.(record);
        relay(outgoing, await viaServer(), record);
        return;
      case 'error500':
      case 'slowDown503':
      case 'preconditionFailed412':
      case 'conflict409':
        await during?.(record);
        answerError(outgoing, fault, record);
        return;
      case 'resetBeforeServer':
        await during?.(record);
        outgoing.destroy();
        return;
      case 'lostResponse':
        await viaServer();
        await during?.(record);
        outgoing.destroy();
        return;
      case 'timeoutBeforeServer':
        await during?.(record);
        await clientGone(outgoing);
        return;
      case 'lateDelivery':
        await during?.(record);
        await clientGone(outgoing);
        await viaServer();
        return;
      case 'timeoutAfterServer':
        await viaServer();
        await during?.(record);
        await clientGone(outgoing);
        return;
    }
  }

  const server = createServer((incoming, outgoing) => {
    const done = handle(incoming, outgoing)
      .catch(() => {
        if (!outgoing.destroyed) outgoing.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const settled = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setPlan(next) {
      plan = next === null ? null : { plan: next, random: seededRandom(next.seed) };
    },
    inject(fault) {
      script.push({ ...fault, left: fault.times ?? 1 });
    },
    clearScript() {
      script = [];
    },
    faultCounts() {
      const counts: Partial<Record<FaultKind, number>> = {};
      for (const { fault } of requests) counts[fault] = (counts[fault] ?? 0) + 1;
      return counts;
    },
    settled,
    async close() {
      server.closeAllConnections();
      await settled();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      agent.destroy();
    },
  };
}
