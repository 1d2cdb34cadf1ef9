/**
 * `check URL`: probes an S3-compatible server for every operation the library relies on, and prints
 * a table of what it honours. Its objects go under `<path>.check-<id>/` and are deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { endpointOf } from '../../store/s3-store.js';
import { count, openTarget, write, type Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** `pass`: as S3 does. `warn`: differs from S3 without risking data. `fail`: the library cannot run safely. */
export type CheckOutcome = 'pass' | 'warn' | 'fail';

export interface CheckRow {
  check: string;
  outcome: CheckOutcome;
  detail: string;
}

/** What `check --json` prints. */
export interface CheckReport {
  endpoint: string;
  bucket: string;
  prefix: string;
  rows: CheckRow[];
  /** Probe objects that could not be deleted. */
  leftBehind: string[];
}

interface Answer {
  status: number | undefined;
  code: string | undefined;
  etag: string | undefined;
}

/** The HTTP status and S3 code of a request, whether it succeeded or failed. */
async function answerOf(request: Promise<{ $metadata: { httpStatusCode?: number }; ETag?: string }>): Promise<Answer> {
  try {
    const response = await request;
    return { status: response.$metadata.httpStatusCode, code: undefined, etag: response.ETag };
  } catch (error) {
    const shape = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (shape.$metadata === undefined) throw error; // no answer at all: the check cannot go on
    return { status: shape.$metadata.httpStatusCode, code: shape.Code ?? shape.name, etag: undefined };
  }
}

const ok = (answer: Answer) => answer.status !== undefined && answer.status >= 200 && answer.status < 300;
const lostCondition = (answer: Answer) =>
  answer.status === 412 || (answer.status === 409 && answer.code === 'ConditionalRequestConflict');
const show = (answer: Answer) => `${answer.status ?? 'no answer'}${answer.code === undefined ? '' : ` ${answer.code}`}`;

/** A client like `client`, with credentials the server cannot know. */
async function strangerOf(client: S3Client): Promise<S3Client> {
  const endpoint = await client.config.endpoint?.();
  return new S3Client({
    region: await client.config.region(),
    forcePathStyle: client.config.forcePathStyle,
    ...(endpoint === undefined ? {} : { endpoint }),
    credentials: { accessKeyId: 'AKIATELEGRAMS3CHECK0', secretAccessKey: 'not-a-secret-key-of-this-server' },
    maxAttempts: 1,
  });
}

type Condition = { IfMatch?: string; IfNoneMatch?: string };

