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

/**
 * The body's `size` bytes in one array; `undefined` when the chunks do not add up to exactly `size`
 * (the rest of a longer body is not read).
 */
export async function readBody(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array | undefined> {
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
