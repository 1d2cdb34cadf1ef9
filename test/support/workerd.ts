// A Worker served by workerd, Cloudflare's runtime (npm `workerd`), on 127.0.0.1: one process is
// one isolate, so a new process is a Worker's cold start. Its outbound fetch reaches loopback only.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The npm package `workerd`: its CommonJS main exports the binary's path as `default`. */
const workerdPackage = createRequire(import.meta.url)('workerd') as { default: string; version: string };
const workerd = workerdPackage.default;
/** e.g. `1.20261117.1`: the runtime of 2026-11-17. */
export const WORKERD_VERSION = workerdPackage.version;

export interface WorkerdOptions {
  /** The bundled module Worker (e.g. wrangler's `--outdir` output); the config is written beside it. */
  script: string;
  /** The Worker's vars and secrets, as `env`. */
  bindings: Record<string, string>;
  compatibilityDate: string;
  compatibilityFlags: readonly string[];
}

export interface WorkerdProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  /** Stops the process; resolves with everything it printed. */
  close(): Promise<string>;
}

const quote = (text: string) => JSON.stringify(text); // Cap'n Proto text strings take JSON's escapes

function config(options: WorkerdOptions): string {
  const bindings = Object.entries(options.bindings).map(([name, value]) => `(name = ${quote(name)}, text = ${quote(value)})`);
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "worker.js", esModule = embed ${quote(basename(options.script))})],
      compatibilityDate = ${quote(options.compatibilityDate)},
      compatibilityFlags = [${options.compatibilityFlags.map(quote).join(', ')}],
      bindings = [${bindings.join(', ')}],
      globalOutbound = "loopback",
    )),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
`;
}

/** The port workerd reports on its control descriptor once socket `http` listens. */
function listeningPort(control: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split('\n').slice(0, -1)) {
        const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
        if (message.event === 'listen' && message.socket === 'http' && message.port !== undefined) resolve(message.port);
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    control.on('end', () => reject(new Error('workerd closed its control descriptor before listening')));
  });
}

/**
 * Serves `options.script` in a new workerd process.
 *
 * @example
 * const worker = await startWorkerd({ script, bindings: { BOT_TOKEN }, compatibilityDate: '2026-11-01', compatibilityFlags: ['nodejs_compat'] });
 * await fetch(worker.url, { method: 'POST', body });
 * const printed = await worker.close();
 */
export async function startWorkerd(options: WorkerdOptions): Promise<WorkerdProcess> {
  const configPath = join(dirname(options.script), 'workerd.capnp');
  await writeFile(configPath, config(options));
  const child = spawn(workerd, ['serve', configPath, '--control-fd=3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let printed = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await listeningPort(child.stdio[3] as Readable);
  } catch (error) {
    await exited;
    throw new Error(`workerd did not start: ${printed}`, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return printed;
    },
  };
}
