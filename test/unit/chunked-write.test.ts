// Writes in chunks (issue 16, memory): a rewrite of a snapshot sends the bytes of unchanged entries as
// views of the object read, not a second copy, and the bytes it sends are exactly encodeSnapshot's.
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore, S3Persistence } from '../../src/index.js';
import { decodeSnapshotLazily, encodeSnapshot, encodeSnapshotChunks } from '../../src/snapshot/codec.js';
import { ChunkWriter } from '../../src/snapshot/chunk-writer.js';
import { joinChunks, type ChunkedBody, type ReadOptions, type ReadResult, type WriteCondition } from '../../src/store/object-store.js';

/** A memory store that keeps the last body it handed out and the last chunked body it was given. */
class ChunkRecordingStore extends MemoryObjectStore {
  lastRead: Uint8Array | undefined;
  lastChunks: ChunkedBody | undefined;

  override async get(key: string, options?: ReadOptions): Promise<ReadResult> {
    const result = await super.get(key, options);
    if (result.status === 'found') this.lastRead = result.body;
    return result;
  }

  override putChunks(key: string, body: ChunkedBody, condition: WriteCondition): Promise<{ etag: string }> {
    this.lastChunks = body;
    return super.putChunks(key, body, condition);
  }
}

const ids = [0, 1, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, 8_000_000_000, -1, -24, -25, -256, -257, -65537, -4294967296, -1_002_345_678_901, 1.5];

/** The body's bytes as a plain Uint8Array (encodeSnapshot's are a Buffer on Node). */
const bytesOf = (body: ChunkedBody) => new Uint8Array(joinChunks(body));

function fields(values: (id: number) => unknown): Map<string, unknown> {
  return new Map<string, unknown>([
    ['user_data', new Map(ids.map((id) => [id, values(id)]))],
    ['chat_data', new Map([[-1_001_234_567_890, { title: 'x'.repeat(5000) }]])],
    ['bot_data', { totalCount: 3 }],
    ['conversations', new Map([['survey', new Map([['[1,1]', 'NAME']])]])],
  ]);
}

describe('encodeSnapshotChunks', () => {
  it('gives exactly the bytes of encodeSnapshot, for fresh values and for entries read before', () => {
    const fresh = fields((id) => ({ id, name: `user ${id}`, tags: ['a', 'b'] }));
    const encoded = encodeSnapshot(fresh);
    expect(bytesOf(encodeSnapshotChunks(fresh))).toEqual(new Uint8Array(encoded));

    const read = decodeSnapshotLazily(encoded);
    expect(bytesOf(encodeSnapshotChunks(read))).toEqual(new Uint8Array(encodeSnapshot(read)));
    (read.get('user_data') as Map<number, unknown>).set(256, { changed: true });
    (read.get('user_data') as Map<number, unknown>).delete(24);
    (read.get('user_data') as Map<number, unknown>).set(77, { added: 'y'.repeat(10_000) });
    expect(bytesOf(encodeSnapshotChunks(read))).toEqual(new Uint8Array(encodeSnapshot(read)));
  });

  it('sends a run of unchanged entries as one view of the bytes read', () => {
    const encoded = encodeSnapshot(fields((id) => ({ id })));
    const read = decodeSnapshotLazily(encoded);
    const body = encodeSnapshotChunks(read);
    const views = body.chunks.filter((chunk) => chunk.buffer === encoded.buffer);
    // One view per lazy section; the rest is the envelope around them.
    expect(views).toHaveLength(2);
    expect(views.reduce((sum, view) => sum + view.length, 0)).toBeGreaterThan(body.length - 200);
  });
});

describe('ChunkWriter', () => {
  it('keeps the order of copies and views, and merges views that follow each other', () => {
    const source = Uint8Array.from({ length: 100 }, (_, i) => i);
    const out = new ChunkWriter();
    out.copy(Uint8Array.of(200));
    out.view(source, 10, 20);
    out.view(source, 20, 30);
    out.copy(Uint8Array.of(201, 202));
    out.viewAfter(Uint8Array.of(40, 41), 2, source, 42, 50);
    out.viewAfter(Uint8Array.of(9, 9), 2, source, 60, 61);
    out.keep(new Uint8Array(5000).fill(7));
    const body = out.finish();
    const expected = [200, ...source.subarray(10, 30), 201, 202, ...source.subarray(40, 50), 9, 9, 60, ...new Uint8Array(5000).fill(7)];
    expect([...joinChunks(body)]).toEqual(expected);
    expect(body.length).toBe(expected.length);
    expect(body.chunks.filter((chunk) => chunk.buffer === source.buffer).map((chunk) => chunk.length)).toEqual([20, 10, 1]);
  });
});

describe('a rewrite of a large snapshot', () => {
  it('holds the unchanged entries as views of the object read, and the store gets exactly the snapshot', async () => {
    const store = new ChunkRecordingStore('bucket');
    const writer = new S3Persistence({ filepath: 's3://bucket/bot', store, onFlush: true });
    for (let id = 1; id <= 2000; id++) await writer.updateUserData(id, { name: `user ${id}`, count: id });
    await writer.flush();

    const reader = new S3Persistence({ filepath: 's3://bucket/bot', store });
    await reader.refreshUserData(1500, {});
    await reader.updateUserData(1500, { name: 'changed', count: 0 });
    const read = store.lastRead!;
    const body = store.lastChunks!;
    const copied = body.chunks.filter((chunk) => chunk.buffer !== read.buffer).reduce((sum, chunk) => sum + chunk.length, 0);
    expect(copied).toBeLessThan(1000);
    expect(body.length).toBeGreaterThan(read.length - 100);

    const data = await new S3Persistence({ filepath: 's3://bucket/bot', store }).getUserData();
    expect(data.size).toBe(2000);
    expect(data.get(1500)).toEqual({ name: 'changed', count: 0 });
    expect(data.get(1499)).toEqual({ name: 'user 1499', count: 1499 });
  });
});
