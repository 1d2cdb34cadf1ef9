/**
 * What the commit engine takes from the world: the clock, randomness and waiting. The real one is
 * the default; the deterministic simulation (test/sim) passes its own, so that a seed decides
 * every backoff, every write id and every timestamp.
 */
export interface Environment {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Uniform in [0, 1): the jitter of backoffs. */
  random(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /** A fresh id for one write, unique across writers (12 base64url characters). */
  writeId(): string;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function randomWriteId(): string {
  // Web Crypto, so that the engine runs where `node:crypto` does not (Workers, Deno, Bun alike).
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  let id = '';
  for (const byte of bytes) id += BASE64URL[byte & 63];
  return id;
}

export const REAL_ENVIRONMENT: Environment = Object.freeze({
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  writeId: randomWriteId,
});

/** The real environment with the parts `overrides` gives replaced. */
export function environmentWith(overrides: Partial<Environment> = {}): Environment {
  return { ...REAL_ENVIRONMENT, ...overrides };
}
