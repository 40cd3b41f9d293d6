import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string; engines?: { node?: string } };

/**
 * The files that take longest, longest first (per-file times of a full run: docs/benchmarks.md,
 * "Test suite time"). They start first so that none of them is the last file still running. Vitest
 * orders by the durations of the previous run when it has them, and a fresh clone (CI) has none:
 * it would run these in directory order, the install test in the middle and pacing near the end.
 * pacing.test.ts, which mostly waits, starts after the four that use the most CPU.
 */
const SLOWEST = ['e2e/install', 'e2e/leaks', 'browser/link-page', 'e2e/link-browser', 'e2e/pacing', 'e2e/rekey', 'e2e/error-codes', 'e2e/billing', 'e2e/errors', 'e2e/link-hosted', 'e2e/import'];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const slow = SLOWEST.findIndex((name) => spec.moduleId.endsWith(`/test/${name}.test.ts`));
      if (slow !== -1) return slow;
      // Then what spawns processes or a browser; the in-process unit and fuzz files fill the gaps last.
      return /\/test\/(e2e|browser|contract)\//.test(spec.moduleId) ? SLOWEST.length : SLOWEST.length + 1;
    };
    const sorted = await super.sort(files);
    return sorted.map((spec, order) => ({ spec, order, rank: rank(spec) })).sort((a, b) => a.rank - b.rank || a.order - b.order).map(({ spec }) => spec);
  }
}

/**
 * Unit files share their worker processes (vitest's isolate: false), which saves each the start of
 * a process and the import of vitest and src/: about 8 s of the suite's CPU, measured
 * (docs/benchmarks.md, "Test suite time"). A unit file that changes what a later file in the same
 * process would see gets a process of its own: one that mocks, spies on or stubs with `vi`, or
 * touches globalThis. Read from the files, so a new one that does is never shared by mistake.
 * The end-to-end, fuzz and contract files keep a process each: their helpers keep state per
 * process (world.init's store templates).
 */
const UNIT_DIR = 'test/unit';
const OWN_PROCESS = readdirSync(new URL(`./${UNIT_DIR}/`, import.meta.url))
  .filter((name) => name.endsWith('.test.ts') && /\bvi\.(mock|doMock|spyOn|stubGlobal|stubEnv|useFakeTimers)\b|\bglobalThis\b/.test(readFileSync(new URL(`./${UNIT_DIR}/${name}`, import.meta.url), 'utf8')))
  .map((name) => `${UNIT_DIR}/${name}`);

export default defineConfig({
  // What scripts/build.mjs defines for the bundles, so that src/ run in process by the tests
  // (test/helpers/in-process.ts) reports the same version and engines range as the built CLI.
  define: {
    __PLAIDBAL_VERSION__: JSON.stringify(pkg.version),
    __PLAIDBAL_NODE_ENGINES__: JSON.stringify(pkg.engines?.node ?? ''),
  },
  test: {
    // Every file is in exactly one of the projects below (each names its own include).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Four files at once on the 2-core machines: much of the end-to-end tests' time is waiting
    // (Plaid's retry backoff, paced calls, a browser, npm), not CPU, and with two workers the
    // cores were a third idle (docs/benchmarks.md, "Test suite time").
    maxWorkers: 4,
    sequence: { sequencer: SlowestFirst },
    projects: [
      { extends: true, test: { name: 'unit-shared', include: ['test/unit/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'unit-isolated', include: OWN_PROCESS } },
    ],
  },
});
