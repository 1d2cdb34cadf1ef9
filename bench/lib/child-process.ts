/**
 * Runs a task of bench/child.ts in a fresh Node process: nothing loaded, nothing compiled yet, as at
 * a Lambda cold start. The task goes in as JSON on the command line; its result comes back as the
 * last line of stdout.
 */
import { spawn } from 'node:child_process';

export interface ChildOptions {
  /** Extra environment, e.g. `CBOR_NATIVE_ACCELERATION_DISABLED=true` to run cbor-x as the Lambda bundle does. */
  env?: Record<string, string>;
  /** Node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  timeoutMs?: number;
  /** The node binary (default: this process's). */
  node?: string;
}

export function runChild<T>(childScript: string, task: object, options: ChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [...(options.nodeFlags ?? []), childScript, JSON.stringify(task)], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`bench child ${JSON.stringify(task).slice(0, 200)} exited with code ${code}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`bench child printed no JSON result:\n${stdout}\n${stderr}`));
      }
    });
  });
}
