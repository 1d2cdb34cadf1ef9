// The sample bot's choice of S3 client (handlers/setup.ts): S3_CLIENT, and its default by environment.
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/index.js';
import { ConfigError, readConfig } from '../../handlers/config.js';
import { s3ClientOf, setUpBot } from '../../handlers/setup.js';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
const BOT = { BOT_TOKEN: '123456:ABC-test', PERSISTENCE_URL: 's3://bucket/bot/state', S3_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' };

describe('s3ClientOf', () => {
  it('takes S3_CLIENT, in any case, around blanks', () => {
    expect(s3ClientOf({ S3_CLIENT: 'sdk', ...KEYS })).toBe('sdk');
    expect(s3ClientOf({ S3_CLIENT: ' Fetch ' })).toBe('fetch');
  });

  it("unset or blank, is the entry's default: the SDK unless it says fetch", () => {
    expect(s3ClientOf({ ...KEYS })).toBe('sdk');
    expect(s3ClientOf({ ...KEYS }, 'fetch')).toBe('fetch');
    expect(s3ClientOf({ S3_CLIENT: '', ...KEYS }, 'fetch')).toBe('fetch');
    expect(s3ClientOf({ S3_CLIENT: 'sdk' }, 'fetch')).toBe('sdk');
  });

  it('refuses another value with a ConfigError naming the variable', () => {
    expect(() => s3ClientOf({ S3_CLIENT: 'aws' })).toThrow(new ConfigError('S3_CLIENT must be fetch or sdk'));
  });
});

describe('setUpBot', () => {
  it('builds the bot on the client S3_CLIENT names', () => {
    const onFetch = setUpBot(readConfig(BOT), { ...BOT, ...KEYS }, 'fetch');
    expect(onFetch.s3Client).toBe('fetch');
    onFetch.close();
    const onSdk = setUpBot(readConfig(BOT), { ...BOT, ...KEYS, S3_CLIENT: 'sdk' }, 'fetch');
    expect(onSdk.s3Client).toBe('sdk');
    onSdk.close();
  });

  it('on fetch without the keys, fails with a StorageError that names them', () => {
    expect(() => setUpBot(readConfig(BOT), { ...BOT, S3_CLIENT: 'fetch' })).toThrow(StorageError);
    expect(() => setUpBot(readConfig(BOT), { ...BOT, S3_CLIENT: 'fetch' })).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});
