// A writer in a Node process of its own, talking line by line on stdout: the crash and contention
// tests start many, kill some, and read what each printed before it died.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Child {
  readonly pid: number;
  /** Every stdout line so far, in order. A line is there once the child's write returned (pipes are synchronous on Linux). */
  readonly lines: readonly string[];
  /** Resolves with the first line (already printed or to come) that satisfies `predicate`; rejects if the process ends first. */
  line(predicate: (line: string) => boolean): Promise<string>;
  /** Writes `text` to the child's stdin. */
  write(text: string): void;
  /** Kills the process with SIGKILL: no handler runs, nothing is flushed. */
  kill(): void;
  /** Resolves when the process has exited and its output is drained. */
  readonly exited: Promise<ChildExit>;
}

/**
 * Starts `node <script>` with exactly `env` (plus PATH).
 *
 * @example
 * const child = startChild(fixtures.crashWriter, { FILEPATH: 's3://bucket/key', ... });
 * await child.line((line) => line === 'ready');
 */
export function startChild(script: string, env: Record<string, string>): Child {
  const process_ = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ predicate: (line: string) => boolean; resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let stderr = '';
  let closed = false;
  process_.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  process_.stdin.on('error', () => undefined); // a killed child: 'close' reports it
  createInterface({ input: process_.stdout, crlfDelay: Infinity }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.filter((candidate) => candidate.predicate(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = new Promise<ChildExit>((resolve) => {
    process_.on('error', (error) => {
      stderr += `\ncould not start node: ${error.message}`;
    });
    process_.on('close', (code, signal) => {
      closed = true;
      const exit = { code, signal, stderr };
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`pid ${process_.pid} exited (code ${code}, signal ${signal}) before the awaited line\n${stderr}`));
      }
      resolve(exit);
    });
  });
  return {
    pid: process_.pid ?? -1,
    lines,
    line(predicate) {
      const found = lines.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      if (closed) return Promise.reject(new Error(`pid ${process_.pid} has exited\n${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ predicate, resolve, reject }));
    },
    write(text) {
      process_.stdin.write(text);
    },
    kill() {
      process_.kill('SIGKILL');
    },
    exited,
  };
}
