import { defineConfig } from 'vitest/config';

/** `npm run histories:record`: the recorder of test/histories/*.json, on the test suite's servers. */
export default defineConfig({
  test: {
    include: ['test/histories/record-histories.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
