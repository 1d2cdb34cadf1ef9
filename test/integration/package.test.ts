// The published package: `npm pack` (whose prepack builds dist/ from scratch) holds exactly what a
// user needs, and a project that installs the tarball can import every entry point of `exports`
// (with import and with require), type-check against its types, and use the session adapters
// without grammY or Telegraf installed. The API reference in docs/ matches the doc comments.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, root, type PackedProject } from '../support/packed.js';

const run = promisify(execFile);

interface PackageJson {
  name: string;
  main: string;
  types: string;
  bin?: string | Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
}

let pkg: PackageJson;
let packed: PackedProject;
let project: string;

/** Every .ts module under src/, relative to it, without the extension. */
function sourceModules(directory = join(root, 'src')): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceModules(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative(join(root, 'src'), path).replace(/\.ts$/, '')] : [];
  });
}

function binTargets(): string[] {
  if (pkg.bin === undefined) return [];
  return (typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin)).map((target) => target.replace(/^\.\//, ''));
}

const subpaths = () => Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
/** The entry point that imports grammY at run time: the webhook runs on grammY's webhookCallback. */
const NEEDS_GRAMMY = './webhook';
const withoutGrammy = () => subpaths().filter((subpath) => subpath !== NEEDS_GRAMMY);
const specifier = (subpath: string) => (subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`);

beforeAll(async () => {
  pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as PackageJson;
  packed = await packedProject();
  project = packed.dir;
}, 180_000);

afterAll(async () => {
  await packed?.remove();
});

async function node(script: string, type: 'module' | 'commonjs'): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type', type, '-e', script], {
    cwd: project,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return stdout;
}

describe('npm pack', () => {
  it('holds dist/ (JavaScript and declarations of every module of src/), README.md, LICENSE and package.json, nothing else', () => {
    const expected = [
      'LICENSE',
      'README.md',
      'package.json',
      ...sourceModules().flatMap((module) => [`dist/${module}.js`, `dist/${module}.d.ts`]),
    ].sort();
    expect(packed.files.sort()).toEqual(expected);
  });

  it('holds the files of main, types, every entry point of exports, and the bin when there is one', () => {
    const files = new Set(packed.files);
    const targets = [pkg.main, pkg.types, ...binTargets()];
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') continue;
      targets.push(target.types, target.default);
      expect(target.types.endsWith('.d.ts'), JSON.stringify(target)).toBe(true);
    }
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ''));
  });

  it('has no module reachable from exports that runs code at top level (sideEffects: false)', async () => {
    const ts = (await import('typescript')).default;
    const library = packed.files.filter((path) => path.endsWith('.js') && !binTargets().includes(path));
    const effects: string[] = [];
    for (const path of library) {
      const text = await readFile(join(project, 'node_modules', pkg.name, path), 'utf8');
      const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest);
      for (const statement of source.statements) {
        const declares =
          ts.isImportDeclaration(statement) ||
          ts.isExportDeclaration(statement) ||
          ts.isFunctionDeclaration(statement) ||
          ts.isClassDeclaration(statement) ||
          ts.isVariableStatement(statement) ||
          ts.isEmptyStatement(statement);
        if (!declares) effects.push(`${path}: ${statement.getText(source).slice(0, 60)}`);
      }
    }
    expect(effects).toEqual([]);
  });

  it('ships a runnable bin when package.json has one', async () => {
    for (const target of binTargets()) {
      expect(target).toBe('dist/cli/main.js');
      const text = await readFile(join(project, 'node_modules', pkg.name, target), 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n'), `${target} starts with a shebang`).toBe(true);
    }
  });
});

describe('a project that installs the tarball', () => {
  it('imports every entry point but the webhook, without grammY or Telegraf installed', async () => {
    const script = `for (const s of ${JSON.stringify(withoutGrammy().map(specifier))}) console.log(s, Object.keys(await import(s)).sort().join(','));`;
    const lines = (await node(script, 'module')).trim().split('\n');
    const exported = new Map(lines.map((line) => [line.split(' ')[0], line.split(' ')[1]?.split(',') ?? []]));
    expect([...exported.keys()]).toEqual(withoutGrammy().map(specifier));
    expect(exported.get(pkg.name)).toEqual(expect.arrayContaining(['S3Persistence', 'PersistenceError', 'MemoryObjectStore']));
    expect(exported.get(`${pkg.name}/grammy`)).toEqual(expect.arrayContaining(['persistence']));
    expect(exported.get(`${pkg.name}/adapters`)).toEqual(['S3KeyValueStore', 'grammyStorage', 'telegrafSessionStore']);
    expect(exported.get(`${pkg.name}/telegraf`)).toEqual(['S3KeyValueStore', 'telegrafSessionStore']);
  });

  it('requires every entry point but the webhook from CommonJS (Node >= 20.19 loads ES modules with require)', async () => {
    const script = `for (const s of ${JSON.stringify(withoutGrammy().map(specifier))}) console.log(typeof require(s));`;
    expect((await node(script, 'commonjs')).trim().split('\n')).toEqual(withoutGrammy().map(() => 'object'));
  });

  it('imports the webhook once grammY, its peer, is installed', async () => {
    const script = `console.log(Object.keys(await import('${specifier(NEEDS_GRAMMY)}')).sort().join(','))`;
    await expect(node(script, 'module')).rejects.toThrow(/grammy/);
    await packed.link('grammy');
    expect((await node(script, 'module')).trim().split(',')).toEqual(['MAX_BODY_BYTES', 'parseUpdate', 'webhookHandler']);
  });

  it('type-checks code using every entry point with grammY and Telegraf, strict and with the declarations checked', async () => {
    for (const name of ['grammy', '@grammyjs/types', 'telegraf', '@telegraf/types', '@types/node']) await packed.link(name);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      join(project, 'consumer.ts'),
      [
        `import { S3Persistence, PersistenceError, type S3PersistenceOptions } from '${pkg.name}';`,
        `import { persistence, type PersistenceFlavor } from '${pkg.name}/grammy';`,
        `import { grammyStorage, S3KeyValueStore, type ValueConflict } from '${pkg.name}/adapters';`,
        `import { telegrafSessionStore } from '${pkg.name}/telegraf';`,
        `import { webhookHandler } from '${pkg.name}/webhook';`,
        `import { Bot, session, type Context, type SessionFlavor, type StorageAdapter } from 'grammy';`,
        `import type { SessionStore } from 'telegraf';`,
        `type Session = { count: number };`,
        `const options: S3PersistenceOptions<{ n?: number }, object, object> = { filepath: 's3://bucket/bot' };`,
        `const store = new S3Persistence(options);`,
        `const bot = new Bot<Context & PersistenceFlavor<{ n?: number }, object, object> & SessionFlavor<Session>>('1:x');`,
        `bot.use(persistence(store));`,
        `const storage: StorageAdapter<Session> = grammyStorage<Session>({ prefix: 's3://bucket/sessions' });`,
        `bot.use(session({ initial: () => ({ count: 0 }), storage }));`,
        `const merge = ({ ours }: ValueConflict<Session>) => ours;`,
        `const telegrafStore: SessionStore<Session> = telegrafSessionStore(new S3KeyValueStore<Session>({ prefix: 's3://bucket/t', merge }));`,
        `const lambda: (event: { body?: string }) => Promise<{ statusCode: number }> = webhookHandler(bot, store, { platform: 'aws-lambda-async', secretToken: 's' });`,
        `const fetchHandler: (request: Request) => Promise<Response> = webhookHandler(bot, store, { platform: 'std/http', secretToken: 's' });`,
        `export const checks = [telegrafStore, PersistenceError, lambda, fetchHandler];`,
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const output = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => '',
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    // Errors in this package's declarations or in the code using them; grammY's own declarations
    // fail with skipLibCheck off (they import node-fetch, which has no types), which is not ours to judge.
    const ours = output.split('\n').filter((line) => line.startsWith('consumer.ts') || line.startsWith(`node_modules/${pkg.name}/`));
    expect(ours).toEqual([]);
    expect(output.split('\n').filter((line) => / error TS/.test(line) && !line.includes('/node_modules/grammy/'))).toEqual([]);
  });
});

describe('docs/API.md', () => {
  it('is what `npm run docs` generates from the doc comments now', async () => {
    const result = await run(process.execPath, [join(root, 'docs', 'generate-api.mjs'), '--check'], { cwd: root }).then(
      () => 'up to date',
      (error: { stderr?: string; message: string }) => error.stderr || error.message,
    );
    expect(result).toBe('up to date');
  });
});
