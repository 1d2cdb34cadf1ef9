/**
 * AWS Signature Version 4 of S3 requests, as `FetchObjectStore` sends them: the payload unsigned
 * (`UNSIGNED-PAYLOAD`, so that nothing hashes a snapshot before it is sent), the signature in the
 * Authorization header. The same signature as aws4fetch's for S3 (test/unit/sigv4.test.ts compares
 * them), on WebCrypto alone, with the headers as a plain object: no `Request` nor `Headers`, whose
 * first use on Node loads undici (about 6 MB of a small function's memory) even where a request is
 * then sent by other means.
 */

const encoder = new TextEncoder();

/** Headers a proxy or the client may change on the way, left out of the signature (as aws4fetch does). */
const UNSIGNED_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'user-agent', 'presigned-expires', 'expect', 'x-amzn-trace-id', 'range', 'connection']);

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

function hex(buffer: ArrayBuffer): string {
  let out = '';
  for (const byte of new Uint8Array(buffer)) out += (byte < 16 ? '0' : '') + byte.toString(16);
  return out;
}

async function hmac(key: ArrayBuffer | Uint8Array, text: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text));
}

/** encodeURIComponent, and the characters it leaves that SigV4 encodes too. */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The URL's path as S3 signs it: each segment decoded once, then encoded (`/` kept). */
function canonicalPath(pathname: string): string {
  let path: string;
  try {
    path = decodeURIComponent(pathname.replace(/\+/g, ' '));
  } catch {
    path = pathname;
  }
  return encodeRfc3986(path).replace(/%2F/g, '/');
}

/** The query as S3 signs it: each name once (its first value), encoded, sorted. */
function canonicalQuery(searchParams: URLSearchParams): string {
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of searchParams) {
    if (name === '' || seen.has(name)) continue;
    seen.add(name);
    pairs.push([encodeRfc3986(name), encodeRfc3986(value)]);
  }
  pairs.sort(([n1, v1], [n2, v2]) => (n1 < n2 ? -1 : n1 > n2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map((pair) => pair.join('=')).join('&');
}

/** Signs S3 requests for one set of credentials and one region; the signing key is kept for its day. */
export class S3Signer {
  private signingKey: { date: string; key: ArrayBuffer } | undefined;

  constructor(
    private readonly credentials: SigV4Credentials,
    private readonly region: string,
  ) {}

  /**
   * The headers to send: `headers` (names in lower case) with `x-amz-date`, `x-amz-content-sha256`,
   * `x-amz-security-token` when there is a session token, and `authorization`.
   */
  async sign(method: string, url: string, headers: Record<string, string>, now = new Date()): Promise<Record<string, string>> {
    const { accessKeyId, secretAccessKey, sessionToken } = this.credentials;
    const target = new URL(url);
    const datetime = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
    const date = datetime.slice(0, 8);
    const signed: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'host') signed[name.toLowerCase()] = value;
    signed['x-amz-content-sha256'] ??= 'UNSIGNED-PAYLOAD';
    signed['x-amz-date'] = datetime;
    if (sessionToken) signed['x-amz-security-token'] = sessionToken;
    const names = ['host', ...Object.keys(signed).filter((name) => !UNSIGNED_HEADERS.has(name))].sort();
    const signedHeaders = names.join(';');
    const canonicalHeaders = names.map((name) => `${name}:${name === 'host' ? target.host : signed[name]!.trim().replace(/\s+/g, ' ')}`).join('\n');
    const canonicalRequest = [
      method.toUpperCase(),
      canonicalPath(target.pathname),
      canonicalQuery(target.searchParams),
      `${canonicalHeaders}\n`,
      signedHeaders,
      signed['x-amz-content-sha256'],
    ].join('\n');
    const scope = `${date}/${this.region}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', datetime, scope, hex(await crypto.subtle.digest('SHA-256', encoder.encode(canonicalRequest)))].join('\n');
    const signature = hex(await hmac(await this.keyFor(date, secretAccessKey), stringToSign));
    signed.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return signed;
  }

  private async keyFor(date: string, secretAccessKey: string): Promise<ArrayBuffer> {
    if (this.signingKey?.date !== date) {
      const dateKey = await hmac(encoder.encode(`AWS4${secretAccessKey}`), date);
      const regionKey = await hmac(dateKey, this.region);
      const serviceKey = await hmac(regionKey, 's3');
      this.signingKey = { date, key: await hmac(serviceKey, 'aws4_request') };
    }
    return this.signingKey.key;
  }
}
