// Serves a Netlify project locally as Netlify's edge would: @netlify/dev (Netlify's own emulation of
// its request chain, which the Netlify CLI and Vite plugin build on) behind a Node HTTP server on
// loopback. Functions are bundled by zip-it-and-ship-it as on a deploy, and each invocation runs in
// a new worker thread. No login, no linked site, no network beyond loopback. Needs Node >= 22.12.
//
//   node infra/netlify/serve.mjs PROJECT_DIR [PORT]   -> prints "listening on http://127.0.0.1:PORT"
//
// @netlify/dev is installed on demand at a pinned version (infra/runtimes.mjs, `netlifyDev`).
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureRuntime } from '../runtimes.mjs';

const [project, port = '0'] = process.argv.slice(2);
if (project === undefined) throw new Error('usage: node infra/netlify/serve.mjs PROJECT_DIR [PORT]');

const { NetlifyDev } = await import(pathToFileURL(await ensureRuntime('netlifyDev')).href);
const netlify = new NetlifyDev({
  projectRoot: resolve(project), // @netlify/dev needs it absolute
  functions: { enabled: true },
  redirects: { enabled: true },
  headers: { enabled: true },
  staticFiles: { enabled: true },
  environmentVariables: { enabled: true },
  // What would call Netlify's API (geolocation, the AI gateway) or is not used here stays off.
  edgeFunctions: { enabled: false },
  blobs: { enabled: false },
  database: { enabled: false },
  images: { enabled: false },
  geolocation: { enabled: false },
  aiGateway: { enabled: false },
});
await netlify.start();

const server = createServer(async (request, response) => {
  try {
    const match = await netlify.handleAndIntrospectNodeRequest(request);
    if (match === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    const { response: answer } = match;
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    if (answer.body === null) response.end();
    else Readable.fromWeb(answer.body).pipe(response);
  } catch (error) {
    console.error(error);
    if (!response.headersSent) response.writeHead(500);
    response.end();
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
const stop = async () => {
  server.close();
  await netlify.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
