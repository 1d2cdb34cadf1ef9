// A Vercel Function (Node.js runtime, the web signature: a Request in, a Response out) on the
// published package: grammY, its state in S3 through the AWS SDK, Telegram's webhook checked by the
// library's webhook entry. Deploy with the vercel.json beside it: `vercel deploy --prod`. The tests
// install the packed tarball, copy this project into it and serve it with @vercel/node's dev server
// (the one `vercel dev` runs each Node function in) on Node 24 (test/integration/vercel.test.ts).
//
// Environment (the project's settings, the secret ones marked sensitive): BOT_TOKEN, WEBHOOK_SECRET,
// PERSISTENCE_URL (s3://bucket/prefix), S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, and
// optionally S3_ENDPOINT (MinIO, R2), BOT_INFO (getMe's JSON), TELEGRAM_API_ROOT. S3_* as on Netlify:
// Vercel presets AWS_REGION to the function's own region, not the bucket's.
import { S3Client } from '@aws-sdk/client-s3';
import { Bot, type Context } from 'grammy';
import { S3Persistence } from 'telegram-s3-persistence';
import { persistence, type PersistenceFlavor } from 'telegram-s3-persistence/grammy';
import { webhookHandler } from 'telegram-s3-persistence/webhook';

type MyContext = Context & PersistenceFlavor<{ count?: number }>;

const env = process.env;
const client = new S3Client({
  region: env.S3_REGION ?? 'us-east-1',
  credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
  ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT, forcePathStyle: true } : {}),
});
// Module scope: a warm instance keeps the bot and its loaded state between requests.
const store = new S3Persistence({ filepath: env.PERSISTENCE_URL!, client, onFlush: true });
const bot = new Bot<MyContext>(env.BOT_TOKEN!, env.TELEGRAM_API_ROOT ? { client: { apiRoot: env.TELEGRAM_API_ROOT } } : {});
bot.use(persistence(store));
bot.command('count', (ctx) => ctx.reply(String((ctx.userData.count = (ctx.userData.count ?? 0) + 1))));

// Everything an update changed is written before the Response is returned.
// The URL to give setWebhook: https://<project>.vercel.app/api/webhook
export const POST = webhookHandler(bot, store, {
  platform: 'std/http',
  secretToken: env.WEBHOOK_SECRET!,
  botInfo: env.BOT_INFO ? JSON.parse(env.BOT_INFO) : undefined,
});
