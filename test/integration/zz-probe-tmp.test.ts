import { it } from 'vitest';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { freshBucket, minioClient } from '../support/minio.js';
it('probe', async () => {
  const client = minioClient();
  const bucket = await freshBucket('probe');
  const store = new S3ObjectStore({ client, bucket });
  const b = new Uint8Array([1]);
  await store.put('a/b', b, { ifNoneMatch: '*' });
  await store.put('a/b/user_data/00/1', b, { ifNoneMatch: '*' });
  await store.put('a/b/bot_data', b, { ifNoneMatch: '*' });
  const list = async (p: string) => { const out: string[] = []; for await (const k of store.list(p)) out.push(k); return out; };
  for (const p of ['a/', 'a/b', 'a/b/', 'a/b/user_data/', 'a/b/user_data/00/']) console.log('list', p, JSON.stringify(await list(p)));
  await store.put('c/user_data/00/1', b, { ifNoneMatch: '*' });
  try { await store.put('c', b, { ifNoneMatch: '*' }); console.log('object over keys ok'); } catch (e) { console.log('over', e); }
  for (const p of ['c/', 'c/user_data/']) console.log('list', p, JSON.stringify(await list(p)));
});
