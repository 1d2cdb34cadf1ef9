// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What each folder of src/ may import (docs/ARCHITECTURE.md): the layers point one way, from the
// store up to the runtime and the entry points, so that no folder reaches above itself.
const TOP = ['s3-persistence', 's3-persistence-options', 'migrate', 'grammy', 'webhook', 'update-claim', 'index', 'fetch-store'];
const RULES = [
  { folder: 'store', forbids: ['engine', 'snapshot', 'state', 'runtime', 'import', 'adapters', 'cli', 'contract', 'conflicts', 'layout-collision', ...TOP] },
  { folder: 'engine', forbids: ['snapshot', 'state', 'runtime', 'import', 'adapters', 'cli', 'contract', 'conflicts', 'layout-collision', ...TOP] },
  { folder: 'snapshot', forbids: ['state', 'runtime', 'import', 'adapters', 'cli', 'layout-collision', ...TOP] },
  { folder: 'state', forbids: ['runtime', 'import', 'adapters', 'cli', ...TOP] },
  { folder: 'runtime', forbids: ['store', 'state', 'import', 'adapters', 'cli', 'layout-collision', ...TOP] },
  { folder: 'import', forbids: ['runtime', 'adapters', 'cli', ...TOP] },
  { folder: 'adapters', forbids: ['state', 'runtime', 'import', 'cli', ...TOP] },
  { folder: 'cli', forbids: ['runtime', 'adapters', 'grammy', 'webhook', 'update-claim', 'index'] },
];
const layers = RULES.map(({ folder, forbids }) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbids.map((name) => ({
          regex: `^(\\.\\./)+${name}(/|\\.js$)`,
          message: `src/${folder} does not import ${name}: see the import rules in docs/ARCHITECTURE.md`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.serverless/', '.esbuild/', '.build/', '.minio/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  ...layers,
  {
    files: ['src/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\./cli/', message: 'the library does not import its command line: see docs/ARCHITECTURE.md' }] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
