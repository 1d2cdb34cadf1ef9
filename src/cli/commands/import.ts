/** `import URL FILE`: a JSON export written as the snapshot, never over another writer's change. */
import { readFile } from 'node:fs/promises';
import { readStoredState, writeStoredState } from '../../state/whole-state.js';
import { LAYOUT_OPTION, layoutOption, openTarget, write, type Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { stateFromJson } from '../state-json.js';
import { EXPORT_MAPPING_HELP } from './export.js';

export const FORCE_OPTION = {
  type: 'boolean',
  description: 'replace a snapshot that exists (still only if it is unchanged since read: If-Match)',
} as const;

export const importCommand: Command = {
  name: 'import',
  arguments: ['URL', 'FILE'],
  summary: 'a JSON export into the snapshot; refuses to overwrite without --force',
  description: `Writes the JSON export in FILE ("-" for stdin) as the snapshot at URL. Where nothing is
stored, the write is conditional on that (If-None-Match: *). Where a snapshot exists, it is
refused (exit 3) unless --force, and even then the write is conditional on the ETag read
(If-Match): if another writer changed it meanwhile, nothing of theirs is overwritten (exit 6).
The layout is the one stored, else single-file, unless --layout says otherwise.

${EXPORT_MAPPING_HELP}`,
  options: { layout: LAYOUT_OPTION, force: FORCE_OPTION },
  async run({ args: [url, file], options }, context) {
    const { path, store } = openTarget(url!, context);
    context.progress.step(`reading ${file === '-' ? 'stdin' : file}`);
    const text = new TextDecoder().decode(file === '-' ? await context.readStdin() : await readFile(file!));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new CliError(`${file} is not JSON: ${(error as Error).message}`, ExitCode.UNREADABLE);
    }
    const fields = stateFromJson(json);
    const current = await readStoredState(store, path, { layout: layoutOption(options.layout), onProgress: context.progress.step });
    const written = await writeStoredState(store, current, fields, { overwrite: options.force === true, onProgress: context.progress.step });
    context.progress.done();
    const lines = written.map(({ key, etag }) => `wrote s3://${store.bucket}/${key} (ETag ${etag})`);
    await write(context.stdout, `${[...lines, `imported ${file} into ${url} (${current.layout} layout)`].join('\n')}\n`);
    return ExitCode.OK;
  },
};
