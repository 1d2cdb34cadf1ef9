// `npm run demo`: a scripted conversation with the sample bot, every update handled by the bundled
// Lambda handler in a fresh Node process (a true cold start), its state in a local MinIO, its
// replies going to a fake Telegram Bot API on loopback. The transcript shows the counter, the note,
// the survey and the buttons surviving from one process to the next.
//
// Steps: MinIO (infra/minio.sh run), the handler bundle (infra/bundle.mjs), the fake Bot API, then
// the conversation. Each run uses a fresh key prefix, so it can be repeated.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { decodeSnapshot } from '../src/snapshot/codec.js';
import { callbackQueryUpdate, messageUpdate, startFakeBotApi, type RecordedCall, type Update } from '../test/support/fake-bot-api.js';
import { invokeInFreshProcess, webhookEvent } from '../test/support/lambda.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// On Node 20 the AWS SDK rightly warns that its 2027 releases need Node 22 (serverless.yml deploys
// nodejs24.x); in a transcript it is noise, here, in this process and in every child (they inherit
// it, or get it in `env` below).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const USER = { id: 1001, name: 'Ada' };

function run(command: string, args: string[]): string {
  // stderr stays on the terminal: a first run shows MinIO being built.
  return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

console.log('Starting the local MinIO (bash infra/minio.sh run) ...');
const minio = new Map(
  run('bash', ['infra/minio.sh', 'run'])
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, key, value]) => [key!, value!]),
);
const setting = (key: string): string => {
  const value = minio.get(key);
  if (value === undefined) throw new Error(`infra/minio.sh run printed no ${key}=... line`);
  return value;
};

console.log('Bundling the Lambda handler (node infra/bundle.mjs) ...');
const bundle = run(process.execPath, ['infra/bundle.mjs']).trim();

// A made-up token: the fake Bot API accepts it; nothing here talks to Telegram.
const token = '123456789:DEMO-not-a-real-token';
const api = await startFakeBotApi({ token, botInfo: { username: 'persistent_demo_bot', first_name: 'Demo' } });
const bucket = setting('S3_BUCKET');
const prefix = `demo/run-${new Date().toISOString().replace(/[:.]/g, '-')}/bot`;
const secret = randomBytes(16).toString('hex');
const env: Record<string, string> = {
  BOT_TOKEN: token,
  WEBHOOK_SECRET: secret,
  PERSISTENCE_URL: `s3://${bucket}/${prefix}`,
  S3_ENDPOINT: setting('S3_ENDPOINT'),
  AWS_ACCESS_KEY_ID: setting('AWS_ACCESS_KEY_ID'),
  AWS_SECRET_ACCESS_KEY: setting('AWS_SECRET_ACCESS_KEY'),
  AWS_REGION: setting('AWS_REGION'),
  TELEGRAM_API_ROOT: api.apiRoot,
  BOT_INFO: JSON.stringify(api.botInfo),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

console.log(`\nState: s3://${bucket}/${prefix} on ${env.S3_ENDPOINT}`);
console.log(`Bot API: a fake on ${api.apiRoot}\n`);

const indent = (text: string, by: string) => text.split('\n').join(`\n${by}`);
const buttonsOf = (call: RecordedCall) =>
  ((call.payload.reply_markup as { inline_keyboard?: Array<Array<{ text: string; callback_data?: string }>> } | undefined)
    ?.inline_keyboard ?? []).flat();

/** What the bot did through the Bot API, as transcript lines. */
function describeCall(call: RecordedCall): string {
  const said = String(call.payload.text ?? '');
  switch (call.method) {
    case 'sendMessage': {
      const buttons = buttonsOf(call);
      const keyboard = buttons.length === 0 ? '' : `\n${buttons.map((button) => `[${button.text}]`).join(' ')}`;
      return `bot    ◂ ${indent(said + keyboard, '         ')}`;
    }
    case 'editMessageText':
      return `bot    ◂ (edits its message) ${indent(said, '         ')}`;
    case 'answerCallbackQuery':
      return `bot    ◂ (answers the button press${call.payload.text ? `: ${String(call.payload.text)}` : ''})`;
    default:
      return `bot    ◂ (${call.method})`;
  }
}

let updateId = 1;
let seen = 0;
let lastMenu: RecordedCall | undefined;

async function deliver(said: string, update: Update): Promise<void> {
  console.log(`${USER.name.padEnd(6)} ▸ ${said}`);
  const { result, initMs, invokeMs, pid, stderr } = await invokeInFreshProcess(bundle, webhookEvent(update, { secret }), env);
  for (const call of api.calls.slice(seen)) {
    console.log(describeCall(call));
    if (call.method === 'sendMessage' && buttonsOf(call).length > 0) lastMenu = call;
  }
  seen = api.calls.length;
  console.log(`         fresh process pid ${pid}, cold start ${initMs.toFixed(0)} ms, update handled in ${invokeMs.toFixed(0)} ms\n`);
  if (result.statusCode !== 200) {
    console.error(`The handler answered ${result.statusCode} ${result.body}\n${stderr}`);
    process.exit(1);
  }
}

const say = (text: string) =>
  deliver(text, messageUpdate({ updateId: updateId++, userId: USER.id, firstName: USER.name, text }));

try {
  for (const text of ['/start', '/count', '/count', '/note buy milk', '/note', '/stats', '/survey', 'Ada', '36', '/menu']) {
    await say(text);
  }
  const buttons = buttonsOf(lastMenu!);
  const chosen = buttons[1]!;
  const menuMessage = api.messagesIn(USER.id).findLast((message) => message.reply_markup !== undefined)!;
  console.log(`         (Telegram only sees ${chosen.callback_data!.length}-character ids such as ${chosen.callback_data!.slice(0, 12)}…;`);
  console.log('          what each button carries is kept in S3 as callback data)\n');
  await deliver(
    `(presses ${chosen.text})`,
    callbackQueryUpdate({ updateId: updateId++, userId: USER.id, data: chosen.callback_data!, messageId: menuMessage.message_id }),
  );

  const client = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix }));
  const bytes = await object.Body!.transformToByteArray();
  const snapshot = decodeSnapshot(bytes);
  client.destroy();
  const show = (section: string) => JSON.stringify(Object.fromEntries((snapshot.get(section) as Map<unknown, unknown>) ?? []));
  console.log(`The snapshot in MinIO (${bytes.length} bytes of CBOR, s3://${bucket}/${prefix}):`);
  console.log(`  user_data  ${show('user_data')}`);
  console.log(`  chat_data  ${show('chat_data')}`);
  console.log(`  bot_data   ${JSON.stringify(snapshot.get('bot_data'))}`);
  console.log(
    '\nEvery line above was a new Node process that started empty: the count went on from 1 to 2, the note,\n' +
      'the survey\'s name and the button\'s data were written by one process and found by a later one.',
  );
  console.log('MinIO keeps running on its port; stop it with: bash infra/minio.sh stop .minio/minio.pid');
} finally {
  await api.close();
}
