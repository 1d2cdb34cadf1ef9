// The sample bot (handlers/bot.ts) as a Deno server: `Deno.serve` in front of the library's webhook,
// its state in S3 (or MinIO). Deno imports the package's pure-JavaScript CBOR codec, never
// cbor-extract's native addon (see "Runtimes" in the README).
//
//   BOT_TOKEN=... WEBHOOK_SECRET=... PERSISTENCE_URL=s3://bucket/bot PORT=8080 \
//     deno run --allow-net --allow-env --allow-read --allow-sys --unstable-sloppy-imports examples/deno/server.ts
//
// Environment: BOT_TOKEN, WEBHOOK_SECRET, PERSISTENCE_URL, and optionally BOT_INFO (getMe's JSON),
// S3_ENDPOINT (MinIO), TELEGRAM_API_ROOT, PORT (default 8080; 0 picks a free one), HOSTNAME.
// In a project of your own: from 'telegram-s3-persistence' and 'telegram-s3-persistence/webhook'.
// The tests bundle this file so that it does, and run it on the packed tarball.
import { S3Persistence } from '../../src/index.js';
import { webhookHandler } from '../../src/webhook.js';
import { createBot, mergeConcurrentChanges, type BotContext } from '../../handlers/bot.js';

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen(address: { hostname: string; port: number }): void },
    handler: (request: Request) => Promise<Response>,
  ): unknown;
};

const env = Deno.env.toObject();
const store = new S3Persistence<BotContext['userData'], BotContext['chatData'], BotContext['botData']>({
  filepath: env.PERSISTENCE_URL!,
  onFlush: true,
  merge: mergeConcurrentChanges,
});
const bot = createBot({
  token: env.BOT_TOKEN!,
  store,
  botInfo: env.BOT_INFO ? JSON.parse(env.BOT_INFO) : undefined,
  apiRoot: env.TELEGRAM_API_ROOT || undefined,
});
const handler = webhookHandler(bot, store, { platform: 'std/http', secretToken: env.WEBHOOK_SECRET! });
Deno.serve(
  {
    port: Number(env.PORT ?? 8080),
    hostname: env.HOSTNAME ?? '127.0.0.1',
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
  },
  handler,
);
