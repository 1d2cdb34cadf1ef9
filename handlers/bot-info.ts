/**
 * The bot's identity without a getMe call on every cold start: `BOT_INFO` when configured,
 * otherwise getMe once, cached in the state bucket beside the snapshot (`<path>.bot-info.json`).
 * A cache that does not serve (another bot's identity, unreadable) is warned about: each cold start
 * would call getMe again.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Api } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { parseFilepath } from '../src/snapshot/layout.js';
import { loggerOf, type Logger } from '../src/runtime/logger.js';

export interface BotInfoSource {
  client: S3Client;
  persistenceUrl: string;
  token: string;
  apiRoot?: string;
  /** Where the getMe call and a cache that did not serve are told; default JSON lines, `false`: nowhere. */
  logger?: Logger | false;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export async function resolveBotInfo(source: BotInfoSource): Promise<UserFromGetMe> {
  const { bucket, path } = parseFilepath(source.persistenceUrl);
  const key = `${path}.bot-info.json`;
  const logger = loggerOf(source.logger);
  const location = { bucket, key };
  try {
    const cached = await source.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const info = JSON.parse((await cached.Body?.transformToString()) ?? '') as UserFromGetMe;
    // A cache written for another token (the bot was replaced) is not this bot's identity.
    if (info.id === Number(source.token.split(':')[0])) return info;
    logger.warn({
      event: 'getme-repeated',
      ...location,
      cachedBotId: info.id,
      hint: 'the cached identity is of another bot (the token changed, or two bots share PERSISTENCE_URL): getMe is called and the cache rewritten; set BOT_INFO to skip getMe',
    });
  } catch (error) {
    if (statusOf(error) !== 404 && !(error instanceof SyntaxError)) throw error;
    if (error instanceof SyntaxError) {
      logger.warn({ event: 'getme-repeated', ...location, hint: 'the cached identity is not JSON: getMe is called and the cache rewritten; set BOT_INFO to skip getMe' });
    } else {
      logger.info({ event: 'getme', ...location, reason: 'no cached identity yet: getMe once, then cached' });
    }
  }
  const info = await new Api(source.token, source.apiRoot === undefined ? {} : { apiRoot: source.apiRoot }).getMe();
  await source.client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(info), ContentType: 'application/json' }),
  );
  return info;
}
