/**
 * Codec: encode and decode time and size of the 10k-user snapshot, for the library's codec in the
 * two ways it is used (a load: `decodeSnapshotLazily` decodes the envelope and leaves each user's
 * and chat's entry encoded until it is read; and every entry decoded, `decodeSnapshot`, what
 * `getUserData()` amounts to), cbor-x alone with the same options (what the walks cost), cbor-x with
 * records (a candidate), JSON and v8.serialize. The library's target: decode at least 2x faster than
 * JSON.parse of the same data, at no more than 0.8x its size.
 *
 * Runs in fresh processes, once with cbor-x's native string extractor and once without (the Lambda
 * bundle), each codec's output checked against the data before it is timed.
 */
import { Decoder, Encoder, isNativeAccelerationEnabled } from 'cbor-x';
import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import { MemoryObjectStore, S3Persistence } from '../../src/index.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { decodeSnapshotLazily } from '../../src/snapshot/codec.js';
import { runChild } from '../lib/child-process.js';
import { generatePopulation, SURVEY, toJsonDocument, toSnapshotFields } from '../lib/population.js';
import { now, ratio, summarize, type Summary } from '../lib/stats.js';

export interface CodecTask {
  task: 'codec';
  users: number;
  runs: number;
}

export interface CodecRow {
  codec: string;
  /** For the chart, e.g. `JSON`. */
  short: string;
  bytes: number;
  encodeMs: Summary;
  decodeMs: Summary;
}

export interface CodecMeasurement {
  users: number;
  cborNative: boolean;
  rows: CodecRow[];
  /**
   * The library's load path in memory (no S3): the load (decode of the envelope), then either what
   * the runtime reads for one update (a user's and a chat's entry, decoded and copied) or the
   * copies every `get*` hands out (every entry decoded and copied).
   */
  pipeline: { loadMs: Summary; oneUpdateMs: Summary; copyOutMs: Summary };
}

interface Codec {
  name: string;
  short: string;
  encode(): Uint8Array | string;
  decode(encoded: Uint8Array | string): unknown;
  /** Whether a decoded value is the data that was encoded. */
  faithful(decoded: unknown): boolean;
}

const LIBRARY_CBOR_OPTIONS = { useRecords: false, tagUint8Array: false, pack: false, structuredClone: false } as const;
const WITH_RECORDS = { ...LIBRARY_CBOR_OPTIONS, useRecords: true, useTag259ForMaps: true } as const;

/** Runs in the fresh process. */
export async function measureCodecs(task: CodecTask): Promise<CodecMeasurement> {
  const population = generatePopulation(task.users);
  const fields = toSnapshotFields(population);
  const document = toJsonDocument(population);
  const envelope = { $format: SNAPSHOT_FORMAT, $version: SNAPSHOT_VERSION, ...Object.fromEntries(fields) };
  const sameFields = (decoded: unknown) =>
    isDeepStrictEqual(new Map(Object.entries(decoded as object).filter(([name]) => !name.startsWith('$'))), fields);
  const cbor = (name: string, short: string, options: object): Codec => {
    const encoder = new Encoder(options);
    const decoder = new Decoder({ ...options, mapsAsObjects: true });
    return { name, short, encode: () => encoder.encode(envelope), decode: (bytes) => decoder.decode(bytes as Uint8Array), faithful: sameFields };
  };
  const text = new TextDecoder();
  const loaded = decodeSnapshotLazily(encodeSnapshot(fields));
  const codecs: Codec[] = [
    {
      name: 'library, a load (encodeSnapshot / decodeSnapshotLazily: entries decoded when read)',
      short: 'library (load)',
      encode: () => encodeSnapshot(fields),
      decode: (bytes) => decodeSnapshotLazily(bytes as Uint8Array),
      // Faithful once every entry is read: decodeSnapshot reads them all.
      faithful: (decoded) => isDeepStrictEqual(decodeSnapshot(encodeSnapshot(decoded as Map<string, unknown>)), fields),
    },
    {
      name: 'library, every entry (a rewrite after a load / decodeSnapshot)',
      short: 'library (every entry)',
      encode: () => encodeSnapshot(loaded),
      decode: (bytes) => decodeSnapshot(bytes as Uint8Array),
      faithful: (decoded) => isDeepStrictEqual(decoded, fields),
    },
    cbor('cbor-x alone, the library\'s options (no walks)', 'cbor-x alone', LIBRARY_CBOR_OPTIONS),
    cbor('cbor-x alone, useRecords (candidate)', 'cbor-x useRecords', WITH_RECORDS),
    {
      name: 'JSON.stringify / JSON.parse',
      short: 'JSON',
      encode: () => JSON.stringify(document),
      decode: (json) => JSON.parse(json as string),
      faithful: (decoded) => isDeepStrictEqual(decoded, document),
    },
    {
      name: 'JSON from bytes (UTF-8 decode + JSON.parse)',
      short: 'JSON from bytes',
      encode: () => Buffer.from(JSON.stringify(document)),
      decode: (bytes) => JSON.parse(text.decode(bytes as Uint8Array)),
      faithful: (decoded) => isDeepStrictEqual(decoded, document),
    },
    {
      name: 'v8.serialize / v8.deserialize',
      short: 'v8.serialize',
      encode: () => v8.serialize(fields),
      decode: (bytes) => v8.deserialize(bytes as Uint8Array),
      faithful: (decoded) => isDeepStrictEqual(decoded, fields),
    },
  ];
  const encoded = codecs.map((codec) => {
    const output = codec.encode();
    if (!codec.faithful(codec.decode(output))) throw new Error(`codec "${codec.name}" does not round-trip the population`);
    return output;
  });
  // Round-robin over the codecs, so that a slow moment of the machine lands on all of them alike. No
  // forced GC between runs: a full GC empties V8's compilation cache, which cbor-x's record readers
  // (compiled with new Function per decode) rely on, and no real process collects before each decode.
  const samples = codecs.map(() => ({ encode: [] as number[], decode: [] as number[] }));
  const warmup = Math.min(5, task.runs);
  for (let run = 0; run < warmup + task.runs; run++) {
    codecs.forEach((codec, i) => {
      let started = now();
      codec.encode();
      const encodeMs = now() - started;
      started = now();
      codec.decode(encoded[i]!);
      const decodeMs = now() - started;
      if (run >= warmup) {
        samples[i]!.encode.push(encodeMs);
        samples[i]!.decode.push(decodeMs);
      }
    });
  }
  const rows = codecs.map((codec, i): CodecRow => {
    const output = encoded[i]!;
    return {
      codec: codec.name,
      short: codec.short,
      bytes: typeof output === 'string' ? Buffer.byteLength(output) : output.length,
      encodeMs: summarize(samples[i]!.encode),
      decodeMs: summarize(samples[i]!.decode),
    };
  });
  return { users: task.users, cborNative: isNativeAccelerationEnabled, rows, pipeline: await measurePipeline(encodeSnapshot(fields), task.runs) };
}

