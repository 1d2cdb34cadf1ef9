// Serves one Vercel Node.js function locally as `vercel dev` does, without its login or linked
// project: @vercel/node's startDevServer, which forks the server `vercel dev` runs each Node function
// in (on this Node, TypeScript through tsx, the function's web or Node signature as on Vercel).
// No network beyond loopback.
//
//   node infra/vercel/serve.mjs PROJECT_DIR ENTRYPOINT   -> prints "listening on http://127.0.0.1:PORT"
//   e.g. node infra/vercel/serve.mjs examples/vercel api/webhook.ts  (then POST to that address)
//
// @vercel/node is installed on demand at a pinned version (infra/runtimes.mjs, `vercelNode`).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureRuntime } from '../runtimes.mjs';

const [project, entrypoint] = process.argv.slice(2);
if (project === undefined || entrypoint === undefined) throw new Error('usage: node infra/vercel/serve.mjs PROJECT_DIR ENTRYPOINT');
const workPath = resolve(project);

const vercelNode = await import(pathToFileURL(await ensureRuntime('vercelNode')).href);
const { startDevServer } = vercelNode.default ?? vercelNode;
// The function's settings from vercel.json, as the CLI hands them to the builder.
const vercelJson = JSON.parse(await readFile(join(workPath, 'vercel.json'), 'utf8').catch(() => '{}'));
// Stopped (SIGTERM, SIGINT) even while starting: the function's server is a child process of its own.
let server;
let stopping = false;
const stop = async () => {
  stopping = true;
  if (server === undefined) return; // still starting: stopped as soon as it has started
  await server?.shutdown();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
server = await startDevServer({
  entrypoint,
  workPath,
  files: {},
  config: vercelJson.functions?.[entrypoint] ?? {},
  meta: { isDev: true, env: {}, buildEnv: {} },
});
if (server === null) throw new Error(`@vercel/node does not serve ${entrypoint}`);
if (stopping) await stop();
console.log(`listening on http://127.0.0.1:${server.port}`);
