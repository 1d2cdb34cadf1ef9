// A platform's local runner (infra/netlify/serve.mjs, infra/vercel/serve.mjs) in a new Node process:
// one process is one deployment of the site. Both print "listening on http://127.0.0.1:<port>".
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Under the tests' 60 s: a runner not listening by then is killed and its start fails with what it printed. */
const STARTUP_LIMIT_MS = 45_000;

export interface LocalRunner {
  /** `http://127.0.0.1:<port>`, the site's origin. */
  readonly origin: string;
  readonly pid: number;
  /** Stops the process; resolves with everything it printed. */
  close(): Promise<string>;
}

/**
 * Runs `infra/<platform>/serve.mjs` with `args`, `env` as its whole environment (and PATH), on the
 * Node binary `node` (both runners need Node >= 22), and resolves once it listens.
 *
 * @example
 * const site = await startLocalRunner('netlify', [project.dir], { BOT_TOKEN: '...' }, await ensureRuntime('node24'));
 * await fetch(`${site.origin}/webhook`, { method: 'POST', body });
 */
export function startLocalRunner(platform: 'netlify' | 'vercel', args: string[], env: Record<string, string>, node: string): Promise<LocalRunner> {
  const serve = fileURLToPath(new URL(`../../infra/${platform}/serve.mjs`, import.meta.url));
  const child = spawn(node, [serve, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A runner that does not listen in time is stopped, not left behind by a test that gave up on it.
  const timer = setTimeout(() => child.kill('SIGTERM'), STARTUP_LIMIT_MS);
  void exited.then(() => clearTimeout(timer));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error(`infra/${platform}/serve.mjs exited before listening (or took over ${STARTUP_LIMIT_MS} ms):\n${printed}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed += `${line}\n`;
      const origin = /^listening on (http:\/\/\S+)$/.exec(line)?.[1];
      if (origin === undefined) return;
      clearTimeout(timer);
      resolve({
        origin,
        pid: child.pid!,
        async close() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          return printed;
        },
      });
    });
  });
}
