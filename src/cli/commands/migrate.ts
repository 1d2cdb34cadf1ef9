/** `migrate URL --to LAYOUT`: the state moved to another layout by `migrateLayout`, verified before anything is deleted. */
import { readStoredState, stateExists } from '../../state/whole-state.js';
import { migrateLayout } from '../../migrate.js';
import { parseFilepath } from '../../snapshot/layout.js';
import { count, LAYOUT_OPTION, layoutOption, notFound, openTarget, write, type Command } from '../command.js';
import { CliError, ExitCode } from '../exit-codes.js';

export const migrate: Command = {
  name: 'migrate',
  arguments: ['URL'],
  summary: 'the state moved to another layout (e.g. sharded), verified before the source is deleted',
  description: `Copies the state at URL from its layout (--from, default: the one stored) to the layout
--to, at URL or at --target. Then reads both sides afresh and compares counts and a
checksum of the whole state; records the verified result in <target path>.migration.json;
and only then, with --delete-source, deletes the source's objects. Without it the source
is kept, and a bot still running on it keeps working until it is switched over.

An interrupted migration can be run again: it copies only what is missing or different.
A bot still writing to the source makes the copy chase it; after 3 rounds migrate gives up
with exit 6 (stop the bot, or switch it, and run it again). Handled-update marks are not
moved. With both layouts stored at URL (after a migration without --delete-source), name
the source with --from.

In place between single-file and sharded (the object <path> and the keys <path>/...),
migrate first probes whether the server keeps a key under an object and lists it (objects
under <target path>.migration-probe-<id>/, deleted again). S3 and MinIO do; where the
server does not (versitygw, SeaweedFS) it exits 7 before writing anything: use --target
and switch the bot to it, or go through a temporary --target with --delete-source and back.`,
  options: {
    to: { type: 'string', value: 'LAYOUT', description: 'the layout to move to: single-file, multi-file or sharded (required)' },
    from: { ...LAYOUT_OPTION, description: 'the layout to move from; default: the layout of what is stored at URL' },
    target: { type: 'string', value: 'URL', description: 'where to write the new layout; default: URL itself' },
    'delete-source': { type: 'boolean', description: "delete the source's objects once the target is verified" },
  },
  async run({ args: [url], options }, context) {
    const to = layoutOption(options.to);
    if (to === undefined) throw new CliError('migrate needs --to LAYOUT (single-file, multi-file or sharded)', ExitCode.USAGE);
    const targetUrl = typeof options.target === 'string' ? options.target : url!;
    const source = openTarget(url!, context);
    const target = targetUrl === url ? source : openTarget(targetUrl, context);
    let from = layoutOption(options.from);
    if (from === undefined) {
      const state = await readStoredState(source.store, source.path, { onProgress: context.progress.step });
      if (!stateExists(state)) throw notFound(url!, source.bucket, source.path, undefined);
      from = state.layout;
    }
    if (from === to && parseFilepath(targetUrl).path === source.path && target.bucket === source.bucket) {
      throw new CliError(`the state at ${url} is already in the ${to} layout: name another --to or a --target`, ExitCode.USAGE);
    }
    const report = await migrateLayout({
      from: { filepath: url!, layout: from, store: source.store },
      to: { filepath: targetUrl, layout: to, store: target.store },
      deleteSource: options['delete-source'] === true,
      onProgress: ({ phase, round, done, total, unit }) => {
        const step = `${phase}${round > 1 ? ` (round ${round})` : ''}`;
        // Without a unit, 0/1 and 1/1 only mark a phase's start and end: no count to show.
        if (unit !== undefined) context.progress.step(`${step}: ${unit}`, { done, total });
        else if (done === 0) context.progress.step(step);
      },
    });
    context.progress.done();
    const { counts } = report;
    const lines = [
      `migrated ${report.from} to ${report.to}: verified`,
      `  ${count(counts.users, 'user')}, ${count(counts.chats, 'chat')}, ${count(counts.conversationKeys, 'conversation key')}, ` +
        `${count(counts.botDataProperties, 'bot_data key')}, ${count(counts.callbackKeyboards, 'callback keyboard')}`,
      `  checksum sha256:${report.checksum}`,
      `  ${count(report.copied, 'entry', 'entries')} copied, ${report.unchanged} already there, in ${count(report.rounds, 'round')}`,
      `  verified migration recorded in s3://${target.bucket}/${report.manifestKey}`,
      report.deleted > 0
        ? `  ${count(report.deleted, 'source object')} deleted`
        : '  source kept (run again with --delete-source to delete it)',
    ];
    await write(context.stdout, `${lines.join('\n')}\n`);
    return ExitCode.OK;
  },
};
