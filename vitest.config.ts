import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string; engines?: { node?: string } };

export default defineConfig({
  // What scripts/build.mjs defines for the bundles, so that src/ run in process by the tests
  // (test/helpers/in-process.ts) reports the same version and engines range as the built CLI.
  define: {
    __PLAIDBAL_VERSION__: JSON.stringify(pkg.version),
    __PLAIDBAL_NODE_ENGINES__: JSON.stringify(pkg.engines?.node ?? ''),
  },
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests spawn the built CLI and a browser; the machines have 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
