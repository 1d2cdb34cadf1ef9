import { describe, expect, it } from 'vitest';
import { readBody } from '../../src/store/read-body.js';

const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

/** A byte stream sending `data` in chunks of `chunk` bytes, recording whether a BYOB request was open when it was pulled. */
function byteStream(data: Uint8Array, chunk: number) {
  const seen = { byob: 0, default: 0, cancelled: false };
  let at = 0;
  const stream = new ReadableStream({
    type: 'bytes',
    pull(controller: ReadableByteStreamController) {
      if (controller.byobRequest === null) seen.default++;
      else seen.byob++;
      if (at >= data.length) {
        controller.close();
        // A byte stream closed under a pending BYOB read answers it with no bytes (as fetch's body does).
        return controller.byobRequest?.respond(0);
      }
      controller.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

/** A stream that is not a byte stream: no BYOB reader can be had. */
function defaultStream(data: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
  });
}

async function* iterable(data: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += chunk) yield data.slice(at, at + chunk);
}

describe('readBody', () => {
  it('reads a byte stream with a BYOB reader into one array', async () => {
    const { stream, seen } = byteStream(bytes, 64);
    const read = await readBody(stream, bytes.length);
    expect(read).toEqual(bytes);
    expect(seen.byob).toBeGreaterThan(0);
    expect(seen.default).toBe(0);
  });

  it('refuses a byte stream shorter or longer than the size, and stops reading the longer one', async () => {
    expect(await readBody(byteStream(bytes, 64).stream, bytes.length + 1)).toBeUndefined();
    const longer = byteStream(bytes, 64);
    expect(await readBody(longer.stream, bytes.length - 1)).toBeUndefined();
    expect(longer.seen.cancelled).toBe(true);
  });

  it('reads a stream that is not a byte stream with the default reader', async () => {
    expect(await readBody(defaultStream(bytes, 100), bytes.length)).toEqual(bytes);
    expect(await readBody(defaultStream(bytes, 100), bytes.length - 1)).toBeUndefined();
    expect(await readBody(defaultStream(bytes, 100), bytes.length + 1)).toBeUndefined();
  });

  it('reads an async iterable (a Node stream) and an empty body', async () => {
    expect(await readBody(iterable(bytes, 300), bytes.length)).toEqual(bytes);
    expect(await readBody(iterable(bytes, 300), bytes.length + 1)).toBeUndefined();
    expect(await readBody(byteStream(new Uint8Array(0), 1).stream, 0)).toEqual(new Uint8Array(0));
    expect(await readBody(byteStream(bytes, 64).stream, 0)).toBeUndefined();
  });
});
