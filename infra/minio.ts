// A MinIO server on 127.0.0.1 for the tests, driven through infra/minio.sh so that the shell and the
// tests find, build and start it the same way.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { createBucket } from './create-bucket.mjs';

const script = fileURLToPath(new URL('./minio.sh', import.meta.url));

/** What a client needs to reach the server. */
export interface MinioConnection {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: 'us-east-1';
}

export interface RunningMinio extends MinioConnection {
  /** Where the binary came from: `MINIO_BIN`, `PATH`, `cached` or `built` (this call compiled it). */
  source: string;
  /** Stops the server, and removes its directory if `startMinio` made it. */
  stop(): Promise<void>;
}

/**
 * Starts a MinIO server on free loopback ports, storing its data in `dataDir` (a fresh temporary
 * directory by default). The first call on a machine may build MinIO from source, which takes minutes.
 *
 * @example
 * const minio = await startMinio();
 * try { ... } finally { await minio.stop(); }
 */
export async function startMinio(options: { dataDir?: string } = {}): Promise<RunningMinio> {
  let dataDir = options.dataDir;
  let ownDir: string | undefined;
  if (dataDir === undefined) {
    ownDir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-minio-'));
    dataDir = join(ownDir, 'data');
  }
  const removeOwnDir = async () => {
    if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
  };

  let printed: Map<string, string>;
  try {
    printed = parseKeyValues(await runScript(['start', dataDir]));
  } catch (error) {
    await removeOwnDir();
    throw error;
  }
  const value = (key: string): string => {
    const found = printed.get(key);
    if (found === undefined) throw new Error(`infra/minio.sh start printed no ${key}=... line`);
    return found;
  };
  const pidFile = value('MINIO_PID_FILE');
  return {
    endpoint: value('S3_ENDPOINT'),
    accessKeyId: value('AWS_ACCESS_KEY_ID'),
    secretAccessKey: value('AWS_SECRET_ACCESS_KEY'),
    region: 'us-east-1',
    source: value('MINIO_SOURCE'),
    async stop() {
      await runScript(['stop', pidFile]);
      await removeOwnDir();
    },
  };
}

/** Runs minio.sh and resolves with its stdout; its stderr (build progress, errors) goes straight to ours. */
function runScript(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`bash infra/minio.sh ${args.join(' ')} exited with code ${code}; its messages are above`));
    });
  });
}

function parseKeyValues(text: string): Map<string, string> {
  const pairs = text
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, key, value]) => [key, value] as [string, string]);
  return new Map(pairs);
}
