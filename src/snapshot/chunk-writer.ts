/**
 * Builds a snapshot body in chunks ({@link ChunkedBody}) instead of one array: the bytes encoded
 * anew are copied into staging arrays, and the bytes of unchanged entries go in as views of the
 * object they were read from, where consecutive ones (as they lie in that object) make one view.
 * A rewrite of a large snapshot that changed a few entries is then a few views of the object read
 * plus a few kilobytes, not a second copy of it.
 */
import type { ChunkedBody } from '../store/object-store.js';

/** Size of a staging array; bytes copied in go here until it is full. */
const STAGING_BYTES = 64 * 1024;
/** Bytes that stay unchanged from this size on go in as they are, not copied. */
const KEEP_FROM = 4 * 1024;

export class ChunkWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private staging = new Uint8Array(STAGING_BYTES);
  private used = 0;
  /** The view not yet added: `source[start..end)`, grown while the next bytes follow it in the same source. */
  private source: Uint8Array | undefined;
  private start = 0;
  private end = 0;

  /** Appends a copy of `bytes` (which the caller may overwrite afterwards). */
  copy(bytes: Uint8Array): void {
    this.flushView();
    if (this.used + bytes.length > this.staging.length) {
      this.flushStaging();
      if (bytes.length > this.staging.length) {
        this.push(bytes.slice());
        return;
      }
    }
    this.staging.set(bytes, this.used);
    this.used += bytes.length;
    this.length += bytes.length;
  }

  /** Appends `bytes`, which nobody changes: large ones as they are, small ones copied with their neighbours. */
  keep(bytes: Uint8Array): void {
    if (bytes.length < KEEP_FROM) return this.copy(bytes);
    this.flushView();
    this.flushStaging();
    this.push(bytes);
  }

  /** Appends `source[start..end)` as a view, merged into the view before when that one ends at `start` of the same source. */
  view(source: Uint8Array, start: number, end: number): void {
    if (this.source === source && this.end === start) {
      this.end = end;
    } else {
      this.flushView();
      this.flushStaging();
      this.source = source;
      this.start = start;
      this.end = end;
    }
    this.length += end - start;
  }

  /**
   * Appends `head[0..headLength)` and then `source[start..end)`: one view for both when the head is
   * what `source` holds right before `start` (an entry written where it was read, after its key).
   */
  viewAfter(head: Uint8Array, headLength: number, source: Uint8Array, start: number, end: number): void {
    if (start >= headLength && sameBytes(source, start - headLength, head, headLength)) {
      this.view(source, start - headLength, end);
    } else {
      this.copy(head.subarray(0, headLength));
      this.view(source, start, end);
    }
  }

  /** The body: every byte appended, in order. */
  finish(): ChunkedBody {
    this.flushView();
    this.flushStaging();
    return { length: this.length, chunks: this.chunks };
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private flushView(): void {
    if (this.source === undefined) return;
    this.chunks.push(this.source.subarray(this.start, this.end));
    this.source = undefined;
  }

  private flushStaging(): void {
    if (this.used === 0) return;
    // A staging array little used is copied out and used again, so that each chunk holds little more than its bytes.
    if (this.used < this.staging.length / 2) {
      this.chunks.push(this.staging.slice(0, this.used));
    } else {
      this.chunks.push(this.staging.subarray(0, this.used));
      this.staging = new Uint8Array(STAGING_BYTES);
    }
    this.used = 0;
  }
}

function sameBytes(source: Uint8Array, at: number, head: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (source[at + i] !== head[i]) return false;
  return true;
}

/** Writes a CBOR head (major type `major` << 5, argument `value` < 2^32) at `at` as cbor-x writes it (shortest form); returns the end. */
export function writeHead(target: Uint8Array, at: number, major: number, value: number): number {
  const type = major << 5;
  if (value < 0x18) {
    target[at++] = type | value;
  } else if (value < 0x100) {
    target[at++] = type | 0x18;
    target[at++] = value;
  } else if (value < 0x10000) {
    target[at++] = type | 0x19;
    target[at++] = value >> 8;
    target[at++] = value & 0xff;
  } else {
    target[at++] = type | 0x1a;
    target[at++] = value >>> 24;
    target[at++] = (value >> 16) & 0xff;
    target[at++] = (value >> 8) & 0xff;
    target[at++] = value & 0xff;
  }
  return at;
}

const float64 = new DataView(new ArrayBuffer(8));

/**
 * Writes `value` at `at` as cbor-x encodes a number (integers from -2^32 to 2^32 - 1 in their
 * shortest form, anything else as a float64, this codec using no float32); returns the end. Not
 * for -0, which the codec tags.
 */
export function writeNumber(target: Uint8Array, at: number, value: number): number {
  if (Number.isInteger(value) && value < 0x100000000 && value >= -0x100000000) {
    return value >= 0 ? writeHead(target, at, 0, value) : writeHead(target, at, 1, -1 - value);
  }
  target[at++] = 0xfb;
  float64.setFloat64(0, value);
  for (let i = 0; i < 8; i++) target[at++] = float64.getUint8(i);
  return at;
}
