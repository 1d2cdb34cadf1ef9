/** `import-ptb URL PICKLE_PATH`: a python-telegram-bot PicklePersistence written as the snapshot. */
import { importPtbPersistence } from '../../import/import-ptb.js';
import type { BotMarkerReading, BotMarkerReport } from '../../import/ptb-pickle.js';
import { LAYOUT_OPTION, layoutOption, openTarget, write, type Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { FORCE_OPTION } from './import.js';

export const importPtb: Command = {
  name: 'import-ptb',
  arguments: ['URL', 'PICKLE_PATH'],
  summary: "a python-telegram-bot PicklePersistence file into the snapshot",
  description: `Reads the files of python-telegram-bot's PicklePersistence at PICKLE_PATH (its filepath):
the single file, or with single_file=False the files PICKLE_PATH_user_data, _chat_data,
_bot_data, _callback_data and _conversations. Writes the equivalent snapshot at URL, under
the same conditions as import (exit 3 without --force where a snapshot exists).

Maps dicts, lists, tuples, sets, str, bytes, int (bigint beyond 2^53), float, bool, None,
datetime (naive ones as UTC), and the bot (restored as the live bot). A PicklePersistence
whose set_bot was never called writes every None as its marker of the bot: when no None is
pickled as itself in the files, the markers are read as None (as PTB reads them without a
bot), else as the bot; --bot-marker says which instead. Conversation keys
become JSON arrays ("[chat_id,user_id]"); ended conversations (None) are left out.
Anything else (a TelegramObject, an instance of your own class, a datetime.date) is refused
by its path, e.g. "user_data[123].obj", with exit 5 and nothing written.`,
  options: {
    layout: LAYOUT_OPTION,
    force: FORCE_OPTION,
    'multi-file': { type: 'boolean', description: "read PTB's multi-file layout (default: the single file if PICKLE_PATH is one)" },
    'bot-marker': {
      type: 'string',
      value: 'bot|none',
      description: "read PTB's marker of the bot as the bot or as None (default: as the files show, see above)",
    },
    'truncate-microseconds': {
      type: 'boolean',
      description: 'drop the microseconds of datetimes (a Date keeps milliseconds) instead of refusing them',
    },
  },
  async run({ args: [url, picklePath], options }, context) {
    const { bucket, store } = openTarget(url!, context);
    const result = await importPtbPersistence({
      from: { filepath: picklePath!, singleFile: options['multi-file'] === true ? false : undefined },
      to: { filepath: url!, store, layout: layoutOption(options.layout) },
      force: options.force === true,
      truncateMicroseconds: options['truncate-microseconds'] === true,
      botMarker: botMarkerOption(options['bot-marker']),
      onProgress: context.progress.step,
    });
    context.progress.done();
    const lines = [
      `read ${result.files.join(', ')}`,
      ...botMarkerLines(result.botMarkers),
      ...result.written.map(({ key, etag }) => `wrote s3://${bucket}/${key} (ETag ${etag})`),
      `imported ${picklePath} into ${url} (${result.layout} layout)`,
    ];
    await write(context.stdout, `${lines.join('\n')}\n`);
    return ExitCode.OK;
  },
};

function botMarkerOption(value: string | boolean | undefined): BotMarkerReading | undefined {
  if (value === undefined || value === 'bot' || value === 'none') return value;
  throw new CliError(`--bot-marker is bot or none, not "${String(value)}"`, ExitCode.USAGE);
}

/** Says how PTB's bot markers were read when there were any, and how to read them the other way. */
function botMarkerLines({ count, readAs, reason }: BotMarkerReport): string[] {
  if (count === 0) return [];
  const why = {
    option: 'as --bot-marker says',
    'a None in the files': 'since the files hold a None: a bot was set when they were written',
    'no None in the files': 'since the files hold no None: they were written without set_bot, which writes each None as such a marker',
  }[reason];
  const [as, other, otherAs] = readAs === 'bot' ? ['the bot', 'none', 'None'] : ['None', 'bot', 'the bot'];
  return [`read ${count} of PTB's bot markers as ${as}, ${why} (--bot-marker ${other} reads them as ${otherAs})`];
}
