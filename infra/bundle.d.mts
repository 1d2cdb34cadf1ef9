import type { BuildOptions, Plugin } from 'esbuild';

/** esbuild options shared by every bundle of the handler. */
export const handlerBuildOptions: BuildOptions;

/** Bundles handlers/webhook.ts into OUTDIR/webhook.mjs (default .build/); resolves with that path. */
export function bundleHandler(outdir?: string, options?: { plugins?: Plugin[] }): Promise<string>;
