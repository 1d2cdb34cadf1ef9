/**
 * The sample bot's configuration, from the environment. Values are never logged; errors name the
 * variable, not its value.
 */
import type { UserFromGetMe } from 'grammy/types';
import { isLayoutName, LAYOUT_NAMES, type LayoutName } from 'telegram-s3-persistence';

export interface BotConfig {
  token: string;
  /** Checked against `X-Telegram-Bot-Api-Secret-Token`. */
  webhookSecret: string | undefined;
  /** `s3://bucket/prefix` of the state. */
  persistenceUrl: string;
  /** `PERSISTENCE_LAYOUT`: single-file (default), multi-file or sharded. */
  layout: LayoutName;
  /** A local fake Bot API in tests; Telegram by default. */
  apiRoot: string | undefined;
  /** The bot's identity from `BOT_INFO` (getMe's JSON), when given. */
  botInfo: UserFromGetMe | undefined;
  /**
   * `UPDATE_CLAIMS`: the lease of update claims in seconds (default 25, the function's timeout in
   * serverless.yml), or `off`. With claims, overlapping deliveries of one update reply once.
   */
  claimLeaseSeconds: number | false;
}

/** Lambda's timeout in serverless.yml: a claim must not outlive the invocation that holds it. */
export const DEFAULT_CLAIM_LEASE_SECONDS = 25;

function claimsOf(value: string | undefined): number | false {
  const setting = value?.trim().toLowerCase() || String(DEFAULT_CLAIM_LEASE_SECONDS);
  if (setting === 'off' || setting === 'false' || setting === '0') return false;
  const seconds = Number(setting);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new ConfigError('UPDATE_CLAIMS must be a number of seconds (the function timeout) or "off"');
  return seconds;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function required(env: NodeJS.ProcessEnv, name: string, example: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(`${name} is not set (e.g. ${example})`);
  return value.trim();
}

function layoutOf(value: string | undefined): LayoutName {
  const layout = value?.trim() || 'single-file';
  if (!isLayoutName(layout)) throw new ConfigError(`PERSISTENCE_LAYOUT must be one of ${LAYOUT_NAMES.join(', ')}`);
  return layout;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const token = required(env, 'BOT_TOKEN', '123456:ABC-DEF from @BotFather');
  if (!/^\d+:[\w-]+$/.test(token)) throw new ConfigError('BOT_TOKEN does not look like a bot token (digits, a colon, then letters)');
  let botInfo: UserFromGetMe | undefined;
  if (env.BOT_INFO !== undefined && env.BOT_INFO.trim() !== '') {
    try {
      botInfo = JSON.parse(env.BOT_INFO) as UserFromGetMe;
    } catch {
      throw new ConfigError('BOT_INFO is not valid JSON: use the "result" of getMe, or leave it unset');
    }
    if (typeof botInfo?.id !== 'number' || typeof botInfo.username !== 'string') {
      throw new ConfigError('BOT_INFO needs at least "id" and "username", as getMe returns them');
    }
  }
  return {
    token,
    webhookSecret: env.WEBHOOK_SECRET?.trim() || undefined,
    persistenceUrl: required(env, 'PERSISTENCE_URL', 's3://my-bot-state/prod/bot'),
    layout: layoutOf(env.PERSISTENCE_LAYOUT),
    apiRoot: env.TELEGRAM_API_ROOT?.trim() || undefined,
    botInfo,
    claimLeaseSeconds: claimsOf(env.UPDATE_CLAIMS),
  };
}

/** Replaces the token and the webhook secret in a text about to be logged. */
export function redact(text: string, config: Pick<BotConfig, 'token' | 'webhookSecret'>): string {
  let safe = text.split(config.token).join('[BOT_TOKEN]');
  if (config.webhookSecret !== undefined) safe = safe.split(config.webhookSecret).join('[WEBHOOK_SECRET]');
  return safe;
}
