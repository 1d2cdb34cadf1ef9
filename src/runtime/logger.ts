/**
 * Where the runtime's log lines go. A logger takes one object per line; the default prints it as
 * one JSON line, which CloudWatch Logs (and its Logs Insights), the Workers log and any log shipper
 * read field by field. Replace it with your own (pino, Powertools' Logger) or silence it with `false`.
 */

/** One log line: flat fields; `event` says what it is about. */
export type LogRecord = { event: string } & Record<string, unknown>;

/**
 * What the runtime logs through. pino's and Powertools' loggers fit once wrapped, e.g.
 * `{ info: (record) => pino.info(record), warn: (record) => pino.warn(record), error: (record) => pino.error(record) }`.
 */
export interface Logger {
  info(record: LogRecord): void;
  warn(record: LogRecord): void;
  error(record: LogRecord): void;
}

/** Where {@link jsonLogger} writes a line (without its newline): info to `out`, warnings and errors to `err`. */
export interface LineSink {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Straight to the process's stdout and stderr: on Lambda, `console.log` would prefix each line with a
 * timestamp and a request id (or wrap it, with the JSON log format), and the line would no longer be
 * JSON, which an embedded-metric-format line must be. Where there is no `process.stdout` (Workers),
 * `console`, whose objects the Workers log keeps as fields.
 */
function standardSink(): LineSink {
  const stdio = (globalThis as { process?: { stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } }).process;
  if (stdio?.stdout?.write !== undefined && stdio.stderr?.write !== undefined) {
    return { out: (line) => stdio.stdout!.write(`${line}\n`), err: (line) => stdio.stderr!.write(`${line}\n`) };
  }
  return { out: (line) => console.log(line), err: (line) => console.error(line) };
}

/**
 * The default logger: each record as one JSON line, with `level` and `time` (ISO 8601) first.
 *
 * @example
 * const lines: string[] = [];
 * const logger = jsonLogger({ out: (line) => lines.push(line), err: (line) => lines.push(line) });
 */
export function jsonLogger(sink: LineSink = standardSink()): Logger {
  const line = (level: string, record: LogRecord) => JSON.stringify({ level, time: new Date().toISOString(), ...record });
  return {
    info: (record) => sink.out(line('info', record)),
    warn: (record) => sink.err(line('warn', record)),
    error: (record) => sink.err(line('error', record)),
  };
}

const SILENT: Logger = Object.freeze({ info: () => undefined, warn: () => undefined, error: () => undefined });

/** The logger an option names: the default JSON logger when none is given, a silent one for `false`. */
export function loggerOf(option: Logger | false | undefined): Logger {
  if (option === false) return SILENT;
  return option ?? jsonLogger();
}
