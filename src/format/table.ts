/**
 * The one set-up of cli-table3 for plaidbal's tables. Importing this module loads cli-table3, so
 * only output modules import it, and those are loaded when a command runs: --help and --version
 * never load it. A module that also writes JSON for scripts imports it with `await import()`
 * when it prints a table (rotate-format.ts), as balance/run.ts does with its table modules.
 */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

export type PlainTableOptions = Omit<Table.TableConstructorOptions, 'head' | 'style'> & {
  /** One rule under the heading and none between rows (the default); false rules off every row. */
  compact?: boolean;
};

/** A table with `headings` in bold, and no colour but what the cells bring. */
export function plainTable(headings: readonly string[], chalk: ChalkInstance, { compact = true, ...options }: PlainTableOptions = {}): Table.Table {
  return new Table({
    ...options,
    head: headings.map((heading) => chalk.bold(heading)),
    // cli-table3 colours heads and borders itself unless told not to, which would leak ANSI at level 0.
    style: { head: [], border: [], compact },
  });
}
