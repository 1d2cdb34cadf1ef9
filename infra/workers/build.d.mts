/** Runs `wrangler deploy --dry-run` for `config` into `outdir`; the bundle's path and what wrangler printed. */
export function buildWorker(config: string, outdir: string, options?: { tsconfig?: string }): Promise<{ script: string; output: string }>;
/** Wrangler's "Total Upload" line, in KiB. */
export function uploadSize(output: string): { kib: number; gzipKib: number };
