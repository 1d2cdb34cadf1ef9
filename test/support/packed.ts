// The package as published: `npm pack` (whose prepack builds dist/ from scratch), unpacked into the
// node_modules of a project outside the repository. Only the dependencies asked for are installed
// (linked from the repository's node_modules), so nothing the package imports can come from the
// repository by accident.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ImportKind, Plugin } from 'esbuild';

const run = promisify(execFile);
export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface PackedProject {
  /** The project's directory; its package.json says `"type": "module"`. */
  readonly dir: string;
  /** The tarball's file name (in `dir`) and the files it holds, as `npm pack --json` lists them. */
  readonly tarball: string;
  readonly files: string[];
  /** The package's name. */
  readonly name: string;
  /** Installs `name` in the project by linking the repository's copy (once). */
  link(name: string): Promise<void>;
  /** Removes the project. */
  remove(): Promise<void>;
}

export interface PackedProjectOptions {
  /**
   * Runtime dependencies installed from the registry, as a user's `npm install` gets them (at the
   * version the repository's lock holds, with the optional dependencies npm resolves for a user,
   * not the repository's overrides), instead of linked from the repository.
   */
  fromRegistry?: string[];
}

/**
 * Packs the package and installs the tarball, with its runtime dependencies, into a new project.
 *
 * @example
 * const project = await packedProject();
 * await project.link('grammy');
 * execFileSync(process.execPath, ['-e', "import('telegram-s3-persistence')"], { cwd: project.dir });
 */
export async function packedProject(options: PackedProjectOptions = {}): Promise<PackedProject> {
  const fromRegistry = options.fromRegistry ?? [];
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
  const dir = await mkdtemp(join(tmpdir(), 'telegram-s3-persistence-consumer-'));
  // One `npm pack` at a time (flock, as infra/minio.sh locks its build): its prepack empties dist/
  // and builds it again, which would pull dist/ from under a pack running in another test file.
  await mkdir(join(root, '.build'), { recursive: true });
  const lock = join(root, '.build', 'npm-pack.lock');
  const { stdout } = await run('flock', [lock, 'npm', 'pack', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string; files: Array<{ path: string }> }];

  const link = async (name: string) => {
    const target = join(dir, 'node_modules', name);
    if (existsSync(target)) return;
    await mkdir(dirname(target), { recursive: true });
    await symlink(join(root, 'node_modules', name), target, 'dir');
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // First: npm removes what it did not install.
  if (fromRegistry.length > 0) {
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const specs = fromRegistry.map((name) => `${name}@${lock.packages[`node_modules/${name}`]!.version}`);
    await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  }
  const installed = join(dir, 'node_modules', pkg.name);
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1']);
  for (const dependency of Object.keys(pkg.dependencies)) if (!fromRegistry.includes(dependency)) await link(dependency);
  return {
    dir,
    tarball: packed.filename,
    files: packed.files.map((file) => file.path),
    name: pkg.name,
    link,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

const ON_THE_PACKAGE = Symbol('on the package');

/**
 * An esbuild plugin that makes a bundle of the sample bot (`handlers/`) or an example use the
 * package installed in `project` instead of the repository's sources: the package's name and its
 * subpaths (which tsconfig.json's `paths` lead to `src/`), and imports of `src/` itself
 * (`src/webhook.js`, `src/grammy.js` and `src/fetch-store.js` become those subpaths, any other
 * module the root entry, which exports the rest).
 *
 * `bundle: false` leaves the package's modules external, to be loaded from the project's
 * node_modules at run time; `bundle: true` bundles them from there.
 *
 * @example
 * await build({ entryPoints: ['handlers/gcf.ts'], bundle: true, plugins: [onThePackage(project, { bundle: true })] });
 */
export function onThePackage(project: Pick<PackedProject, 'dir' | 'name'>, { bundle = false } = {}): Plugin {
  return {
    name: 'on-the-package',
    setup(build) {
      const onPackage = async (specifier: string, kind: ImportKind) => {
        if (!bundle) return { path: specifier, external: true };
        // Resolved from the project, where no tsconfig leads the name back to src/; marked, so that
        // this plugin lets that resolution through.
        const resolved = await build.resolve(specifier, { kind, resolveDir: project.dir, pluginData: ON_THE_PACKAGE });
        return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
      };
      build.onResolve({ filter: new RegExp(`^${project.name}(/[\\w-]+)?$`) }, ({ path, kind, pluginData }) =>
        pluginData === ON_THE_PACKAGE ? undefined : onPackage(path, kind),
      );
      build.onResolve({ filter: /\/src\/[\w/-]+\.js$/ }, ({ path, kind, importer }) => {
        if (importer.includes('/node_modules/')) return undefined; // a dependency's own src/
        const entry = ['webhook', 'grammy', 'fetch-store'].find((name) => path.endsWith(`/src/${name}.js`));
        return onPackage(entry === undefined ? project.name : `${project.name}/${entry}`, kind);
      });
    },
  };
}

/**
 * Where the modules of a bundle built with `onThePackage` came from, by its source map: the
 * package's dist/ files (as `/dist/...`) and the repository's src/ files (as `src/...`).
 *
 * @example
 * expect((await bundleOrigins('out/index.mjs.map', project.name)).src).toEqual([]);
 */
export async function bundleOrigins(sourceMap: string, name: string): Promise<{ dist: string[]; src: string[] }> {
  const { sources } = JSON.parse(await readFile(sourceMap, 'utf8')) as { sources: string[] };
  return {
    dist: sources.filter((file) => file.includes(`node_modules/${name}/dist/`)).map((file) => file.slice(file.indexOf('/dist/'))),
    src: sources.filter((file) => !file.includes('node_modules/') && /(^|\/)src\//.test(file)).map((file) => file.slice(file.search(/(^|\/)src\//)).replace(/^\//, '')),
  };
}

/**
 * Writes a tsconfig.json into the project whose `paths` lead the package's name and subpaths to its
 * installed files, for a bundler that takes a tsconfig but no plugin (wrangler's `--tsconfig`);
 * resolves with its path.
 *
 * @example
 * await buildWorker('wrangler.jsonc', outdir, { tsconfig: await tsconfigOnThePackage(project) });
 */
export async function tsconfigOnThePackage(project: Pick<PackedProject, 'dir' | 'name'>): Promise<string> {
  const installed = join('node_modules', project.name);
  const { exports } = JSON.parse(await readFile(join(project.dir, installed, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default?: string }>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (file !== undefined && file.endsWith('.js')) paths[join(project.name, subpath)] = [`./${join(installed, file)}`];
  }
  const tsconfig = join(project.dir, 'tsconfig.on-the-package.json');
  await writeFile(tsconfig, JSON.stringify({ compilerOptions: { paths } }, null, 2));
  return tsconfig;
}
