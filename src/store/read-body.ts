/**
 * Reading a GET's body into one array allocated once from its Content-Length, instead of gathering
 * the chunks and joining them (`arrayBuffer()`, `transformToByteArray()`), which holds a large
 * snapshot twice while it is read.
 */

/** The chunks of a web stream (fetch, Workers) or of an async iterable (a Node stream). */
async function* chunksOf(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!('getReader' in body)) return yield* body;
  const reader = body.getReader();
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) yield read.value;
  } finally {
    // Stops the transfer when the body turned out longer than announced.
    await reader.cancel().catch(() => undefined);
  }
}

/** A BYOB reader of `body`, or `undefined` where the stream is not a byte stream (or the runtime has no BYOB readers). */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: 'byob' });
  } catch {
    return undefined;
  }
}

/** The BYOB reader's window (see `readInto`). */
const WINDOW = 64 * 1024;

/**
 * The body read by a BYOB reader into a small window, each read copied into the array: the stream
 * copies each chunk it receives into the window and keeps none queued. Not into the array itself,
 * though that peaked lower (a standalone 120 MB read: 129 MiB above the floor against 152-154,
 * bench/README.md, Memory): each read transfers the buffer it is given, and Node 20 copies a buffer
 * to transfer it, the whole array at every read (a 120 MB body read in 8-15 s instead of 0.9 s).
 */
async function readInto(reader: ReadableStreamBYOBReader, size: number): Promise<Uint8Array | undefined> {
  const bytes = new Uint8Array(size);
  // Each read transfers the window's buffer; the answer's view holds it again.
  let window = new ArrayBuffer(Math.min(WINDOW, size));
  let at = 0;
  try {
    while (at < size) {
      const read = await reader.read(new Uint8Array(window, 0, Math.min(window.byteLength, size - at)));
      if (read.done || read.value === undefined) return undefined;
      bytes.set(read.value, at);
      at += read.value.byteLength;
      window = read.value.buffer as ArrayBuffer;
    }
    // The body must end here: a longer one is not what its Content-Length said.
    const end = await reader.read(new Uint8Array(window, 0, 1));
    return end.done ? bytes : undefined;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * The body's `size` bytes in one array; `undefined` when the chunks do not add up to exactly `size`
 * (the rest of a longer body is not read).
 */
export async function readBody(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array | undefined> {
  const reader = size > 0 && 'getReader' in body ? byobReader(body) : undefined;
  if (reader !== undefined) return readInto(reader, size);
  const bytes = new Uint8Array(size);
  let at = 0;
  for await (const chunk of chunksOf(body)) {
    if (at + chunk.length > size) return undefined;
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return at === size ? bytes : undefined;
}

/** A Content-Length header's value as a byte count, or `undefined` when it is missing or not one. */
export function contentLength(value: string | number | null | undefined): number | undefined {
  const size = typeof value === 'number' ? value : value === null || value === undefined || value.trim() === '' ? Number.NaN : Number(value);
  return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}
