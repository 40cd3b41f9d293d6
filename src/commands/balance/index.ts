import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { collect, CONCURRENCY_HELP, parseConcurrency, parseRate, parseSeconds, RATE_HELP, type OptionsOf } from '../options.js';

/** balance's flags; their types (BalanceOptions) come from these calls. */
function balanceCommand(program: CommandUnknownOpts) {
  return program
    .command('balance')
    .description('real-time balances (/accounts/balance/get) for linked items')
    .option('-i, --item <alias|item_id>', 'an item to check (repeatable; optional when only one item is linked)', collect)
    .option('--all', 'every linked item (of --env, when items of both environments are linked)')
    .option('-a, --account <account_id>', 'only these accounts of the one --item (repeatable)', collect)
    .option('--json', 'print one JSON document on stdout (same as --format json; schema in the README)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'ndjson', 'csv'] as const))
    .option('--cached', 'use the free /accounts/get instead: cached balances, possibly stale')
    .option('--rate <calls-per-minute>', RATE_HELP, parseRate)
    .option('--concurrency <n>', CONCURRENCY_HELP, parseConcurrency)
    .option('--min-last-updated <iso>', 'options.min_last_updated_datetime: the oldest balance accepted (Plaid applies it to Capital One, ins_128026)')
    .option('-y, --yes', 'do not ask before several billed calls in production')
    .option('--env <env>', 'only consider items linked in this environment')
    .option('--timeout <seconds>', 'per-attempt timeout (default 60 for real-time balances, which Plaid says can take 30 s or more; 15 with --cached)', parseSeconds)
    .option('--access-token-stdin', 'check the one access token on stdin instead of stored items: no store, keychain or passphrase; credentials from PLAID_CLIENT_ID/PLAID_SECRET/PLAID_ENV')
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal balance --item checking
  $ plaidbal balance --item checking --account BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp
  $ plaidbal balance --item checking --json | jq '.items[0].accounts[] | {name, available: .balances.available}'
  $ plaidbal balance --all --env production --yes --format csv > balances.csv
  $ plaidbal balance --all --env production --yes --rate 300 --format ndjson > balances.ndjson
  $ plaidbal balance --all --cached --format ndjson | jq -c 'select(.available != null and .available < 100)'
  $ vault kv get -field=token secret/acme-42 | plaidbal balance --access-token-stdin --json

In production each real-time call is billed: on a terminal, plaidbal asks before making more
than one (--yes skips the question); without a terminal it proceeds, so scripts work.
--access-token-stdin makes one billed call in production too (plus the free /item/get and
/institutions/get_by_id); it writes nothing anywhere, and names the item by its item_id.
Calls are paced to a budget (--rate; by default half of Plaid's per-client limit, which is shared
with every application using your client_id) and slow down when Plaid answers 429.`,
    );
}

export type BalanceOptions = OptionsOf<typeof balanceCommand>;
export type BalanceFormat = NonNullable<BalanceOptions['format']>;

export function registerBalance(program: CommandUnknownOpts, runner: Runner): void {
  balanceCommand(program).action(async (opts, command) => runner(command, async (ctx) => (await import('./run.js')).runBalance(ctx, opts)));
}
