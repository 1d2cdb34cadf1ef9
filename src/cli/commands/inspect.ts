/**
 * `inspect URL`: what is stored, without printing the data: each object with its size, ETag and
 * format version, and how many entries each section holds.
 */
import { snapshotVersion } from '../../snapshot/codec.js';
import { SECTION_NAMES } from '../../snapshot/entries.js';
import { WRITE_IDS_FIELD } from '../../snapshot/tracked-object.js';
import { countState } from '../../state/state-summary.js';
import { readableFields, readStoredState, stateExists, type StoredState } from '../../state/whole-state.js';
import { count, formatSize, LAYOUT_OPTION, layoutOption, notFound, openTarget, write, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

/** What `inspect --json` prints. */
export interface InspectReport {
  url: string;
  layout: string;
  objects: Array<{
    key: string;
    exists: boolean;
    size: number | null;
    etag: string | null;
    formatVersion: number | null;
    error: string | null;
  }>;
  counts: {
    users: number;
    chats: number;
    botDataKeys: number;
    callbackKeyboards: number;
    callbackQueries: number;
    conversations: Record<string, number>;
    processedUpdates: number;
  };
  /** Fields this release does not know (written by a later one). */
  otherFields: string[];
}

export const inspect: Command = {
  name: 'inspect',
  arguments: ['URL'],
  summary: 'what is stored: objects, sizes, ETags, format version, counts of users, chats, keys',
  description: `Reads the snapshot object(s) at URL and summarizes them: each object's key, size, ETag and
format version, and the number of users, chats, bot_data keys, callback keyboards and
conversation keys. Prints no stored values. Exits 4 when nothing is stored at URL, 5 when
an object cannot be decoded (the summary still lists it).`,
  options: {
    layout: LAYOUT_OPTION,
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  async run({ args: [url], options }, context) {
    const { bucket, path, store } = openTarget(url!, context);
    const layout = layoutOption(options.layout);
    const state = await readStoredState(store, path, { layout, onProgress: context.progress.step });
    context.progress.done();
    if (!stateExists(state)) throw notFound(url!, bucket, path, layout);
    const report = inspectState(url!, state);
    await write(context.stdout, options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    const unreadable = state.objects.find((object) => object.error !== undefined);
    if (unreadable !== undefined) {
      await write(context.stderr, `${unreadable.error!.message}\n`);
      return ExitCode.UNREADABLE;
    }
    return ExitCode.OK;
  },
};

const OBJECTS_LISTED = 10;


export function inspectState(url: string, state: StoredState): InspectReport {
  const fields = readableFields(state);
  const counted = countState(fields);
  return {
    url,
    layout: state.layout,
    objects: state.objects.map((object) => ({
      key: object.key,
      exists: object.etag !== null,
      size: object.body?.length ?? null,
      etag: object.etag,
      formatVersion: object.body === null ? null : snapshotVersion(object.body),
      error: object.error?.message ?? null,
    })),
    counts: {
      users: counted.users,
      chats: counted.chats,
      botDataKeys: counted.botDataProperties,
      callbackKeyboards: counted.callbackKeyboards,
      callbackQueries: counted.callbackQueries,
      conversations: counted.conversations,
      processedUpdates: counted.processedUpdates,
    },
    otherFields: [...fields.keys()].filter(
      (name) => name !== WRITE_IDS_FIELD && !(SECTION_NAMES as readonly string[]).includes(name),
    ),
  };
}

function formatReport(report: InspectReport): string {
  const lines = [`${report.url} (${report.layout} layout)`, ''];
  // A sharded state may have an object per user: list a few, then the totals.
  const shown = report.objects.length > OBJECTS_LISTED + 2 ? report.objects.slice(0, OBJECTS_LISTED) : report.objects;
  const width = Math.max(...shown.map((object) => object.key.length));
  for (const object of shown) {
    const key = object.key.padEnd(width);
    if (!object.exists) {
      lines.push(`  ${key}  absent`);
      continue;
    }
    const version = object.formatVersion === null ? 'format unknown' : `format version ${object.formatVersion}`;
    lines.push(`  ${key}  ${formatSize(object.size!).padStart(10)}  ETag ${object.etag}  ${version}${object.error === null ? '' : '  UNREADABLE'}`);
  }
  if (shown.length < report.objects.length) {
    const existing = report.objects.filter((object) => object.exists);
    const total = existing.reduce((sum, object) => sum + object.size!, 0);
    lines.push(`  ... ${count(report.objects.length - shown.length, 'more object')}; ${count(existing.length, 'object')} in all, ${formatSize(total)}`);
  }
  const { counts } = report;
  const names = Object.keys(counts.conversations);
  const keys = Object.values(counts.conversations).reduce((sum, n) => sum + n, 0);
  const rows: Array<[string, string]> = [
    ['user_data', count(counts.users, 'user')],
    ['chat_data', count(counts.chats, 'chat')],
    ['bot_data', count(counts.botDataKeys, 'key')],
    ['callback_data', `${count(counts.callbackKeyboards, 'keyboard')}, ${count(counts.callbackQueries, 'callback query', 'callback queries')}`],
    [
      'conversations',
      `${count(keys, 'key')} in ${count(names.length, 'conversation')}` +
        (names.length === 0 ? '' : ` (${names.map((name) => `${name}: ${counts.conversations[name]}`).join(', ')})`),
    ],
    ['processed_updates', count(counts.processedUpdates, 'update id')],
  ];
  if (report.otherFields.length > 0) rows.push(['other fields', report.otherFields.join(', ')]);
  lines.push('');
  for (const [name, value] of rows) lines.push(`${name.padEnd(18)} ${value}`);
  return `${lines.join('\n')}\n`;
}
