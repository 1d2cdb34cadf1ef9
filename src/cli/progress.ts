/**
 * Progress of long work, on stderr: one status line rewritten in place (a spinner, the step, its
 * count and the time spent) when stderr is a terminal; plain lines when asked for with
 * `--progress` elsewhere; nothing otherwise, so that scripts see only what they ask for.
 *
 * A count is shown only with its total, which the caller knows before it counts (no "0/0", no
 * total that grows). As plain lines, a counted step prints its first count, each further tenth,
 * and its last, so that a log of a 100,000-object read stays short.
 */

/** How far a step has come: `done` of `total`, a total known before counting. */
export interface ProgressCount {
  done: number;
  total: number;
}

export interface Progress {
  /** Says what is being done now, and with `count` how far it has come. */
  step(message: string, count?: ProgressCount): void;
  /** Clears the status line; call before printing anything else to stderr. */
  done(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
const NONE: Progress = { step: () => undefined, done: () => undefined };

export function createProgress(stream: ProgressStream, options: { requested: boolean }): Progress {
  if (stream.isTTY === true) return statusLine(stream);
  return options.requested ? plainLines(stream) : NONE;
}

function plainLines(stream: ProgressStream): Progress {
  let last: { message: string; tenth: number } | undefined;
  return {
    step(message, count) {
      if (count === undefined) {
        last = undefined;
        stream.write(`${message}\n`);
        return;
      }
      if (count.total <= 0) return;
      const tenth = count.done >= count.total ? 10 : Math.floor((10 * count.done) / count.total);
      if (last?.message === message && tenth <= last.tenth) return;
      last = { message, tenth };
      stream.write(`${message} ${count.done}/${count.total}\n`);
    },
    done: () => undefined,
  };
}

function statusLine(stream: ProgressStream): Progress {
  const startedAt = Date.now();
  let text = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    stream.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${text} (${seconds}s)`);
  };
  const show = (next: string) => {
    text = next;
    draw();
    timer ??= setInterval(draw, 100).unref();
  };
  return {
    step(message, count) {
      if (count === undefined) show(message);
      else if (count.total > 0) show(`${message} ${count.done}/${count.total}`);
    },
    done() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      stream.write('\r\x1b[K');
    },
  };
}
