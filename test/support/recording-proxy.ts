// A recording reverse proxy on loopback between a client and an S3 endpoint: point the client's
// S3_ENDPOINT at it, and it forwards every request unchanged (the Host header too, so SigV4
// signatures still verify) and records what went by. It counts requests from the outside, so the
// code under measurement carries no instrumentation.
import { createServer, request as forward } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One S3 request as the proxy saw it. */
export interface RecordedRequest {
  method: string;
  /** The path (`/bucket/key` in path style), without the query. */
  path: string;
  status: number;
  /** The precondition the request carried, if any. */
  condition?: 'If-Match' | 'If-None-Match';
}

export interface RecordingProxy {
  /** Use as the client's endpoint (S3_ENDPOINT). */
  readonly endpoint: string;
  /** Every request answered so far, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** The requests answered since the last `take()`. */
  take(): RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 in front of `target` (e.g. MinIO's `http://127.0.0.1:9000`).
 *
 * @example
 * const proxy = await startRecordingProxy(minio.endpoint);
 * // ... run the handler with S3_ENDPOINT=proxy.endpoint ...
 * const puts = proxy.take().filter((r) => r.method === 'PUT').length;
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  let taken = 0;
  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const condition = incoming.headers['if-match'] !== undefined
      ? 'If-Match'
      : incoming.headers['if-none-match'] !== undefined
        ? 'If-None-Match'
        : undefined;
    const relay = forward(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        const status = answer.statusCode ?? 0;
        // Recorded when the answer starts, before the client can act on it.
        requests.push({ method: incoming.method ?? '?', path: url.pathname, status, ...(condition ? { condition } : {}) });
        outgoing.writeHead(status, answer.headers);
        answer.pipe(outgoing);
      },
    );
    relay.on('error', (error) => {
      outgoing.destroy(error);
    });
    incoming.pipe(relay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    take() {
      const fresh = requests.slice(taken);
      taken = requests.length;
      return fresh;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
