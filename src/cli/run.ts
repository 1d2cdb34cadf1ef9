/**
 * The command line: `telegram-s3-persistence <command> [options]`. Parses arguments with
 * `node:util` `parseArgs`, runs the command, and turns its outcome into an exit code
 * (`exit-codes.ts`). Runs in-process too, with any streams and store, which is how tests drive it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { clientFromEnvironment, S3ObjectStore } from '../store/s3-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { PROGRAM, write, type Command, type CommandContext, type OutputStream } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT_CODES_HELP, ExitCode, exitCodeOf } from './exit-codes.js';
import { createProgress } from './progress.js';
import { inFlags } from './wording.js';

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: AsyncIterable<Uint8Array | string>;
  /** The object store of a bucket; default: S3 with a client from the environment. */
  openStore?: (bucket: string) => ObjectStore;
  /** The S3 client of `check`; default: from the environment. */
  openClient?: () => S3Client;
}

const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  progress: { type: 'boolean', description: 'report progress on stderr even when it is not a terminal' },
} as const;

const ENVIRONMENT_HELP = `URL is s3://bucket/path, as S3Persistence's filepath: the snapshot's key, or the prefix of
the multi-file layout's keys (path_user_data, path_chat_data, ...).

Environment: S3_ENDPOINT (an S3-compatible server such as MinIO, reached path-style),
AWS_REGION (default us-east-1), and the AWS SDK's credentials (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...). Progress goes to stderr when it is a terminal.`;

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => synopsis(command).length));
  const list = COMMANDS.map((command) => `  ${synopsis(command).padEnd(width)}  ${command.summary}`).join('\n');
  return `Usage: ${PROGRAM} <command> [options]

Inspect, export and import the state a bot keeps with telegram-s3-persistence, and bring
a python-telegram-bot PicklePersistence along.

Commands:
${list}
  ${'help [COMMAND]'.padEnd(width)}  this text, or a command's (as COMMAND --help)

${ENVIRONMENT_HELP}

${EXIT_CODES_HELP}
`;
}

function synopsis(command: Command): string {
  return [command.name, ...command.arguments].join(' ');
}

function commandHelp(command: Command): string {
  const options = { ...command.options, ...COMMON_OPTIONS };
  const rows = Object.entries(options).map(([name, spec]) => {
    const short = 'short' in spec ? `-${spec.short}, ` : '';
    const value = 'value' in spec && spec.value !== undefined ? ` ${spec.value}` : '';
    return [`${short}--${name}${value}`, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return `Usage: ${PROGRAM} ${synopsis(command)} [options]

${command.description}

Options:
${rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`).join('\n')}

${ENVIRONMENT_HELP}

${EXIT_CODES_HELP}
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function usageError(io: CliIo, message: string, hint: string): Promise<ExitCode> {
  await write(io.stderr, `${PROGRAM}: ${message}\n${hint}\n`);
  return ExitCode.USAGE;
}

/**
 * Runs the tool with `argv` (without `node` and the script) and resolves with its exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    await write(io.stderr, generalHelp());
    return ExitCode.USAGE;
  }
  const helpFlags = ['--help', '-h'];
  if (helpFlags.includes(name) || (name === 'help' && (rest.length === 0 || helpFlags.includes(rest[0]!) || rest[0] === 'help'))) {
    await write(io.stdout, generalHelp());
    return ExitCode.OK;
  }
  if (name === '--version') {
    await write(io.stdout, `${version()}\n`);
    return ExitCode.OK;
  }
  const helpFor = name === 'help' ? rest[0] : undefined;
  const command = COMMANDS.find((candidate) => candidate.name === (helpFor ?? name));
  if (command === undefined) {
    return usageError(io, `unknown command "${helpFor ?? name}"`, `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See ${PROGRAM} --help.`);
  }
  if (helpFor !== undefined) {
    await write(io.stdout, commandHelp(command));
    return ExitCode.OK;
  }
  const hint = `See ${PROGRAM} ${command.name} --help.`;
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    const options = Object.fromEntries(
      Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([option, spec]) => [
        option,
        'short' in spec ? { type: spec.type, short: spec.short } : { type: spec.type },
      ]),
    ) as ParseArgsConfig['options'];
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    return usageError(io, (error as Error).message, hint);
  }
  if (parsed.values.help === true) {
    await write(io.stdout, commandHelp(command));
    return ExitCode.OK;
  }
  if (parsed.positionals.length !== command.arguments.length) {
    const missing = parsed.positionals.length < command.arguments.length;
    const problem = missing
      ? `missing ${command.arguments.slice(parsed.positionals.length).join(' ')}`
      : `unexpected argument "${parsed.positionals[command.arguments.length]}"`;
    return usageError(io, `${command.name}: ${problem}`, `Usage: ${PROGRAM} ${synopsis(command)} [options]. ${hint}`);
  }
  const progress = createProgress(io.stderr, { requested: parsed.values.progress === true });
  const context: CommandContext = {
    stdout: io.stdout,
    stderr: io.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
      return Buffer.concat(chunks);
    },
    openStore: io.openStore ?? ((bucket) => new S3ObjectStore({ client: clientFromEnvironment(), bucket })),
    openClient: io.openClient ?? (() => clientFromEnvironment()),
    progress,
  };
  try {
    return await command.run({ args: parsed.positionals, options: parsed.values }, context);
  } catch (error) {
    progress.done();
    const code = exitCodeOf(error);
    const message = inFlags(error instanceof Error ? error.message : String(error));
    await write(io.stderr, `${PROGRAM} ${command.name}: ${message}\n`);
    if (code === ExitCode.USAGE) await write(io.stderr, `${hint}\n`);
    return code;
  } finally {
    progress.done();
  }
}
