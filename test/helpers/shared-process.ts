/**
 * Set-up of every test file that shares its worker process with others (vitest.config.ts): fails
 * a file that leaves the process changed for the files after it, where vitest.config.ts cannot see
 * it by reading the file.
 */
import { afterAll } from 'vitest';
import { v8FlagsChanged } from '../../src/load.js';

afterAll(() => {
  if (v8FlagsChanged()) {
    throw new Error(
      "This file changed V8's flags for the rest of its process (an in-process `items import`, or a fan-out over 100 items or more: " +
        'src/plaid/ratelimit.ts, preferSmallHeap), and other test files share that process. Give it a process of its own: see OWN_PROCESS in vitest.config.ts.',
    );
  }
});
