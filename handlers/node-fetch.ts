/**
 * `fetch` on Node's `http` and `https` modules, for the sample bot's Lambda handler: its S3 requests
 * (the fetch store) and its Bot API calls (grammY) go through it instead of Node's own `fetch`.
 *
 * Why: the first use of Node's `fetch` starts undici (its code, its HTTP parser in WebAssembly and
 * that parser's compiled code), about 10 MB of a small function's memory whatever the snapshot; and
 * the body of a large GET arrives as one new 64 KiB buffer per socket read, which V8 frees only when
 * it collects its young generation, and external memory prompts that late: up to 30 MB of a 40 MB
 * snapshot's read is such garbage at the read's end (bench/README.md, Memory). Here the body's
 * chunks are handed on one at a time as the reader asks for them, and every few MiB of a large body
 * the young generation is collected (a scavenge, under a millisecond), so that the buffers already
 * copied out are freed while the body is still arriving.
 *
 * What it does not do, unlike `fetch`: follow redirects (S3 and the Bot API answer without them),
 * decompress (it asks for none, and refuses an answer sent compressed), or send a stream body of
 * unknown length (it is read first, so that the request has a Content-Length: S3 refuses chunked
 * PUTs). Errors are `fetch`'s: a `TypeError` "fetch failed" with the socket's error as its cause,
 * and the signal's reason when aborted.
 */
import type * as http from 'node:http';
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';

/** How often the young generation is collected while a body is read. */
const COLLECT_EVERY = 4 * 1024 * 1024;

/** Answers whose body is always empty, which `Response` refuses a body for. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

type HttpModule = typeof http;

interface Transport {
  module: HttpModule;
  /** Keeps connections open between requests. */
  keepAlive: Agent;
  /** A connection of its own, for a streamed body (see `nodeFetch`). */
  fresh: Agent;
}

const transports = new Map<string, Transport>();

/** The modules are got when first used, not imported: a built-in imported by the bundle loads at every cold start. */
function transportFor(protocol: string): Transport {
  let transport = transports.get(protocol);
  if (transport === undefined) {
    if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError(`fetch failed: ${protocol} URLs are not supported`);
    const module = process.getBuiltinModule(protocol === 'https:' ? 'node:https' : 'node:http') as HttpModule;
    transport = { module, keepAlive: new module.Agent({ keepAlive: true }), fresh: new module.Agent({ keepAlive: false }) };
    transports.set(protocol, transport);
  }
  return transport;
}

let collectYoung: (() => void) | undefined | null = null;

/**
 * A scavenge of V8's young generation, or `undefined` where it cannot be had. `--expose-gc` set at
 * run time installs `gc` in contexts made after it, not in the running one: the function is taken
 * from a new context, and nothing else sees it.
 */
function youngCollector(): (() => void) | undefined {
  if (collectYoung === null) {
    try {
      process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
      const gc = process.getBuiltinModule('node:vm').runInNewContext('gc') as ((options: { type: 'minor' }) => void) | undefined;
      collectYoung = gc === undefined ? undefined : () => gc({ type: 'minor' });
    } catch {
      collectYoung = undefined;
    }
  }
  return collectYoung;
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** The answer's body as a web stream: one chunk queued at most, the socket paused until it is read. */
function bodyOf(answer: IncomingMessage, size: number | undefined): ReadableStream<Uint8Array> {
  const collect = size !== undefined && size >= COLLECT_EVERY ? youngCollector() : undefined;
  let sinceCollected = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        answer.on('data', (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          sinceCollected += chunk.byteLength;
          if (collect !== undefined && sinceCollected >= COLLECT_EVERY) {
            sinceCollected = 0;
            collect();
          }
          if ((controller.desiredSize ?? 0) <= 0) answer.pause();
        });
        answer.on('end', () => controller.close());
        answer.on('error', (error) => controller.error(fetchFailed(error)));
      },
      pull() {
        answer.resume();
      },
      cancel() {
        answer.destroy();
      },
    },
    { highWaterMark: 1 },
  );
}

/** The answer's headers, in the order and with the repeats the server sent. */
function headersOf(answer: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i < answer.rawHeaders.length; i += 2) headers.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
  return headers;
}

/** Writes a stream body, waiting for the socket when it is full. */
async function writeStream(request: ClientRequest, body: ReadableStream<Uint8Array>): Promise<void> {
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    if (request.destroyed) return;
    if (!request.write(chunk)) await new Promise((resolve) => request.once('drain', resolve).once('close', resolve));
  }
  request.end();
}

/**
 * `fetch(input, init)` over `node:http` / `node:https`. A body with a Content-Length header is
 * streamed on a connection of its own (it cannot be sent again if a kept-alive connection turns out
 * closed); any other body is read first and sent with its length, and such a request, like one
 * without a body, is sent once more on a new connection when a kept-alive one was reset before
 * answering (a Lambda instance thawed after the server closed it).
 */
export async function nodeFetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const signal = request.signal;
  signal.throwIfAborted();
  const url = new URL(request.url);
  const transport = transportFor(url.protocol);
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  const streamed = request.body !== null && headers['content-length'] !== undefined;
  let bytes: Uint8Array | undefined;
  if (request.body !== null && !streamed) {
    bytes = new Uint8Array(await request.arrayBuffer());
    headers['content-length'] = String(bytes.byteLength);
  }
  const send = (agent: Agent) =>
    new Promise<Response>((resolve, reject) => {
      const onAbort = () => outgoing.destroy(signal.reason);
      const outgoing = transport.module.request(url, { method: request.method, headers, agent }, (answer) => {
        const status = answer.statusCode ?? 0;
        const responseHeaders = headersOf(answer);
        const encoding = responseHeaders.get('content-encoding');
        if (encoding !== null && encoding !== 'identity') {
          answer.destroy();
          reject(fetchFailed(new Error(`the server sent a body encoded as ${encoding}, which this transport does not decode`)));
          return;
        }
        answer.once('close', () => signal.removeEventListener('abort', onAbort));
        const size = Number(answer.headers['content-length']);
        const empty = request.method === 'HEAD' || NULL_BODY_STATUSES.has(status);
        if (empty) answer.resume();
        try {
          const body = empty ? null : bodyOf(answer, Number.isSafeInteger(size) ? size : undefined);
          resolve(new Response(body, { status, statusText: answer.statusMessage ?? '', headers: responseHeaders }));
        } catch (error) {
          // A status `Response` cannot carry (below 200, above 599).
          answer.destroy();
          reject(fetchFailed(error));
        }
      });
      signal.addEventListener('abort', onAbort, { once: true });
      outgoing.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(signal.reason);
        else if (!streamed && outgoing.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(send(transport.fresh));
        else reject(fetchFailed(error));
      });
      if (streamed) writeStream(outgoing, request.body!).catch((error: unknown) => outgoing.destroy(error as Error));
      else outgoing.end(bytes);
    });
  return send(streamed ? transport.fresh : transport.keepAlive);
}
