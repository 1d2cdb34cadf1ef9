// Shows state kept between invocations: each line is a fresh Node process against the local MinIO
// (started by infra/minio.sh run), reading what the previous processes wrote.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const connection = Object.fromEntries(
  execFileSync('bash', ['infra/minio.sh', 'run'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .map((line) => line.split('=', 2)),
);
const prefix = `demo/run-${Date.now()}`;
// Lambda's nodejs20.x is the target; the SDK's notice about its future Node 22 floor is noise here.
const env = {
  ...process.env,
  ...connection,
  PERSISTENCE_URL: `s3://telegram-bot/${prefix}`,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
console.log(`state: s3://telegram-bot/${prefix} on ${connection.S3_ENDPOINT}\n`);

for (const [userId, text] of [[111, 'milk'], [222, ''], [111, 'eggs'], [111, ''], [222, 'tea']]) {
  execFileSync(process.execPath, ['examples/invocation.mjs', String(userId), text], { cwd: root, env, stdio: 'inherit' });
}
console.log('\nEach process started empty; the counts and notes came from the bucket.');
