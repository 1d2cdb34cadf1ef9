/**
 * `fetch` on Node's `http` and `https` modules, for the sample bot's Lambda handler: its S3 requests
 * (the fetch store) and its Bot API calls (grammY) go through it instead of Node's own `fetch`.
 *
 * Why: the first use of Node's `fetch`, or of its `Request`, `Response` or `Headers`, loads undici
 * (its code alone about 6 MB of a small function's memory, its HTTP parser in WebAssembly more),
 * which none of them is used for here (the fetch store signs without them: src/store/sigv4.ts); and
 * the body of a large GET arrives as one new 64 KiB buffer per socket read, which V8 frees only when
 * it collects its young generation, and external memory prompts that late: up to 30 MB of a 40 MB
 * snapshot's read is such garbage at the read's end (bench/README.md, Memory). Here the body's
 * chunks are handed on one at a time as the reader asks for them, and every few MiB of a large body
 * the young generation is collected (a scavenge, under a millisecond), so that the buffers already
 * copied out are freed while the body is still arriving.
 *
 * What it does not do, unlike `fetch`: take a `Request` (a URL and an init only), follow redirects
 * (S3 and the Bot API answer without them), decompress (it asks for none, and refuses an answer sent
 * compressed), or send a stream body of unknown length (it is read first, so that the request has a
 * Content-Length: S3 refuses chunked PUTs). Its answer is not a `Response` but has what its two
 * callers read of one: `status`, `statusText`, `ok`, `headers.get()` and `has()`, `body` (a web
 * stream), `text()`, `json()` and `arrayBuffer()`. Errors are `fetch`'s: a `TypeError` "fetch
 * failed" with the socket's error as its cause, and the signal's reason when aborted.
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

/** Why `signal` aborted: its reason, or fetch's AbortError where the signal (a polyfill's) gives none. */
function abortReason(signal: AbortSignal): unknown {
  return (signal.reason as unknown) ?? new DOMException('This operation was aborted', 'AbortError');
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

/** An answer's headers: `get` and `has` as `Headers` answer them, names in any case. */
class AnswerHeaders {
  private readonly values = new Map<string, string>();

  constructor(raw: readonly string[]) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const known = this.values.get(name);
      this.values.set(name, known === undefined ? raw[i + 1]! : `${known}, ${raw[i + 1]!}`);
    }
  }

  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.values) callback(value, name);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.values.entries();
  }
}

/** What `nodeFetch` answers: the part of `Response` that the fetch store and grammY read. */
class NodeResponse {
  readonly ok: boolean;
  readonly redirected = false;
  bodyUsed = false;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: AnswerHeaders,
    readonly body: ReadableStream<Uint8Array> | null,
  ) {
    this.ok = status >= 200 && status <= 299;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.bodyUsed = true;
    if (this.body === null) return new ArrayBuffer(0);
    const joined = await readAll(this.body);
    return joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}

const encoder = new TextEncoder();

/** The request's headers as a plain object, names in lower case: from an object, pairs or `Headers`. */
function headersOf(init: RequestInit['headers']): Record<string, string> {
  const pairs: Iterable<readonly [string, string | readonly string[]]> =
    init === undefined || init === null ? [] : Symbol.iterator in init ? (init as Iterable<[string, string]>) : Object.entries(init);
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) headers[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  return headers;
}

/** A body as bytes to send with their length, or the stream to send as it is read. */
async function bodyToSend(body: RequestInit['body']): Promise<Uint8Array | ReadableStream<Uint8Array> | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ReadableStream) return body as ReadableStream<Uint8Array>;
  // A Node stream or an async generator (grammY's Node build sends its multipart bodies so): read whole, sent with its length.
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') return readAll(body as unknown as AsyncIterable<Uint8Array>);
  throw new TypeError('fetch failed: this transport sends strings, bytes and streams only');
}

/** Every chunk of a stream joined. */
async function readAll(stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
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
 * `fetch(url, init)` over `node:http` / `node:https`. A stream body with a Content-Length header is
 * streamed on a connection of its own (it cannot be sent again if a kept-alive connection turns out
 * closed); any other body is sent as bytes with its length, and such a request, like one without a
 * body, is sent once more on a new connection when a kept-alive one was reset before answering (a
 * Lambda instance thawed after the server closed it).
 */
export async function nodeFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('nodeFetch takes a URL, not a Request');
  const signal = init.signal ?? undefined;
  // Not `throwIfAborted()`: grammY's Node build passes the signal of an AbortController polyfill, which has no such method.
  if (signal?.aborted) throw abortReason(signal);
  const url = new URL(input);
  const transport = transportFor(url.protocol);
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = headersOf(init.headers);
  let body = await bodyToSend(init.body);
  const streamed = body instanceof ReadableStream && headers['content-length'] !== undefined;
  if (body instanceof ReadableStream && !streamed) body = await readAll(body);
  if (body instanceof Uint8Array) headers['content-length'] = String(body.byteLength);
  const send = (agent: Agent) =>
    new Promise<Response>((resolve, reject) => {
      const onAbort = () => outgoing.destroy(abortReason(signal!) as Error);
      const outgoing = transport.module.request(url, { method, headers, agent }, (answer) => {
        const status = answer.statusCode ?? 0;
        const answerHeaders = new AnswerHeaders(answer.rawHeaders);
        const encoding = answerHeaders.get('content-encoding');
        if (encoding !== null && encoding !== 'identity') {
          answer.destroy();
          reject(fetchFailed(new Error(`the server sent a body encoded as ${encoding}, which this transport does not decode`)));
          return;
        }
        answer.once('close', () => signal?.removeEventListener('abort', onAbort));
        const size = Number(answer.headers['content-length']);
        const empty = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
        if (empty) answer.resume();
        const answerBody = empty ? null : bodyOf(answer, Number.isSafeInteger(size) ? size : undefined);
        resolve(new NodeResponse(status, answer.statusMessage ?? '', answerHeaders, answerBody) as unknown as Response);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(abortReason(signal));
        else if (!streamed && outgoing.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(send(transport.fresh));
        else reject(fetchFailed(error));
      });
      if (streamed) writeStream(outgoing, body as ReadableStream<Uint8Array>).catch((error: unknown) => outgoing.destroy(error as Error));
      else outgoing.end(body);
    });
  return send(streamed ? transport.fresh : transport.keepAlive);
}
