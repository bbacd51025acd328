import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'scratch/', 'src/api/public/assets/', 'coverage/', 'dist/', 'packages/*/dist/'] },
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
);