/** The library's own load path on an in-memory store: what a cold start does after the GET. */
async function measurePipeline(snapshot: Uint8Array, runs: number): Promise<CodecMeasurement['pipeline']> {
  const store = new MemoryObjectStore('memory');
  await store.put('bot', snapshot, { ifNoneMatch: '*' });
  const userIds = [...(decodeSnapshotLazily(snapshot).get('user_data') as Map<number, unknown>).keys()];
  const chatIds = [...(decodeSnapshotLazily(snapshot).get('chat_data') as Map<number, unknown>).keys()];
  const warmup = Math.min(5, runs);
  const loads: number[] = [];
  const oneUpdate: number[] = [];
  const copies: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const persistence = new S3Persistence({ filepath: 's3://memory/bot', store });
    const started = now();
    await persistence.getBotData();
    const loaded = now();
    // A different user and chat each run, as a fresh instance serves whoever writes first.
    await persistence.refreshUserData(userIds[(i * 7919) % userIds.length]!, {});
    await persistence.refreshChatData(chatIds[(i * 7919) % chatIds.length]!, {});
    const updated = now();
    await Promise.all([persistence.getUserData(), persistence.getChatData(), persistence.getConversations(SURVEY)]);
    if (i >= warmup) {
      loads.push(loaded - started);
      oneUpdate.push(updated - loaded);
      copies.push(now() - updated);
    }
  }
  return { loadMs: summarize(loads), oneUpdateMs: summarize(oneUpdate), copyOutMs: summarize(copies) };
}

export interface CodecResult {
  native: CodecMeasurement;
  lambda: CodecMeasurement;
  /** The library's decode (a load) against JSON.parse and its size against JSON's, per cbor-x build. */
  decodeSpeedupOverJson: { native: number; lambda: number };
  /** The same for a decode of every entry (`decodeSnapshot`). */
  decodeAllSpeedupOverJson: { native: number; lambda: number };
  sizeVersusJson: number;
}

export const CODEC_DEFAULTS = { users: 10_000, runs: 30 };

export async function codec(childScript: string, options = CODEC_DEFAULTS): Promise<CodecResult> {
  const task: CodecTask = { task: 'codec', ...options };
  const native = await runChild<CodecMeasurement>(childScript, task);
  const lambda = await runChild<CodecMeasurement>(childScript, task, { env: { CBOR_NATIVE_ACCELERATION_DISABLED: 'true' } });
  const row = (measurement: CodecMeasurement, prefix: string) => measurement.rows.find((r) => r.codec.startsWith(prefix))!;
  const speedup = (measurement: CodecMeasurement, library = 'library, a load') =>
    ratio(row(measurement, 'JSON.stringify').decodeMs.median, row(measurement, library).decodeMs.median);
  return {
    native,
    lambda,
    decodeSpeedupOverJson: { native: speedup(native), lambda: speedup(lambda) },
    decodeAllSpeedupOverJson: { native: speedup(native, 'library, every entry'), lambda: speedup(lambda, 'library, every entry') },
    sizeVersusJson: ratio(row(native, 'library').bytes, row(native, 'JSON.stringify').bytes),
  };
}
