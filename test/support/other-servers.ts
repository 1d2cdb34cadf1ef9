// S3-compatible servers other than MinIO, on 127.0.0.1, for the compatibility tests: s3rver (npm,
// a dev dependency, runs in this process) and moto's server (PyPI `moto[server]`, which .ci/run
// installs; a child process). Both ignore some conditional writes, which is what the tests need.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createBucket } from '../../infra/minio.js';

export interface OtherServer {
  name: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** A client for `server`, path-style as for MinIO. */
export function clientOf(server: Pick<OtherServer, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>): S3Client {
  const { endpoint, accessKeyId, secretAccessKey } = server;
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
}

/** Creates a bucket named `name` on `server`. */
export async function bucketOn(server: OtherServer, name: string): Promise<string> {
  const client = clientOf(server);
  try {
    await createBucket(client, name);
  } finally {
    client.destroy();
  }
  return name;
}

/** s3rver 3.7 on a free port, its data in a fresh temporary directory. It ignores every condition. */
export async function startS3rver(): Promise<OtherServer> {
  const directory = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  return {
    name: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    // s3rver's fixed credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Why moto's server could not start (not installed), or the running server. */
export type MotoStart = { server: OtherServer } | { unavailable: string };

/** `moto_server` on a free port; `unavailable` says why when it is not installed. */
export function startMoto(): Promise<MotoStart> {
  return new Promise((resolve) => {
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const settle = (result: MotoStart) => {
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill();
      settle({ unavailable: `moto_server printed no address within 30 s; it said: ${output.slice(-500)}` });
    }, 30_000);
    child.on('error', (error) => {
      settle({ unavailable: `moto_server cannot be run (${error.message}); install it with pip install 'moto[server]'` });
    });
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const address = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (address === null) return;
      child.stdout.removeAllListeners('data');
      child.stderr.removeAllListeners('data');
      // Keep draining its log, so that it never blocks on a full pipe.
      child.stdout.resume();
      child.stderr.resume();
      settle({
        server: {
          name: 'moto',
          endpoint: address[1]!,
          // moto accepts any credentials.
          accessKeyId: 'testing',
          secretAccessKey: 'testing',
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill();
            }),
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}
