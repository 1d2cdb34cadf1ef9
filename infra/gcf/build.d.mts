import type { Plugin } from 'esbuild';

/** Bundles handlers/gcf.ts with its package.json into `outdir` (default .build/gcf); resolves with the directory. */
export function buildFunction(outdir?: string, options?: { plugins?: Plugin[] }): Promise<string>;
