// A platform's local runner (infra/netlify/serve.mjs, infra/vercel/serve.mjs) in a new Node process:
// one process is one deployment of the site. Both print "listening on http://127.0.0.1:<port>".
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error(`infra/${platform}/serve.mjs exited before listening:\n${printed}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed += `${line}\n`;
      const origin = /^listening on (http:\/\/\S+)$/.exec(line)?.[1];
      if (origin === undefined) return;
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
