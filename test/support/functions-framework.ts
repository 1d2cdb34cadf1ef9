// An HTTP function served by Google's functions-framework (npm), the server Cloud Functions runs,
// in a new Node process: one process is one function instance, so a new one is a cold start.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../node_modules/@google-cloud/functions-framework/build/src/main.js', import.meta.url));

export interface FunctionProcess {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly pid: number;
  /** Stops the process; resolves with everything it printed. */
  close(): Promise<string>;
}

/** A port free on loopback right now (the framework takes a port number, not 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Serves function `target` of the built directory `source` (package.json `main`), with `env` as its
 * whole environment (and PATH), on the Node binary `node` (default: the one running this).
 *
 * @example
 * const fn = await startFunction('.build/gcf', 'webhook', { BOT_TOKEN: '...' }, await ensureRuntime('node24'));
 */
export async function startFunction(source: string, target: string, env: Record<string, string>, node = process.execPath): Promise<FunctionProcess> {
  const port = await freePort();
  const child = spawn(node, [cli, `--target=${target}`, `--source=${source}`, `--port=${port}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The framework prints "Serving function..." once it listens.
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      printed += chunk;
      if (printed.includes('Serving function...')) resolve();
    });
    void exited.then(() => reject(new Error(`functions-framework exited before listening:\n${printed}`)));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  await listening;
  return {
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return printed;
    },
  };
}
