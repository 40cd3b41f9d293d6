/**
 * Run once for each of vitest's projects, in vitest's own process: a directory every test process
 * of the run can read and write, for what is worth making once per run rather than once per
 * process (world.init's store templates, test/helpers/world.ts). Removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A directory shared by the run's test processes (test/helpers/global-setup.ts). */
    plaidbalRunDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-run-'));
  project.provide('plaidbalRunDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
