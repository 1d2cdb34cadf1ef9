/**
 * Whole populations in the sharded layout, for the scale scenario: every user, chat and
 * conversation object, bot data and callback data, stored in a bucket of their own and kept there
 * between runs.
 *
 * The objects are the library's own: an `S3Persistence` in the sharded layout takes the population
 * (updates, then one flush) through its real write path, over an {@link ObjectStore} that sends each
 * object it is given as a plain PutObject (no condition; `flush` keeps `loadConcurrency` of them in
 * flight). So the bodies are byte for byte what the library writes for a first write of each entry,
 * in whatever format the library writes today, with no copy of the format here.
 *
 * A population bucket is named after the population's seed and size, the snapshot format version
 * and a fingerprint of the source files that decide the bytes (the library's snapshot code, the
 * population generator, this file), and holds a marker object written only after every object is
 * stored and the listing counted. A later run that finds the marker reuses the bucket; one that
 * does not (a run stopped half-way, a changed format) stores everything again.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createBucket, type MinioConnection } from '../../infra/minio.js';
import { conversationKey, S3Persistence, type ObjectStore, type ReadResult } from '../../src/index.js';
import { SNAPSHOT_VERSION } from '../../src/snapshot/codec.js';
import { shardedKey } from '../../src/snapshot/layout.js';
import { SNAPSHOT_CONTENT_TYPE } from '../../src/store/s3-store.js';
import { generateCallbackData, seedPersistence, SURVEY, type Population, type UserRecord } from './population.js';
import { now } from './stats.js';

/** The population's seed (`generatePopulation`'s default). */
export const POPULATION_SEED = 20_240_607;
/** The path of the population inside its bucket: the sharded objects are under `bot/`. */
export const POPULATION_PATH = 'bot';
/** Written last: the bucket is complete. */
const MARKER_KEY = 'seeded.json';
/** PutObject requests in flight while seeding. */
const SEED_CONCURRENCY = 64;

/** Files whose content decides the seeded bytes; a change to any of them seeds afresh. */
const FINGERPRINTED = [
  'src/snapshot/codec.ts',
  'src/snapshot/envelope.ts',
  'src/snapshot/lazy-entries.ts',
  'src/snapshot/value-tags.ts',
  'src/snapshot/entries.ts',
  'src/snapshot/layout.ts',
  'src/snapshot/tracked-object.ts',
  'src/snapshot/values.ts',
  'src/s3-persistence.ts',
  'bench/lib/population.ts',
  'bench/lib/scale-store.ts',
  'test/support/seed.ts',
];

const root = new URL('../../', import.meta.url);

/** A short hash of the files in {@link FINGERPRINTED}. */
export async function seedFingerprint(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of FINGERPRINTED) hash.update(file).update(await readFile(new URL(file, root)));
  return hash.digest('hex').slice(0, 10);
}

/** `scale-20240607-100000-v1-0123456789`: seed, size, format version, fingerprint. */
export function populationBucket(users: number, fingerprint: string): string {
  return `scale-${POPULATION_SEED}-${users}-v${SNAPSHOT_VERSION}-${fingerprint}`;
}

/** The number of objects a whole population takes in the sharded layout. */
export function shardedObjectCount(population: Population): number {
  return population.users.length + population.chats.length + population.surveys.length + 2; // + bot_data, callback_data
}

/**
 * An {@link ObjectStore} for seeding an empty bucket: every key reads as absent, and every object
 * the library writes is sent as a plain PutObject with the library's content type.
 */
class SeedingStore implements ObjectStore {
  objects = 0;
  bytes = 0;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async get(): Promise<ReadResult> {
    return { status: 'absent' };
  }

  async put(key: string, body: Uint8Array): Promise<{ etag: string }> {
    const answer = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: SNAPSHOT_CONTENT_TYPE }));
    this.objects++;
    this.bytes += body.byteLength;
    return { etag: answer.ETag ?? '""' };
  }

  async *list(): AsyncIterable<string> {}

  async delete(): Promise<void> {}
}

/** A client with enough sockets for {@link SEED_CONCURRENCY} requests in flight. */
export function seedingClient(connection: MinioConnection): S3Client {
  return new S3Client({
    endpoint: connection.endpoint,
    region: connection.region,
    forcePathStyle: true,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: SEED_CONCURRENCY }) },
  });
}

