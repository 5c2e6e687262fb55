import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `fedhpo` (the public entry, as examples/ and users import it) is the source, not a possibly stale dist/.
  resolve: { alias: { fedhpo: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ORT already uses both cores inside one test file; more forks only thrash.
    maxWorkers: 2,
  },
});
