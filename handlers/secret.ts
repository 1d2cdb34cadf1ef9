/**
 * The webhook secret check of the Workers and Cloud Functions entries, in plain JavaScript (no
 * node:crypto), so it runs in every runtime.
 */

/** True when `given` is `expected`, compared in time independent of where they differ. */
export function secretMatches(given: string | null | undefined, expected: string): boolean {
  if (given == null) return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i]!;
  return difference === 0;
}
