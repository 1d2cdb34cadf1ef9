/**
 * The sample bot by long polling, for running it on your own machine with a real token: the same
 * bot as the webhook (`createBot`), its state in S3 or a local MinIO, no public URL needed.
 *
 *   export $(bash infra/minio.sh run)   # S3_ENDPOINT, credentials, S3_BUCKET
 *   BOT_TOKEN=123456:ABC... PERSISTENCE_URL=s3://telegram-bot/local/bot npm run bot:polling
 *
 * Telegram refuses getUpdates while a webhook is set, so a webhook set by a deployment is removed
 * first (its pending updates are kept and delivered here). Ctrl-C stops after the update in hand.
 */
import { readConfig, redact, type BotConfig } from './config.js';
import { setUpBot } from './setup.js';

function explain(error: unknown, config: BotConfig): string {
  return redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error), config);
}

async function main(): Promise<void> {
  const config = readConfig();
  // One process takes the updates one by one: no delivery overlaps another, so no claims.
  const { bot, persistence, close } = setUpBot({ ...config, claimLeaseSeconds: false });
  // grammY's default stops polling at the first failed update; log it (redacted) and go on instead.
  bot.catch((error) => console.error(`update ${error.ctx.update.update_id} failed: ${explain(error.error, config)}`));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping after the update in hand`);
    void bot.stop();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  // bot.start() deletes the webhook (keeping its pending updates) before its first getUpdates.
  await bot.start({
    drop_pending_updates: false,
    onStart: (me) => console.log(`@${me.username} is polling; state in ${config.persistenceUrl}. Ctrl-C to stop.`),
  });
  // Every update was flushed before the next getUpdates; this is for changes a failed update left pending.
  await persistence.flush();
  close();
  console.log('stopped');
}

main().catch((error: unknown) => {
  let message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const token = process.env.BOT_TOKEN?.trim();
  if (token) message = message.split(token).join('[BOT_TOKEN]');
  console.error(`polling failed: ${message}`);
  process.exitCode = 1;
});
