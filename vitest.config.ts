import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { filesUnder } from './test/helpers/cli.js';

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
      // Then what takes seconds: what spawns processes or a browser, the fuzz properties, and the
      // keychain's unit file (real helper processes, timeouts waited out). Last, the quick unit
      // files fill the gaps: a file of seconds started last would run on alone at the end.
      return /\/test\/(e2e|browser|contract|fuzz)\/|\/test\/unit\/keychain\.test\.ts$/.test(spec.moduleId) ? SLOWEST.length : SLOWEST.length + 1;
    };
    const sorted = await super.sort(files);
    return sorted.map((spec, order) => ({ spec, order, rank: rank(spec) })).sort((a, b) => a.rank - b.rank || a.order - b.order).map(({ spec }) => spec);
  }
}

/**
 * Test files share their worker processes (vitest's isolate: false): each process is started, and
 * imports vitest, the helpers and src/, once for many files instead of once per file. Measured in
 * docs/benchmarks.md, "Test suite time". A file that changes what a later file in the same process
 * would see gets a process of its own:
 * - one that mocks, spies on or stubs with `vi`, or touches globalThis: found by reading the files,
 *   so a new one that does is never shared by mistake;
 * - one that runs `items import` in process (it names the command and uses the in-process runner):
 *   the command sets V8's flags for the rest of the process (src/plaid/ratelimit.ts,
 *   preferSmallHeap), as it should in plaidbal's own. test/helpers/shared-process.ts fails a shared
 *   file that changes them all the same, so a file this reading misses is found too.
 * What the helpers keep per process is safe to share: world.init's store templates are keyed on
 * everything the run was given.
 */
const testFiles = filesUnder(fileURLToPath(new URL('./test/', import.meta.url)))
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => `test/${file}`);
const OWN_PROCESS = testFiles.filter((file) => {
  const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
  const changesProcess = /\bvi\.(mock|doMock|spyOn|stubGlobal|stubEnv|useFakeTimers)\b|\bglobalThis\b/.test(source);
  const importsInProcess = source.includes("'items', 'import'") && /\brunInProcess\b|\binProcess: true\b/.test(source);
  return changesProcess || importsInProcess;
});

export default defineConfig({
  // What scripts/build.mjs defines for the bundles, so that src/ run in process by the tests
  // (test/helpers/in-process.ts) reports the same version and engines range as the built CLI.
  define: {
    __PLAIDBAL_VERSION__: JSON.stringify(pkg.version),
    __PLAIDBAL_NODE_ENGINES__: JSON.stringify(pkg.engines?.node ?? ''),
  },
  test: {
    // Every file is in exactly one of the projects below (each names its own include).
    // A guard against a hang, not a measure: a test's own waits have bounds of their own. On the
    // 2-core machines, with four files at once, a file's first test and its set-up have taken well
    // over half a minute each (link-browser.test.ts: a first passphrase store, Chromium's first
    // start, every spawn several times slower than alone), so a minute left too little room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Four files at once on the 2-core machines: much of the end-to-end tests' time is waiting
    // (Plaid's retry backoff, paced calls, a browser, npm), not CPU, and with two workers the
    // cores were a third idle (docs/benchmarks.md, "Test suite time").
    maxWorkers: 4,
    // A directory for the whole run, shared by its test processes (world.init's store templates).
    globalSetup: ['test/helpers/global-setup.ts'],
    sequence: { sequencer: SlowestFirst },
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false, setupFiles: ['test/helpers/shared-process.ts'] } },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS } },
    ],
  },
});
