// A single-file snapshot and a sharded state at one filepath on MinIO: the object `bot` and the keys
// `bot/user_data/...`. MinIO holds both, lists the keys under `bot/user_data/` (what the sharded
// layout lists) but not under `bot/`: an in-place migration works both ways and is verified, and
// deleting the sharded source leaves nothing behind.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredState } from '../../src/state/whole-state.js';
import { LayoutCollisionError, migrateLayout, S3Persistence, type LayoutName } from '../../src/index.js';
import { probeNesting } from '../../src/layout-collision.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { freshBucket, minioClient } from '../support/minio.js';

type Data = Record<string, unknown>;

let client: S3Client;
let bucket = '';
let store: S3ObjectStore;
beforeAll(async () => {
  client = minioClient();
  bucket = await freshBucket('layout-collision');
  store = new S3ObjectStore({ client, bucket });
});
afterAll(() => client?.destroy());

/** Every key of the bucket, with its ETag. */
async function contents(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.push(`${object.Key} ${object.ETag}`);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys.sort();
}

const open = (path: string, layout: LayoutName) => new S3Persistence<Data, Data, Data>({ filepath: `s3://${bucket}/${path}`, client, layout, onFlush: true });

async function state(path: string, layout: LayoutName) {
  const persistence = open(path, layout);
  return { users: await persistence.getUserData(), bot: await persistence.getBotData(), survey: await persistence.getConversations('survey') };
}

describe('single-file and sharded at one filepath on MinIO', () => {
  it('migrates in place to sharded and back, verified, deleting every object of the sharded source', async () => {
    const seed = open('bot', 'single-file');
    for (let id = 1; id <= 5; id++) await seed.updateUserData(id, { n: id });
    await seed.updateBotData({ total: 5 });
    await seed.updateConversation('survey', [1, 1], 'AGE');
    await seed.flush();
    const before = await state('bot', 'single-file');

    const there = await migrateLayout({ from: { filepath: `s3://${bucket}/bot`, layout: 'single-file', store }, to: { filepath: `s3://${bucket}/bot`, layout: 'sharded', store } });
    expect(there).toMatchObject({ verified: true, counts: { users: 5, conversationKeys: 1 }, deleted: 0 });
    // Both layouts are stored: the sharded one reads whole beside the snapshot, and so does the CLI's reader.
    expect(await state('bot', 'sharded')).toEqual(before);
    const stored = await readStoredState(store, 'bot', { layout: 'sharded' });
    expect(stored.objects.filter((object) => object.key.startsWith('bot/user_data/') && object.etag !== null)).toHaveLength(5);

    const back = await migrateLayout({
      from: { filepath: `s3://${bucket}/bot`, layout: 'sharded', store },
      to: { filepath: `s3://${bucket}/bot`, layout: 'single-file', store },
      deleteSource: true,
    });
    expect(back).toMatchObject({ verified: true, copied: 0, checksum: there.checksum, deleted: 5 + 1 + 2 });
    const keys = (await contents()).map((line) => line.split(' ')[0]!);
    expect(keys).toEqual(expect.arrayContaining(['bot', 'bot.migration.json']));
    expect(keys.filter((key) => key.startsWith('bot/') || key.includes('migration-probe'))).toEqual([]);
    expect(await state('bot', 'single-file')).toEqual(before);
  });

  it('probes a key under an object and an object over keys under the migration\'s prefix, and leaves nothing', async () => {
    const before = await contents();
    expect(await probeNesting(store, 'probe/bot')).toBeUndefined();
    expect(await contents()).toEqual(before);
  });

  it('refuses a sharded read whose listing is empty beside a single-file snapshot holding users, writing nothing', async () => {
    const ptb = open('ptb/bot', 'single-file');
    await ptb.updateUserData(1, { n: 1 });
    await ptb.flush();
    const before = await contents();
    await expect(open('ptb/bot', 'sharded').getUserData()).rejects.toBeInstanceOf(LayoutCollisionError);
    expect(await contents()).toEqual(before);
  });
});
