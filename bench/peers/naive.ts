/**
 * The naive peer, what most tutorials do: the whole state as one JSON document, read once at a
 * cold start and written back whole with an unconditional PutObject after every update.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { touchUser, type UserRecord } from '../lib/population.js';
import { putObject } from '../lib/s3.js';
import type { Peer } from './peer.js';

interface Document {
  user_data: Record<string, Partial<UserRecord>>;
  [section: string]: unknown;
}

/** Reads the JSON document at `key`; an empty one when there is none. */
export async function readJsonDocument(client: S3Client, bucket: string, key: string): Promise<Document> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await object.Body!.transformToString()) as Document;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return { user_data: {} };
    throw error;
  }
}

export class NaiveJsonPeer implements Peer {
  readonly name = 'naive (whole JSON, unconditional PUT)';
  private document: Document = { user_data: {} };

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {}

  async load(): Promise<void> {
    this.document = await readJsonDocument(this.client, this.bucket, this.key);
  }

  async update(userId: number): Promise<void> {
    touchUser((this.document.user_data[userId] ??= {}));
    await putObject(this.client, this.bucket, this.key, JSON.stringify(this.document), 'application/json');
  }

  async settle(): Promise<void> {}

  async storedCounts(userIds: readonly number[]): Promise<Map<number, number>> {
    const stored = await readJsonDocument(this.client, this.bucket, this.key);
    return new Map(userIds.map((id) => [id, stored.user_data[id]?.count ?? 0]));
  }
}
