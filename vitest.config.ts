import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT already uses both cores inside one test file; more forks only thrash.
    maxWorkers: 2,
  },
});
