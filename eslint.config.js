import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import regexpPlugin from 'eslint-plugin-regexp';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'scratch/', 'src/api/public/assets/', 'src/console/assets/', 'coverage/', 'dist/', 'packages/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits is an error nobody sees (and in workflows, a lost step).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A regular expression that backtracks super-linearly lets one request hold the event loop
    // for minutes (issue 15.1: a template variable pattern took 41 s on 3 KB). Every pattern in
    // src/ must run in linear time on any input.
    files: ['src/**/*.ts', 'src/**/*.tsx', 'emails/**/*.ts', 'emails/**/*.tsx', 'worker.ts'],
    plugins: { regexp: regexpPlugin },
    rules: {
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
    },
  },
  {
    // CommonJS where the Temporal SDK require()s a module (src/temporal/failure-converter.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code must be deterministic: no Node built-ins, no I/O, no clocks of its own.
    // It imports only the workflow SDK, its own message definitions and activity *types*.
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/*.messages.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Workflow code runs in a deterministic sandbox: do this in an activity.',
          })),
          patterns: [
            {
              regex: '^(?!@temporalio/workflow$|\\./[\\w-]+(\\.messages)?\\.js$|\\.\\./activities/index\\.js$)',
              message: 'Workflows import only @temporalio/workflow and their own message definitions.',
            },
            { regex: '^\\.\\./activities/', message: 'Workflows import activities as types only.', allowTypeImports: true },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'setInterval', message: 'Use a durable timer.' }],
    },
  },
  {
    // The folders depend one way (docs/architecture.md): code outside src/workflows starts and
    // signals workflows through their `*.messages.ts` files (names, signals, signatures), never
    // their code, so activities → services → workflow code → activity types is no circle.
    files: ['src/**/*.ts', 'src/**/*.tsx', 'worker.ts'],
    ignores: ['src/workflows/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value=/(^|\\/)workflows\\/(?![\\w-]+\\.messages\\.js$|task-queues\\.js$)/]",
          message: 'Import a workflow through its *.messages.ts file (its signature type), not its code.',
        },
      ],
    },
  },
  {
    // A workflow's public surface: what services import to talk to it; no workflow code.
    files: ['src/workflows/*.messages.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!@temporalio/(workflow|common)$)', message: 'Message definitions import only the Temporal SDK.' }] },
      ],
    },
  },
  {
    // The data layer is the bottom: schema, migrations, connections. It knows nothing above it.
    files: ['src/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./(?!schema\\.js$|database\\.js$)|^\\.\\./\\.\\./', message: 'src/db imports nothing above it.' }] },
      ],
    },
  },
  {
    // HTTP is the edge: handlers call services, never SQL or repositories.
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '\\.repository\\.js$|/db/(?!schema\\.js$)|^kysely$', message: 'src/api calls services; SQL lives in repositories.' },
          ],
        },
      ],
    },
  },
  {
    // The console is an edge too: its pages call the same services as the API, never SQL.
    files: ['src/console/**/*.ts', 'src/console/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '\\.repository\\.js$|/db/(?!schema\\.js$)|^kysely$|^postgres$', message: 'src/console calls services; SQL lives in repositories.' },
          ],
        },
      ],
    },
  },
);
