/**
 * The bot's identity without a getMe call on every cold start: `BOT_INFO` when configured,
 * otherwise getMe once, cached in the state bucket beside the snapshot (`<path>.bot-info.json`).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Api } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { parseFilepath } from '../src/snapshot/layout.js';

export interface BotInfoSource {
  client: S3Client;
  persistenceUrl: string;
  token: string;
  apiRoot?: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

export async function resolveBotInfo(source: BotInfoSource): Promise<UserFromGetMe> {
  const { bucket, path } = parseFilepath(source.persistenceUrl);
  const key = `${path}.bot-info.json`;
  try {
    const cached = await source.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const info = JSON.parse((await cached.Body?.transformToString()) ?? '') as UserFromGetMe;
    // A cache written for another token (the bot was replaced) is not this bot's identity.
    if (info.id === Number(source.token.split(':')[0])) return info;
  } catch (error) {
    if (statusOf(error) !== 404 && !(error instanceof SyntaxError)) throw error;
  }
  const info = await new Api(source.token, source.apiRoot === undefined ? {} : { apiRoot: source.apiRoot }).getMe();
  await source.client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(info), ContentType: 'application/json' }),
  );
  return info;
}
