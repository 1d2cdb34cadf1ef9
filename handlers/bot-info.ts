/**
 * The bot's identity without a getMe call on every cold start: `BOT_INFO` when configured,
 * otherwise getMe once, cached in the state bucket beside the snapshot (`<path>.bot-info.json`).
 * On the persistence's own object store, so it works with any S3 client (the AWS SDK, or fetch on Workers).
 */
import { Api } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { PreconditionLostError, type ObjectStore } from '../src/store/object-store.js';
import { parseFilepath } from '../src/snapshot/layout.js';

export interface BotInfoSource {
  store: ObjectStore;
  persistenceUrl: string;
  token: string;
  apiRoot?: string;
}

export async function resolveBotInfo(source: BotInfoSource): Promise<UserFromGetMe> {
  const { path } = parseFilepath(source.persistenceUrl);
  const key = `${path}.bot-info.json`;
  const cached = await source.store.get(key);
  if (cached.status === 'found') {
    try {
      const info = JSON.parse(new TextDecoder().decode(cached.body)) as UserFromGetMe;
      // A cache written for another token (the bot was replaced) is not this bot's identity.
      if (info.id === Number(source.token.split(':')[0])) return info;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  const info = await new Api(source.token, source.apiRoot === undefined ? {} : { apiRoot: source.apiRoot }).getMe();
  const body = new TextEncoder().encode(JSON.stringify(info));
  try {
    await source.store.put(key, body, cached.status === 'found' ? { ifMatch: cached.etag } : { ifNoneMatch: '*' });
  } catch (error) {
    // Another cold start cached it first: that one is as good as ours.
    if (!(error instanceof PreconditionLostError)) throw error;
  }
  return info;
}
