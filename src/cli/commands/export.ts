/** `export URL`: the stored state as JSON on stdout, in the form `import` reads back. */
import { readStoredState, stateExists, stateFields } from '../../state/whole-state.js';
import { LAYOUT_OPTION, layoutOption, notFound, openTarget, write, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { stateToJson } from '../state-json.js';

export const EXPORT_MAPPING_HELP = `JSON form: {"$format": "telegram-s3-persistence-export", "$version": 1, ...sections}.
user_data, chat_data, processed_updates: {"<id>": value}; conversations:
{"<name>": {"<key, e.g. [1,2]>": state}}; bot_data, callback_data: values.
Values JSON cannot hold are objects with one "$" key:
  Map {"$map": [[key, value], ...]}   Set {"$set": [...]}   Date {"$date": "<ISO 8601>"}
  bigint {"$bigint": "<digits>"}      Uint8Array {"$bytes": "<base64>"}
  NaN, Infinity, -Infinity, -0 {"$number": "NaN"}   undefined {"$undefined": true}
  the bot {"$bot": true}   an object whose only key starts with "$" {"$object": {...}}`;

export const exportCommand: Command = {
  name: 'export',
  arguments: ['URL'],
  summary: 'the stored state as JSON on stdout',
  description: `Writes the state stored at URL to stdout as JSON, every value exactly: import reads
the same state back. Exits 4 when nothing is stored at URL, 5 when it cannot be decoded.

${EXPORT_MAPPING_HELP}`,
  options: { layout: LAYOUT_OPTION },
  async run({ args: [url], options }, context) {
    const { bucket, path, store } = openTarget(url!, context);
    const layout = layoutOption(options.layout);
    const state = await readStoredState(store, path, { layout, onProgress: context.progress.step });
    if (!stateExists(state)) throw notFound(url!, bucket, path, layout);
    context.progress.step('converting to JSON');
    const json = JSON.stringify(stateToJson(stateFields(state)), null, 2);
    context.progress.done();
    await write(context.stdout, `${json}\n`);
    return ExitCode.OK;
  },
};
