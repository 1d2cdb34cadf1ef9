/**
 * The fetch store's SigV4 signer (src/store/sigv4.ts) against aws4fetch, which the store signed with
 * before: the same Authorization header for the requests the store makes, at a fixed time.
 */
import { AwsClient } from 'aws4fetch';
import { describe, expect, it } from 'vitest';
import { S3Signer } from '../../src/store/sigv4.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const at = new Date('2026-12-06T00:30:15.123Z');
const endpoint = 'http://127.0.0.1:9000/bot-state';

const requests: Array<[string, string, Record<string, string>]> = [
  ['GET', `${endpoint}/prod/bot`, {}],
  ['GET', `${endpoint}/prod/bot`, { 'if-none-match': '"etag-1"' }],
  ['PUT', `${endpoint}/prod/bot`, { 'content-type': 'application/cbor', 'if-match': '"etag-1"', 'content-length': '1048581' }],
  ['PUT', `${endpoint}/prod/claims/42`, { 'content-type': 'application/cbor', 'if-none-match': '*' }],
  ['DELETE', `${endpoint}/a%20b/c%21%27%28%29%2A/%C3%A9t%C3%A9+x`, {}],
  ['GET', `${endpoint}/?list-type=2&prefix=prod%2Fa+b%2A&continuation-token=1%2Fx%3D%3D`, {}],
  ['GET', 'https://bot-state.s3.eu-central-1.amazonaws.com/prod/bot', { 'If-None-Match': '  "spaced   etag"  ' }],
];

async function aws4fetchHeaders(method: string, url: string, headers: Record<string, string>, sessionToken?: string, when = at): Promise<Headers> {
  const client = new AwsClient({ ...credentials, sessionToken, service: 's3', region: 'eu-central-1' });
  const datetime = when.toISOString().replace(/[:-]|\.\d{3}/g, '');
  return (await client.sign(url, { method, headers, aws: { datetime } })).headers;
}

describe('S3Signer', () => {
  it.each(requests)('signs %s %s as aws4fetch does', async (method, url, headers) => {
    const expected = await aws4fetchHeaders(method, url, headers);
    const signed = await new S3Signer(credentials, 'eu-central-1').sign(method, url, headers, at);
    expect(signed.authorization).toBe(expected.get('authorization'));
    expect(signed['x-amz-date']).toBe(expected.get('x-amz-date'));
    expect(signed['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  });

  it('sends and signs the session token, and keeps the signing key for the day only', async () => {
    const signer = new S3Signer({ ...credentials, sessionToken: 'token/+=' }, 'eu-central-1');
    const [method, url, headers] = requests[2]!;
    const signed = await signer.sign(method, url, headers, at);
    const expected = await aws4fetchHeaders(method, url, headers, 'token/+=');
    expect(signed['x-amz-security-token']).toBe('token/+=');
    expect(signed.authorization).toBe(expected.get('authorization'));

    const tomorrow = new Date(at.getTime() + 86_400_000);
    const nextDay = await signer.sign(method, url, headers, tomorrow);
    expect(nextDay.authorization).toContain('/20261207/eu-central-1/s3/aws4_request');
    expect(nextDay.authorization).toBe((await aws4fetchHeaders(method, url, headers, 'token/+=', tomorrow)).get('authorization'));
  });
});
