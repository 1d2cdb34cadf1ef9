/**
 * The shape of existing S3 session adapters for Telegram frameworks: one JSON object per user,
 * read at the start of an update and written back unconditionally at its end. Nothing is read at a
 * cold start; each update costs a GET and a PUT of its own key.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { touchUser, type UserRecord } from '../lib/population.js';
import { putObject } from '../lib/s3.js';
import type { Peer } from './peer.js';

export class PerKeyJsonPeer implements Peer {
  readonly name = 'per-key JSON (session adapter, unconditional PUT)';

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  /** The object key of one user's session. */
  key(userId: number): string {
    return `${this.prefix}/user/${userId}.json`;
  }

  async load(): Promise<void> {}

  async update(userId: number): Promise<void> {
    const data = (await this.read(userId)) ?? {};
    touchUser(data);
    await this.write(userId, data);
  }

  /** Stores one user's session, as the adapter's `write` does. */
  write(userId: number, data: Partial<UserRecord>): Promise<void> {
    return putObject(this.client, this.bucket, this.key(userId), JSON.stringify(data), 'application/json');
  }

  async settle(): Promise<void> {}

  async storedCounts(userIds: readonly number[]): Promise<Map<number, number>> {
    const counts = await Promise.all(userIds.map(async (id) => [id, (await this.read(id))?.count ?? 0] as const));
    return new Map(counts);
  }

  private async read(userId: number): Promise<Partial<UserRecord> | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(userId) }));
      return JSON.parse(await object.Body!.transformToString()) as Partial<UserRecord>;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}
