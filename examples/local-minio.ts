// The storage the session examples use: SESSIONS_URL when it is set (e.g. s3://my-bucket/sessions,
// credentials and AWS_REGION from the environment, S3_ENDPOINT for another S3-compatible server),
// otherwise a fresh prefix on the local MinIO of `infra/minio.sh run` (started when it is not up).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function sessionsUrl(example: string): string {
  if (process.env.SESSIONS_URL) return process.env.SESSIONS_URL;
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log('SESSIONS_URL is not set: using the local MinIO (bash infra/minio.sh run) ...');
  // stderr stays on the terminal: a first run shows MinIO being built.
  const output = execFileSync('bash', ['infra/minio.sh', 'run'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const [, key, value] of output.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)) process.env[key!] = value;
  return `s3://${process.env.S3_BUCKET ?? 'telegram-bot'}/examples/${example}-${Date.now().toString(36)}`;
}