/**
 * Stores `population` in the sharded layout under `path`, through the library's write path, as
 * plain PutObjects. With `only`, just those users' objects (their data, private chats, surveys)
 * and bot and callback data: the scale scenario puts back the users it wrote in an earlier run.
 */
export async function putSharded(
  client: S3Client,
  bucket: string,
  path: string,
  population: Population,
  only?: ReadonlySet<number>,
): Promise<{ objects: number; bytes: number }> {
  const store = new SeedingStore(client, bucket);
  const persistence = new S3Persistence({ filepath: `s3://${bucket}/${path}`, store, layout: 'sharded', onFlush: true, loadConcurrency: SEED_CONCURRENCY });
  await seedPersistence(persistence, population, only, { callbackData: generateCallbackData(population.users.length, POPULATION_SEED) });
  return { objects: store.objects, bytes: store.bytes };
}

/** Every key of the population in the sharded layout under `path`, by the library's key function. */
export function shardedKeys(path: string, population: Population): Set<string> {
  return new Set([
    ...population.users.map(([id]) => shardedKey(path, { section: 'user_data', id })),
    ...population.chats.map(([id]) => shardedKey(path, { section: 'chat_data', id })),
    ...population.surveys.map(([key]) => shardedKey(path, { section: 'conversations', name: SURVEY, key: conversationKey(key) })),
    shardedKey(path, { section: 'bot_data', property: null }),
    shardedKey(path, { section: 'callback_data' }),
  ]);
}

/** Deletes the objects under the population's path that are not the population's; returns how many. */
export async function removeExtraKeys(client: S3Client, bucket: string, population: Population): Promise<number> {
  const wanted = shardedKeys(POPULATION_PATH, population);
  const extra: string[] = [];
  let token: string | undefined;
  do {
    const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${POPULATION_PATH}/`, ContinuationToken: token }));
    for (const { Key: key } of listing.Contents ?? []) if (key !== undefined && !wanted.has(key)) extra.push(key);
    token = listing.NextContinuationToken;
  } while (token !== undefined);
  for (let i = 0; i < extra.length; i += 1000) {
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: extra.slice(i, i + 1000).map((key) => ({ Key: key })), Quiet: true } }));
  }
  return extra.length;
}

/** Counts the keys under `prefix` with ListObjectsV2. */
export async function countKeys(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    count += listing.KeyCount ?? listing.Contents?.length ?? 0;
    token = listing.NextContinuationToken;
  } while (token !== undefined);
  return count;
}

export interface SeededPopulation {
  users: number;
  bucket: string;
  /** `s3://bucket/bot`, the sharded persistence's filepath. */
  filepath: string;
  /** Objects listed under the path. */
  objects: number;
  /** True when an earlier run's complete bucket was reused. */
  cached: boolean;
  /** Seconds spent storing the objects (this run, or the run that stored them). */
  seedSeconds: number;
  /** Body bytes of the objects stored (this run, or the run that stored them). */
  storedBytes: number;
  /** Seconds spent verifying this run: the listing count and one user read back. */
  verifySeconds: number;
}

interface Marker {
  users: number;
  objects: number;
  bytes: number;
  fingerprint: string;
  seededAt: string;
  seedSeconds: number;
}

async function readMarker(client: S3Client, bucket: string): Promise<Marker | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: MARKER_KEY }));
    return JSON.parse(await object.Body!.transformToString()) as Marker;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    throw error;
  }
}

async function bucketExists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw error;
  }
}

/**
 * The whole population of `population.users.length` users in the sharded layout, in its bucket:
 * reused when an earlier run completed it, stored otherwise. Either way it is verified: the listing
 * counts every object, and a fresh `S3Persistence` in the sharded layout reads one user (the
 * middle one) and bot data back equal to the population's.
 */
