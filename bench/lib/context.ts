/**
 * What every scenario runs against: the MinIO, one bucket for the run, the request log, and the
 * populations stored once per size and layout, then copied for each scenario that writes.
 */
import { CopyObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createBucket, type MinioConnection } from '../../infra/minio.js';
import { S3Persistence, type LayoutName } from '../../src/index.js';
import { generatePopulation, seedPersistence, toJsonDocument, type Population } from './population.js';
import { meteredClient, plainClient, putObject, RequestLog } from './s3.js';

export class BenchContext {
  readonly log = new RequestLog();
  private readonly setup: S3Client;
  private readonly populations = new Map<number, Population>();
  private readonly seeds = new Map<string, Promise<string>>();
  private counter = 0;

  private constructor(
    readonly connection: MinioConnection,
    readonly bucket: string,
  ) {
    this.setup = plainClient(connection);
  }

  /** A context with a fresh bucket on the MinIO at `connection`. */
  static async open(connection: MinioConnection, bucketPrefix = 'bench'): Promise<BenchContext> {
    const bucket = `${bucketPrefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const context = new BenchContext(connection, bucket);
    await createBucket(context.setup, bucket);
    return context;
  }

  /** A new client whose requests go to {@link log}. One per instance, as separate Lambda containers have. */
  client(): S3Client {
    return meteredClient(this.connection, this.log);
  }

  /** A key path no other call returns, e.g. `steady/3-naive/bot`. */
  path(name: string): string {
    return `${name}/${++this.counter}/bot`;
  }

  /** The population of `users` users (generated once per size). */
  population(users: number): Population {
    let population = this.populations.get(users);
    if (population === undefined) this.populations.set(users, (population = generatePopulation(users)));
    return population;
  }

  /**
   * The path of a snapshot of `users` users in one of PTB's layouts, stored by the library. With
   * `copy`, a private copy for a scenario that writes; otherwise the shared seed, to be read only.
   */
  async snapshot(users: number, layout: Exclude<LayoutName, 'sharded'> = 'single-file', copy?: string): Promise<string> {
    const seed = await this.seed(`snapshot/${users}-${layout}/bot`, async (path) => {
      const persistence = new S3Persistence({ filepath: `s3://${this.bucket}/${path}`, client: this.setup, onFlush: true, layout });
      await seedPersistence(persistence, this.population(users));
    });
    return copy === undefined ? seed : this.copy(seed, this.path(copy));
  }

  /**
   * A new path holding, in the sharded layout, bot data and the entries of the users in `touched`
   * (their data, private chats and surveys): everything the per-update paths read. Storing every
   * entry would take a request each (100k users: minutes) and change nothing those paths do, as
   * they never list; the population size still shows in bot data and in the ids.
   */
  async shardedEntries(users: number, touched: readonly number[], name: string): Promise<string> {
    const path = this.path(name);
    const persistence = new S3Persistence({ filepath: `s3://${this.bucket}/${path}`, client: this.setup, onFlush: true, layout: 'sharded' });
    await seedPersistence(persistence, this.population(users), new Set(touched));
    return path;
  }

  /** The key of the population as one JSON document (the naive peer's and the baseline's object). */
  async jsonDocument(users: number, copy?: string): Promise<string> {
    const seed = await this.seed(`json/${users}/bot.json`, (key) =>
      putObject(this.setup, this.bucket, key, JSON.stringify(toJsonDocument(this.population(users))), 'application/json'),
    );
    return copy === undefined ? seed : this.copy(seed, `${this.path(copy)}.json`);
  }

  /** Copies every object whose key starts with `from` (one, or a layout's several) to the same key under `to`. */
  private async copy(from: string, to: string): Promise<string> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const listing = await this.setup.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: from, ContinuationToken: token }));
      keys.push(...(listing.Contents ?? []).map((object) => object.Key!));
      token = listing.NextContinuationToken;
    } while (token !== undefined);
    await Promise.all(
      keys.map((key) =>
        this.setup.send(
          new CopyObjectCommand({ Bucket: this.bucket, CopySource: `${this.bucket}/${encodeURIComponent(key)}`, Key: to + key.slice(from.length) }),
        ),
      ),
    );
    return to;
  }

  private seed(path: string, store: (path: string) => Promise<void>): Promise<string> {
    let seeded = this.seeds.get(path);
    if (seeded === undefined) this.seeds.set(path, (seeded = store(path).then(() => path)));
    return seeded;
  }

  close(): void {
    this.setup.destroy();
  }
}
