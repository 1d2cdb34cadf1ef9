// `check URL` against real servers: MinIO passes (exit 0); moto (ignores If-Match on
// CompleteMultipartUpload) and s3rver (ignores every condition) fail (exit 7). Each run prints its
// table, and leaves no probe object behind.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CheckReport } from '../../src/cli/commands/check.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { runCli } from '../../src/cli/run.js';
import { freshBucket, minioClient } from '../support/minio.js';
import { bucketOn, clientOf, startMoto, startS3rver, type OtherServer } from '../support/other-servers.js';

class Capture {
  text = '';
  write(chunk: string, callback?: (error?: Error | null) => void): boolean {
    this.text += chunk;
    callback?.();
    return true;
  }
}

async function check(client: S3Client, url: string, ...flags: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(['check', url, '--races', '5', ...flags], {
    stdout,
    stderr,
    stdin: (async function* () {})(),
    openClient: () => client,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!);
}

function outcomes(report: CheckReport): Record<string, string> {
  return Object.fromEntries(report.rows.map((row) => [row.check, row.outcome]));
}

const CONDITION_CHECKS = [
  'create-only PUT (If-None-Match: *)',
  'If-Match PUT, current ETag',
  'If-Match PUT, stale ETag',
  'If-Match PUT, missing key',
  'conditional GET (If-None-Match: ETag)',
  'multipart, If-None-Match: * on an existing key',
  'multipart, If-Match (stale, then current)',
];

describe('check on MinIO', () => {
  let client: S3Client;
  let bucket: string;
  beforeAll(async () => {
    client = minioClient();
    bucket = await freshBucket('check');
  });
  afterAll(() => client?.destroy());

  it('prints a table where every condition passes, exits 0, and deletes its probe objects', async () => {
    const run = await check(client, `s3://${bucket}/bot/state`);
    console.error(`check on MinIO:\n${run.stdout}`);

    expect(run.code).toBe(ExitCode.OK);
    for (const name of [...CONDITION_CHECKS, 'listing with pagination (2 keys a page)', 'unknown credentials refused']) {
      expect(run.stdout).toMatch(new RegExp(`${name.replace(/[()*]/g, '\\$&')}\\s+pass`));
    }
    expect(run.stdout).toContain('0 fail: the library runs safely on this server.');
    expect(run.stderr).toBe('');
    expect(await keysUnder(client, bucket, 'bot/state')).toEqual([]);
  });

  it('reports the same as JSON', async () => {
    const run = await check(client, `s3://${bucket}/bot/state`, '--json');

    const report = JSON.parse(run.stdout) as CheckReport;
    expect(report).toMatchObject({ endpoint: inject('minio').endpoint, bucket, leftBehind: [] });
    expect(report.prefix).toMatch(/^bot\/state\.check-[0-9a-f]{8}\/$/);
    for (const name of CONDITION_CHECKS) expect(outcomes(report)[name]).toBe('pass');
  });
});

describe('check on s3rver', () => {
  let server: OtherServer;
  let client: S3Client;
  let bucket: string;
  beforeAll(async () => {
    server = await startS3rver();
    client = clientOf(server);
    bucket = await bucketOn(server, 'check');
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('fails every conditional write, exits 7, and deletes its probe objects', async () => {
    const run = await check(client, `s3://${bucket}/bot/state`, '--json');

    expect(run.code).toBe(ExitCode.INCOMPATIBLE);
    const report = JSON.parse(run.stdout) as CheckReport;
    for (const name of CONDITION_CHECKS.filter((name) => !name.includes('current') && !name.includes('GET'))) {
      expect(outcomes(report)[name], name).toBe('fail');
    }
    expect(report.leftBehind).toEqual([]);
    expect(await keysUnder(client, bucket, 'bot/state')).toEqual([]);
  });
});

const moto = await startMoto();
const motoMissing = 'unavailable' in moto ? moto.unavailable : undefined;
if (motoMissing !== undefined) console.error(`skipping check on moto: ${motoMissing}`);

describe.skipIf(motoMissing !== undefined)("check on moto's server", () => {
  let client: S3Client;
  let bucket: string;
  beforeAll(async () => {
    if (!('server' in moto)) return;
    client = clientOf(moto.server);
    bucket = await bucketOn(moto.server, 'check');
  });
  afterAll(async () => {
    client?.destroy();
    if ('server' in moto) await moto.server.stop();
  });

  it('prints a table that fails If-Match on CompleteMultipartUpload, and exits 7', async () => {
    const run = await check(client, `s3://${bucket}/bot/state`);
    console.error(`check on moto:\n${run.stdout}`);

    expect(run.code).toBe(ExitCode.INCOMPATIBLE);
    expect(run.stdout).toMatch(/multipart, If-Match \(stale, then current\)\s+fail\s+stale 200 \(replaced the object\)/);
    expect(run.stdout).toMatch(/create-only PUT \(If-None-Match: \*\)\s+pass/);
    expect(run.stdout).toMatch(/unknown credentials refused\s+warn\s+200: the server accepts any credentials/);
    expect(await keysUnder(client, bucket, 'bot/state')).toEqual([]);
  });
});
