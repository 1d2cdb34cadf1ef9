export type RuntimeName = 'node24' | 'bun' | 'deno' | 'netlifyDev' | 'vercelNode';

/** The runtimes, by the name the tests use: npm package, exact version, and the binary's path inside the install. */
export const RUNTIMES: Record<RuntimeName, { package: string; version: string; bin: string }>;

/** The path of runtime `name`'s binary (for `netlifyDev` and `vercelNode`, the module entry), installing it from npm into the cache first when needed. */
export function ensureRuntime(name: RuntimeName): Promise<string>;
