// A Netlify project served by infra/netlify/serve.mjs (@netlify/dev, Netlify's local emulation) in a
// new Node process: one process is one deployment of the site. Inside it every invocation of a
// function runs in a new worker thread, so each request is a cold start of the function's module.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const serve = fileURLToPath(new URL('../../infra/netlify/serve.mjs', import.meta.url));

export interface NetlifyProcess {
  /** `http://127.0.0.1:<port>`, the site's origin. */
  readonly origin: string;
  readonly pid: number;
  /** Stops the process; resolves with everything it printed. */
  close(): Promise<string>;
}

/**
 * Serves the Netlify project in `projectDir` with `env` as its whole environment (and PATH), on the
 * Node binary `node` (Node >= 22.12, which @netlify/dev needs).
 *
 * @example
 * const site = await startNetlify(project.dir, { BOT_TOKEN: '...' }, await ensureRuntime('node24'));
 * await fetch(`${site.origin}/webhook`, { method: 'POST', body });
 */
export function startNetlify(projectDir: string, env: Record<string, string>, node: string): Promise<NetlifyProcess> {
  const child = spawn(node, [serve, projectDir], {
    cwd: projectDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error(`infra/netlify/serve.mjs exited before listening:\n${printed}`)));
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
