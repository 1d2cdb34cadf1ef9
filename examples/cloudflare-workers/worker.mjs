// A Worker of your own on the published package: grammY, its state in S3 (or R2, MinIO) through
// the fetch store, Telegram's webhook checked by the library's webhook entry. Deploy with the
// wrangler.jsonc beside it: `npx wrangler deploy`. The tests install the packed tarball, build this
// file with that wrangler.jsonc and run it in workerd (test/integration/workers.test.ts).
//
// Vars and secrets: BOT_TOKEN, WEBHOOK_SECRET, PERSISTENCE_URL (s3://bucket/prefix), AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and optionally S3_ENDPOINT (R2, MinIO), BOT_INFO
// (getMe's JSON), TELEGRAM_API_ROOT.
import { Bot } from 'grammy';
import { ConditionalWriteGuard, S3Persistence } from 'telegram-s3-persistence';
import { fetchStoreFromEnvironment } from 'telegram-s3-persistence/fetch-store';
import { persistence } from 'telegram-s3-persistence/grammy';
import { webhookHandler } from 'telegram-s3-persistence/webhook';

/** @type {((request: Request) => Promise<Response>) | undefined} One bot per isolate, set up on its first request. */
let handle;

export default {
  /** @param {Request} request @param {Record<string, string | undefined>} env */
  fetch(request, env) {
    if (handle === undefined) {
      const url = new URL(env.PERSISTENCE_URL); // s3://bucket/path
      const fetchStore = fetchStoreFromEnvironment(url.hostname, env);
      // As S3Persistence does with its default store: first check that the server honours conditional writes.
      const store = new ConditionalWriteGuard({ store: fetchStore, endpoint: fetchStore.endpointUrl, path: url.pathname.slice(1) });
      const state = new S3Persistence({ filepath: env.PERSISTENCE_URL, store });
      const bot = new Bot(env.BOT_TOKEN, env.TELEGRAM_API_ROOT ? { client: { apiRoot: env.TELEGRAM_API_ROOT } } : {});
      bot.use(persistence(state));
      bot.command('count', (ctx) => ctx.reply(String((ctx.userData.count = (ctx.userData.count ?? 0) + 1))));
      const botInfo = env.BOT_INFO ? JSON.parse(env.BOT_INFO) : undefined;
      handle = webhookHandler(bot, state, { platform: 'cloudflare-mod', secretToken: env.WEBHOOK_SECRET, botInfo });
    }
    return handle(request);
  },
};