/** Runs every probe against `bucket` under `prefix`; what the server answers, even an error, becomes a row. */
export async function checkServer(client: S3Client, bucket: string, prefix: string, options: { races: number }): Promise<CheckReport> {
  const written = new Set<string>();
  const rows: CheckRow[] = [];
  /** Runs one check; a request that fails unexpectedly fails the check, not the command. */
  const probe = async (check: string, run: () => Promise<[CheckOutcome, string]>) => {
    try {
      const [outcome, detail] = await run();
      rows.push({ check, outcome, detail });
    } catch (error) {
      const shape = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      if (shape.$metadata === undefined) throw error; // no answer at all: the server is not reachable
      rows.push({ check, outcome: 'fail', detail: `${shape.$metadata.httpStatusCode} ${shape.name}: ${shape.message}` });
    }
  };
  const put = (key: string, condition: Condition = {}) => {
    written.add(key);
    return answerOf(client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomUUID(), ...condition })));
  };
  const get = (key: string, ifNoneMatch?: string) =>
    answerOf(client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: ifNoneMatch })));
  /** A multipart upload of one small part, completed with `condition`. */
  const multipart = async (key: string, condition: Condition) => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomUUID() }));
    written.add(key);
    const parts = { Parts: [{ PartNumber: 1, ETag: part.ETag }] };
    const answer = await answerOf(
      client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: parts, ...condition })),
    );
    if (!ok(answer)) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    return answer;
  };

  await probe('create-only PUT (If-None-Match: *)', async () => {
    const created = await put(`${prefix}create-only`, { IfNoneMatch: '*' });
    const again = await put(`${prefix}create-only`, { IfNoneMatch: '*' });
    const detail = `new key ${show(created)}; existing key ${show(again)}${ok(again) ? ': replaced it' : ''}`;
    return [ok(created) && lostCondition(again) ? 'pass' : 'fail', detail];
  });

  const base = await put(`${prefix}if-match`);
  const current = await put(`${prefix}if-match`, { IfMatch: base.etag });
  await probe('If-Match PUT, current ETag', async () => [ok(current) ? 'pass' : 'fail', show(current)]);
  await probe('If-Match PUT, stale ETag', async () => {
    const stale = await put(`${prefix}if-match`, { IfMatch: base.etag });
    return [lostCondition(stale) ? 'pass' : 'fail', `${show(stale)}${ok(stale) ? ': replaced the object' : ''}`];
  });
  await probe('If-Match PUT, missing key', async () => {
    const missing = await put(`${prefix}if-match-missing`, { IfMatch: base.etag ?? '"0"' });
    const refused = lostCondition(missing) || (missing.status === 404 && missing.code === 'NoSuchKey');
    return [refused ? 'pass' : 'fail', `${show(missing)}${ok(missing) ? ': created the object' : ''}`];
  });

  await probe('conditional GET (If-None-Match: ETag)', async () => {
    const latest = await get(`${prefix}if-match`);
    const revalidated = await get(`${prefix}if-match`, latest.etag);
    const changed = await get(`${prefix}if-match`, base.etag);
    const detail = `current ETag ${revalidated.status}; old ETag ${show(changed)}`;
    return [revalidated.status === 304 && changed.status === 200 ? 'pass' : 'fail', detail];
  });

  await probe('multipart, If-None-Match: * on an existing key', async () => {
    const answer = await multipart(`${prefix}create-only`, { IfNoneMatch: '*' });
    return [lostCondition(answer) ? 'pass' : 'fail', `CompleteMultipartUpload ${show(answer)}${ok(answer) ? ': replaced it' : ''}`];
  });
  await probe('multipart, If-Match (stale, then current)', async () => {
    const stale = await multipart(`${prefix}if-match`, { IfMatch: base.etag });
    const latest = await get(`${prefix}if-match`);
    const fresh = await multipart(`${prefix}if-match`, { IfMatch: latest.etag });
    const detail = `stale ${show(stale)}${ok(stale) ? ' (replaced the object)' : ''}; current ${show(fresh)}`;
    return [lostCondition(stale) && ok(fresh) ? 'pass' : 'fail', detail];
  });

  const racers = 4;
  await probe(`racing If-Match PUTs (${options.races} rounds of ${racers})`, async () => {
    let raced = 0;
    let seed = await put(`${prefix}race`);
    for (let round = 0; round < options.races && seed.etag !== undefined; round++) {
      const answers = await Promise.all(Array.from({ length: racers }, () => put(`${prefix}race`, { IfMatch: seed.etag })));
      if (answers.filter(ok).length > 1) raced++;
      seed = answers.find(ok) ?? (await put(`${prefix}race`));
    }
    return raced === 0 ? ['pass', 'one winner each round'] : ['fail', `${count(raced, 'round')} with more than one winner`];
  });

  /** Every key under `under`, `pageSize` a page; and how many pages that took. */
  const listAll = async (under: string, pageSize?: number) => {
    const keys: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: under, MaxKeys: pageSize, ContinuationToken: token }));
      pages++;
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined && pages < 100);
    return { keys, pages };
  };

  await probe('listing with pagination (2 keys a page)', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e'].map((name) => `${prefix}list/${name}`);
    for (const key of keys) await put(key);
    const listed = await listAll(`${prefix}list/`, 2);
    const same = JSON.stringify(listed.keys) === JSON.stringify(keys);
    return [same ? 'pass' : 'fail', `${count(listed.keys.length, 'key')} of 5 in ${count(listed.pages, 'page')}${same ? ', in order' : ''}`];
  });

  // S3 keeps both, and lists both; servers that store objects as files may not.
  await probe('a key under an object, an object over keys', async () => {
    await put(`${prefix}parent`);
    const under = await put(`${prefix}parent/child`);
    await put(`${prefix}directory/child`);
    const over = await put(`${prefix}directory`);
    const notes: string[] = [];
    if (!ok(under) || !ok(over)) notes.push('two layouts at one path collide here (KeyInTheWayError)');
    if (ok(under) && !(await listAll(`${prefix}parent/`)).keys.includes(`${prefix}parent/child`)) {
      notes.push('a listing of parent/ leaves out parent/child');
    }
    return [notes.length === 0 ? 'pass' : 'warn', `${show(under)}; ${show(over)}${notes.length === 0 ? '' : `: ${notes.join('; ')}`}`];
  });

  await probe('unknown credentials refused', async () => {
    const stranger = await strangerOf(client);
    try {
      const answer = await answerOf(stranger.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}if-match` })));
      if (ok(answer)) return ['warn', `${show(answer)}: the server accepts any credentials`];
      return [answer.status === 403 || answer.code === 'XAdminUserNotFound' ? 'pass' : 'warn', show(answer)];
    } finally {
      stranger.destroy();
    }
  });

  const leftBehind: string[] = [];
  for (const key of [...written].sort().reverse()) {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch {
      leftBehind.push(key);
    }
  }
  return { endpoint: await endpointOf(client), bucket, prefix, rows, leftBehind };
}

export const check: Command = {
  name: 'check',
  arguments: ['URL'],
  summary: 'probe the S3 server at URL: does it honour every conditional request the library relies on?',
  description: `Writes probe objects under URL's path + ".check-<id>/" and prints what the server
answers to each operation the library relies on: create-only PUT, If-Match PUT (current,
stale and missing key), conditional GET, listing with pagination, multipart uploads with
both conditions, racing conditional PUTs, a key under an object, unknown credentials.
Deletes its probe objects afterwards (needs s3:DeleteObject; what it cannot delete is
listed). Exits 0 when the library runs safely on the server, 7 when a check failed.`,
  options: {
    json: { type: 'boolean', description: 'print the report as JSON' },
    races: { type: 'string', value: 'N', description: 'rounds of 4 racing If-Match PUTs (default 20)' },
  },
  async run({ args: [url], options }, context) {
    const { bucket, path } = openTarget(url!, context);
    const races = options.races === undefined ? 20 : Number(options.races);
    if (!Number.isInteger(races) || races < 1) throw new CliError(`--races must be a positive integer, not "${String(options.races)}"`, ExitCode.USAGE);
    const report = await checkServer(context.openClient(), bucket, `${path}.check-${randomUUID().slice(0, 8)}/`, { races });
    await write(context.stdout, options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (report.leftBehind.length > 0) {
      await write(context.stderr, `could not delete ${count(report.leftBehind.length, 'probe object')}: ${report.leftBehind.join(', ')}\n`);
    }
    return report.rows.some((row) => row.outcome === 'fail') ? ExitCode.INCOMPATIBLE : ExitCode.OK;
  },
};

function formatReport(report: CheckReport): string {
  const width = Math.max(...report.rows.map((row) => row.check.length));
  const lines = [`S3 server ${report.endpoint}, bucket ${report.bucket}, probe objects under ${report.prefix}`, ''];
  lines.push(`  ${'check'.padEnd(width)}  result  answer`);
  for (const row of report.rows) lines.push(`  ${row.check.padEnd(width)}  ${row.outcome.padEnd(6)}  ${row.detail}`);
  const tally = (outcome: CheckOutcome) => report.rows.filter((row) => row.outcome === outcome).length;
  const verdict =
    tally('fail') === 0
      ? 'the library runs safely on this server.'
      : 'the library cannot run safely on this server (the rows marked fail); where conditional writes are ignored, ' +
        "S3Persistence refuses to write (ConditionalWritesIgnoredError) unless conditionalWrites: 'trust'.";
  lines.push('', `${tally('pass')} pass, ${tally('warn')} warn, ${tally('fail')} fail: ${verdict}`);
  return `${lines.join('\n')}\n`;
}
