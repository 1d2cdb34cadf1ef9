/**
 * The sample Lambda handler's `fetch` on node:http (handlers/node-fetch.ts) against a scripted server
 * on 127.0.0.1: what it sends, and answers and errors shaped as `fetch`'s. (FetchObjectStore's own
 * tests run through it too: fetch-store-node-http.test.ts.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../handlers/node-fetch.js';
import { readBody } from '../../src/store/read-body.js';

interface Received {
  method: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The connection's number, in the order the server accepted them. */
  connection: number;
}

type Answer = (response: ServerResponse, request: IncomingMessage) => void;

let answers: Answer[];
let received: Received[];
let server: Server;
let base: string;
let connections = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const connection = (request.socket as { number?: number }).number!;
      received.push({ method: request.method!, headers: request.headers, body: Buffer.concat(chunks), connection });
      (answers.shift() ?? ((answer) => answer.writeHead(599).end()))(response, request);
    });
  });
  server.on('connection', (socket: { number?: number }) => (socket.number = ++connections));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  received = [];
});

const MiB = 2 ** 20;

describe('nodeFetch', () => {
  it("takes what grammY's Node build gives it: a polyfill's signal (no throwIfAborted, no reason) and an async iterable body", async () => {
    const listeners = new Set<() => void>();
    const polyfill = {
      aborted: false,
      addEventListener: (_type: string, listener: () => void) => listeners.add(listener),
      removeEventListener: (_type: string, listener: () => void) => listeners.delete(listener),
    };
    async function* parts(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('--b\r\n');
      yield new TextEncoder().encode('part--b--');
    }
    answers.push((response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const init = { method: 'POST', body: parts() as unknown as RequestInit['body'], signal: polyfill as unknown as AbortSignal };
    const answer = await nodeFetch(`${base}/bot/sendDocument`, init);
    expect(await answer.json()).toEqual({ ok: true });
    expect(received[0]!.body.toString()).toBe('--b\r\npart--b--');
    expect(received[0]!.headers['content-length']).toBe('14');
    const aborted = { ...polyfill, aborted: true };
    await expect(nodeFetch(`${base}/bot/getMe`, { signal: aborted as unknown as AbortSignal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('answers with the status, the headers and the body, which read-body reads into one array', async () => {
    const bytes = Uint8Array.from({ length: 5 * MiB + 3 }, (_, i) => i % 251);
    answers = [(response) => response.writeHead(200, 'Fine', { etag: '"e1"', 'x-two': ['a', 'b'], 'content-length': bytes.length }).end(bytes)];

    const response = await nodeFetch(`${base}/key?x=1`, { headers: { 'if-none-match': '"e0"' } });

    expect([response.status, response.statusText, response.ok]).toEqual([200, 'Fine', true]);
    expect(response.headers.get('etag')).toBe('"e1"');
    expect(response.headers.get('x-two')).toBe('a, b');
    const body = await readBody(response.body!, Number(response.headers.get('content-length')));
    expect(body !== undefined && Buffer.from(body).equals(bytes)).toBe(true);
    expect(received[0]).toMatchObject({ method: 'GET', headers: { 'if-none-match': '"e0"' } });
  });

  it('sends a body of unknown length with its Content-Length, not chunked, and keeps the connection for the next request', async () => {
    answers = [(response) => response.end('{"ok":true}'), (response) => response.end()];

    const response = await nodeFetch(`${base}/bot/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"é"}' });
    expect(await response.json()).toEqual({ ok: true });
    await (await nodeFetch(`${base}/again`)).text();

    expect(received[0]!.body.toString()).toBe('{"text":"é"}');
    expect(received[0]!.headers['content-length']).toBe(String(Buffer.byteLength('{"text":"é"}')));
    expect(received[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(received[1]!.connection).toBe(received[0]!.connection);
  });

  it('streams a body whose Content-Length is given, as it is given', async () => {
    const parts = [new Uint8Array(MiB).fill(1), new Uint8Array(10).fill(2)];
    answers = [(response) => response.writeHead(200, { etag: '"e2"' }).end()];
    let next = 0;
    const body = new ReadableStream<Uint8Array>({ pull: (controller) => (next < parts.length ? controller.enqueue(parts[next++]!) : controller.close()) });

    const response = await nodeFetch(`${base}/key`, { method: 'PUT', headers: { 'content-length': String(MiB + 10) }, body, duplex: 'half' } as RequestInit);

    expect(response.headers.get('etag')).toBe('"e2"');
    expect(received[0]!.body.equals(Buffer.concat(parts))).toBe(true);
    expect(received[0]!.headers['transfer-encoding']).toBeUndefined();
  });

  it('answers a 304 without a body', async () => {
    answers = [(response) => response.writeHead(304, { etag: '"e1"' }).end()];
    const response = await nodeFetch(`${base}/key`);
    expect(response.status).toBe(304);
    expect(response.body).toBeNull();
  });

  it('sends a request again on a new connection when a kept-alive one is reset before answering', async () => {
    answers = [(response) => response.end('first'), (_, request) => request.socket.resetAndDestroy(), (response) => response.end('second')];

    expect(await (await nodeFetch(`${base}/one`)).text()).toBe('first');
    expect(await (await nodeFetch(`${base}/two`, { method: 'POST', body: 'payload' })).text()).toBe('second');

    expect(received.map((request) => request.body.toString())).toEqual(['', 'payload', 'payload']);
    expect(received[1]!.connection).toBe(received[0]!.connection);
    expect(received[2]!.connection).not.toBe(received[1]!.connection);
  });

  it('rejects as fetch does: "fetch failed" with the socket error as its cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const error = await nodeFetch(`http://127.0.0.1:${port}/`).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  });

  it('rejects with the signal reason when aborted before the answer', async () => {
    const controller = new AbortController();
    answers = [() => controller.abort(new Error('timed out'))];
    await expect(nodeFetch(`${base}/slow`, { signal: controller.signal })).rejects.toThrow('timed out');
  });

  it('refuses an answer sent compressed, which it does not decode', async () => {
    answers = [(response) => response.writeHead(200, { 'content-encoding': 'gzip' }).end('not really gzip')];
    await expect(nodeFetch(`${base}/key`)).rejects.toMatchObject({ message: 'fetch failed', cause: { message: expect.stringContaining('gzip') } });
  });
});