export async function ensureShardedPopulation(
  connection: MinioConnection,
  population: Population,
  fingerprint: string,
  log: (line: string) => void = (line) => console.error(line),
): Promise<SeededPopulation> {
  const users = population.users.length;
  const bucket = populationBucket(users, fingerprint);
  const expected = shardedObjectCount(population);
  const client = seedingClient(connection);
  try {
    let marker = (await bucketExists(client, bucket)) ? await readMarker(client, bucket) : undefined;
    let cached = marker !== undefined && marker.fingerprint === fingerprint && marker.objects === expected;
    let verifyStarted = now();
    if (cached) {
      // A run stopped before it tidied up may have left objects the population does not have.
      const extra = await removeExtraKeys(client, bucket, population);
      if (extra > 0) log(`scale: removed ${extra} objects from ${bucket} that the population does not have (left by an earlier run)`);
      if ((await countKeys(client, bucket, `${POPULATION_PATH}/`)) !== expected) {
        log(`scale: ${bucket} has its marker but not ${expected} objects; storing the population again`);
        cached = false;
      }
    }
    if (!cached) {
      await createBucket(client, bucket);
      log(`scale: storing ${expected} objects of the ${users}-user population in ${bucket} (${SEED_CONCURRENCY} PutObjects in flight) ...`);
      const started = now();
      const stored = await putSharded(client, bucket, POPULATION_PATH, population);
      const seedSeconds = Math.round((now() - started) / 100) / 10;
      if (stored.objects !== expected) throw new Error(`scale: the library wrote ${stored.objects} objects for the ${users}-user population, expected ${expected}`);
      verifyStarted = now();
      const listed = await countKeys(client, bucket, `${POPULATION_PATH}/`);
      if (listed !== expected) throw new Error(`scale: ${bucket} lists ${listed} objects after seeding, expected ${expected}`);
      marker = { users, objects: expected, bytes: stored.bytes, fingerprint, seededAt: new Date().toISOString(), seedSeconds };
      // Last: the bucket counts as complete only once every object is stored and listed.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: MARKER_KEY, Body: JSON.stringify(marker), ContentType: 'application/json' }));
      log(`scale: stored ${expected} objects (${(stored.bytes / 1e6).toFixed(1)} MB) in ${seedSeconds} s`);
    }
    const filepath = `s3://${bucket}/${POPULATION_PATH}`;
    await verifyReadBack(client, filepath, population);
    return {
      users,
      bucket,
      filepath,
      objects: expected,
      cached,
      seedSeconds: marker!.seedSeconds,
      storedBytes: marker!.bytes,
      verifySeconds: Math.round((now() - verifyStarted) / 100) / 10,
    };
  } finally {
    client.destroy();
  }
}

/** A fresh sharded persistence reads the middle user and bot data back as the population has them. */
async function verifyReadBack(client: S3Client, filepath: string, population: Population): Promise<void> {
  const persistence = new S3Persistence<Partial<UserRecord>>({ filepath, client, layout: 'sharded' });
  const [id, expected] = population.users[Math.floor(population.users.length / 2)]!;
  const data: Partial<UserRecord> = {};
  await persistence.refreshUserData(id, data);
  if (!isDeepStrictEqual(data, expected)) {
    throw new Error(`scale: user ${id} read back from ${filepath} as ${JSON.stringify(data)}, expected ${JSON.stringify(expected)}`);
  }
  const botData = await persistence.getBotData();
  if (!isDeepStrictEqual(botData, population.botData)) throw new Error(`scale: bot data read back from ${filepath} differs from the population's`);
}

/**
 * Removes buckets an earlier run left: `scale-run-*` (a run's own, normally removed at its end) and
 * population buckets of another fingerprint or format version (stale). MinIO deletes a bucket with
 * its objects when asked with `x-minio-force-delete`.
 */
export async function pruneBuckets(connection: MinioConnection, fingerprint: string, log: (line: string) => void = (line) => console.error(line)): Promise<void> {
  const current = populationBucket(0, fingerprint).replace(/^scale-\d+-0-/, '-');
  const client = seedingClient(connection);
  try {
    const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
    for (const { Name: name } of Buckets) {
      if (name === undefined || !name.startsWith('scale-') || name.endsWith(current)) continue;
      log(`scale: removing ${name}, left by an earlier run`);
      await forceDeleteBucket(client, name);
    }
  } finally {
    client.destroy();
  }
}

/** Deletes `bucket` and everything in it (MinIO's `x-minio-force-delete`). */
export async function forceDeleteBucket(client: S3Client, bucket: string): Promise<void> {
  const command = new DeleteBucketCommand({ Bucket: bucket });
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-minio-force-delete'] = 'true';
      return next(args);
    },
    { step: 'build', name: 'minioForceDelete' },
  );
  await client.send(command);
}
