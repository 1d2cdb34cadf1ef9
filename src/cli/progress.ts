/**
 * Progress of long work, on stderr: a status line rewritten in place with a spinner and the time
 * spent when stderr is a terminal, plain lines when asked for with `--progress` elsewhere, and
 * nothing otherwise, so that scripts see only what they ask for.
 */

export interface Progress {
  /** Says what is being done now. */
  step(message: string): void;
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
  if (stream.isTTY !== true) {
    return options.requested ? { step: (message) => void stream.write(`${message}\n`), done: () => undefined } : NONE;
  }
  const startedAt = Date.now();
  let message = '';
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    stream.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${message} (${seconds}s)`);
  };
  return {
    step(next) {
      message = next;
      draw();
      timer ??= setInterval(draw, 100).unref();
    },
    done() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      stream.write('\r\x1b[K');
    },
  };
}
