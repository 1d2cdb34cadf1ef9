// Registers the deployed function's URL as the bot's webhook, with the secret token that the handler
// checks against X-Telegram-Bot-Api-Secret-Token. Neither the token nor the secret is ever printed.
//
//   BOT_TOKEN=... WEBHOOK_SECRET=... node infra/set-webhook.mjs https://<api-id>.execute-api.<region>.amazonaws.com/webhook
//   npm run set-webhook -- https://.../webhook [--api-root http://127.0.0.1:8081]
//
// --api-root (or TELEGRAM_API_ROOT) points at another Bot API server, e.g. a fake one in tests.
/* global fetch */
import { fileURLToPath } from 'node:url';

/** The updates the sample bot handles; Telegram sends no others. */
const ALLOWED_UPDATES = ['message', 'callback_query'];

const DEFAULT_API_ROOT = 'https://api.telegram.org';
// https://core.telegram.org/bots/api#setwebhook
const WEBHOOK_PORTS = new Set(['443', '80', '88', '8443']);
const USAGE = 'usage: BOT_TOKEN=... WEBHOOK_SECRET=... node infra/set-webhook.mjs https://HOST/webhook [--api-root URL]';

/** A mistake of the caller: printed without a stack trace, exit code 2. */
class UsageError extends Error {
  name = 'UsageError';
}

/** Reads the command line and the environment; throws UsageError naming what is wrong (never a value). */
function parseArguments(argv, env) {
  let webhookUrl;
  let apiRoot = env.TELEGRAM_API_ROOT?.trim() || DEFAULT_API_ROOT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--api-root') {
      apiRoot = argv[++i];
      if (apiRoot === undefined || apiRoot.startsWith('--')) throw new UsageError('--api-root needs a URL');
    } else if (arg.startsWith('--api-root=')) {
      apiRoot = arg.slice('--api-root='.length);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    } else if (webhookUrl === undefined) {
      webhookUrl = arg;
    } else {
      throw new UsageError(`one webhook URL expected, got a second one: ${arg}\n${USAGE}`);
    }
  }
  if (webhookUrl === undefined) throw new UsageError(`the webhook URL is missing\n${USAGE}`);

  let url;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new UsageError(`"${webhookUrl}" is not a URL; expected https://HOST/webhook`);
  }
  if (url.protocol !== 'https:') {
    throw new UsageError(`the webhook URL must start with https:// (Telegram delivers to HTTPS only), got ${url.protocol}//`);
  }
  if (url.port !== '' && !WEBHOOK_PORTS.has(url.port)) {
    throw new UsageError(`Telegram delivers webhooks to ports 443, 80, 88 and 8443 only, not ${url.port}`);
  }
  try {
    new URL(apiRoot);
  } catch {
    throw new UsageError(`the Bot API root "${apiRoot}" is not a URL`);
  }

  const token = env.BOT_TOKEN?.trim();
  if (!token) throw new UsageError('BOT_TOKEN is not set: the token @BotFather gave, e.g. 123456:ABC-DEF');
  if (!/^\d+:[\w-]+$/.test(token)) throw new UsageError('BOT_TOKEN does not look like a bot token (digits, a colon, then letters)');
  const secret = env.WEBHOOK_SECRET?.trim();
  if (!secret) throw new UsageError('WEBHOOK_SECRET is not set: the value the deployed function has, e.g. from `openssl rand -hex 32`');
  // Telegram's rule for secret_token.
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    throw new UsageError('WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -');
  }
  return { webhookUrl: url.href, apiRoot: apiRoot.replace(/\/+$/, ''), token, secret };
}

/** Calls setWebhook; resolves with Telegram's answer, `{ ok, result, description }`. */
async function setWebhook({ webhookUrl, apiRoot, token, secret }) {
  const response = await fetch(`${apiRoot}/bot${token}/setWebhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      url: webhookUrl,
      secret_token: secret,
      allowed_updates: ALLOWED_UPDATES,
      // Updates that arrived while no webhook was set are still delivered.
      drop_pending_updates: false,
    }),
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { ok: false, error_code: response.status, description: `the Bot API answered HTTP ${response.status} with a body that is not JSON` };
  }
}

/** Replaces the token and the secret in a text about to be printed. */
function redact(text, { token, secret }) {
  let safe = text;
  for (const [value, name] of [[token, '[BOT_TOKEN]'], [secret, '[WEBHOOK_SECRET]']]) {
    if (value) safe = safe.split(value).join(name);
  }
  return safe;
}

async function main() {
  let options;
  try {
    options = parseArguments(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`set-webhook: ${error.message}`);
    return 2;
  }
  let answer;
  try {
    answer = await setWebhook(options);
  } catch (error) {
    const cause = error?.cause ? ` (${error.cause.message ?? error.cause})` : '';
    console.error(redact(`set-webhook: could not reach the Bot API at ${options.apiRoot}: ${error.message}${cause}`, options));
    return 1;
  }
  const printed = redact(JSON.stringify(answer), options);
  if (answer.ok !== true) {
    console.error(`set-webhook: Telegram refused the webhook ${options.webhookUrl}: ${printed}`);
    return 1;
  }
  console.log(`set-webhook: ${options.webhookUrl} registered for ${ALLOWED_UPDATES.join(', ')}, with the secret token: ${printed}`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
