import type { BuildOptions, Plugin } from 'esbuild';

/** The S3 clients the sample bot can store through (`S3_CLIENT`); the first is the default. */
export type S3ClientName = 'fetch' | 'sdk';
export const S3_CLIENTS: readonly S3ClientName[];

/** esbuild options shared by every bundle of the sample bot; the Lambda builds add to them (buildOptionsFor). */
export const handlerBuildOptions: BuildOptions;

/** The esbuild options of a Lambda bundle on `s3Client` (default fetch: the AWS SDK aliased away); grammY's web build, no keepNames. */
export function buildOptionsFor(s3Client?: S3ClientName): BuildOptions;

/** Bundles handlers/webhook.ts for `s3Client` (default fetch) into OUTDIR/webhook.mjs (default .build/); resolves with that path. */
export function bundleHandler(outdir?: string, s3Client?: S3ClientName, options?: { plugins?: Plugin[] }): Promise<string>;

/** The path of grammY's web build (`grammy/web`), which the Lambda builds put in place of its Node build. */
export const GRAMMY_WEB: string;
