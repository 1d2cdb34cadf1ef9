// python-telegram-bot fixtures (test/fixtures/ptb, made by make_fixtures.py) and how to compare their JSON.
import { fileURLToPath } from 'node:url';

/** The committed fixtures, with a trailing slash. */
export const PTB_FIXTURES = fileURLToPath(new URL('../fixtures/ptb/', import.meta.url));

/** One entry of manifest.json: a pickle and what it must import as, or the refusal it must produce. */
export interface PtbFixture {
  name: string;
  pickle: string;
  multiFile: boolean;
  options: { truncateMicroseconds?: boolean; botMarker?: 'bot' | 'none' };
  expected?: string;
  refused?: { path: string; reason: string };
}

export interface PtbManifest {
  ptbVersion: string;
  python: string;
  fixtures: PtbFixture[];
}

/** Python iterates a set in hash order, which a reloaded set need not repeat: compare `$set`s sorted. */
export function sortSets(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(sortSets);
  if (typeof json !== 'object' || json === null) return json;
  const object = json as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0] === '$set' && Array.isArray(object.$set)) {
    return { $set: object.$set.map(sortSets).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
  }
  const sorted: Record<string, unknown> = {};
  for (const key of keys) {
    Object.defineProperty(sorted, key, { value: sortSets(object[key]), enumerable: true, writable: true, configurable: true });
  }
  return sorted;
}
