import type { Command } from 'commander';
import type { Runner } from '../../cli.js';
import { collect, parseSeconds } from '../options.js';

export interface BalanceOptions {
  item?: string[];
  account?: string[];
  json?: boolean;
  env?: string;
  timeout?: number;
}

export function registerBalance(program: Command, runner: Runner): void {
  program
    .command('balance')
    .description('real-time balances (/accounts/balance/get) for linked items')
    .option('-i, --item <alias|item_id>', 'the item to check (repeatable; optional when only one item is linked)', collect)
    .option('-a, --account <account_id>', 'only these accounts (repeatable)', collect)
    .option('--json', 'print one JSON document on stdout (schema in the README)')
    .option('--env <env>', 'only consider items linked in this environment')
    .option('--timeout <seconds>', 'per-attempt timeout (default 60: Plaid can take 30 s or more)', parseSeconds)
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal balance --item checking
  $ plaidbal balance --item checking --account BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp
  $ plaidbal balance --item checking --json | jq '.items[0].accounts[] | {name, available: .balances.available}'`,
    )
    .action(async (opts: BalanceOptions, command: Command) =>
      runner(command, async (ctx) => (await import('./run.js')).runBalance(ctx, opts)),
    );
}
