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
 * The default logger. Where there is a `process.stdout` (Node, Lambda), JSON lines written to it
 * directly: on Lambda, `console.log` would prefix each line with a timestamp and a request id (or
 * wrap it, with the JSON log format), and the line would no longer be JSON, which an
 * embedded-metric-format line must be. Elsewhere (Workers), each record as an object to `console`,
 * whose objects the Workers log indexes field by field, at the level of the console method.
 */
function standardLogger(): Logger {
  const stdio = (globalThis as { process?: { stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } }).process;
  const { stdout, stderr } = stdio ?? {};
  if (typeof stdout?.write === 'function' && typeof stderr?.write === 'function') {
    return jsonLogger({ out: (line) => stdout.write(`${line}\n`), err: (line) => stderr.write(`${line}\n`) });
  }
  const stamped = (level: string, record: LogRecord) => ({ level, time: new Date().toISOString(), ...record });
  return {
    info: (record) => console.info(stamped('info', record)),
    warn: (record) => console.warn(stamped('warn', record)),
    error: (record) => console.error(stamped('error', record)),
  };
}

/**
 * Each record as one JSON line, with `level` and `time` (ISO 8601) first: info to `sink.out`,
 * warnings and errors to `sink.err`.
 */
export function jsonLogger(sink: LineSink): Logger {
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
  return option ?? standardLogger();
}
