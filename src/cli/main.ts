#!/usr/bin/env node
// The `telegram-s3-persistence` executable (package.json "bin"): see run.ts.
import { runCli } from './run.js';

// A reader that stops early (`export ... | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
