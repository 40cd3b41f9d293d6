import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { AMOUNT_MAX_FRACTION_DIGITS, AMOUNT_MAX_INTEGER_DIGITS } from '../../amount.js';
import { parseSeconds, type OptionsOf } from '../options.js';

/** check's flags; their types (CheckOptions) come from these calls. */
function checkCommand(program: CommandUnknownOpts) {
  return program
    .command('check')
    .description('does one account hold at least --amount? its real-time balance (/accounts/balance/get); exit 0 yes, 7 no')
    .option('-i, --item <alias|item_id>', 'the item (optional when only one item is linked)')
    .requiredOption('-a, --account <account_id>', 'the account to check (see `plaidbal balance --item <item>` for account_ids)')
    // Parsed in run.ts (src/amount.ts), so a bad amount is a usage error with its own message.
    .requiredOption(
      '--amount <amount>',
      `the amount needed, in the account's currency: digits and an optional dot, e.g. 125.50 (at most ${AMOUNT_MAX_INTEGER_DIGITS} digits before the dot and ${AMOUNT_MAX_FRACTION_DIGITS} after)`,
    )
    .option('--allow-credit', 'also check credit accounts, against their available credit')
    .option('--json', 'print one JSON document on stdout (fields in the README)')
    .option('--env <env>', 'only consider items linked in this environment')
    .option('--min-last-updated <iso>', 'the oldest balance accepted where Plaid has no real-time one (Capital One credit cards; default: 24 h)')
    .option('--timeout <seconds>', 'per-attempt timeout (default 60: Plaid can take 30 s or more)', parseSeconds)
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal check --item checking --account BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp --amount 125.50
  $ plaidbal check -i checking -a BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp --amount 40 --json | jq '{sufficient, shortfall}'
  $ plaidbal check -i card -a <credit_account_id> --amount 300 --allow-credit
  $ plaidbal check -i checking -a <account_id> --amount 125.50 && echo "go ahead"

Sufficient means available >= amount, compared exactly in decimal. When Plaid reports no
available balance for a depository account, the current balance is used and plaidbal says so.
Credit accounts need --allow-credit and use the available credit (Plaid's, or limit - current);
loan, investment and other accounts are refused. One billed real-time call per check.
Capital One (ins_128026) has no real-time balance for credit cards: plaidbal accepts one up to
24 h old (--min-last-updated changes that) and says how old the figure it compared is.

Exit codes: 0 sufficient, 7 insufficient, 2 bad input or an account that cannot be checked,
3 store/credentials, 4 the item needs its user (plaidbal link --update), 5 Plaid/network,
130 interrupted (Ctrl-C during the call waits for Plaid's answer and prints the verdict).`,
    );
}

export type CheckOptions = OptionsOf<typeof checkCommand>;

export function registerCheck(program: CommandUnknownOpts, runner: Runner): void {
  checkCommand(program).action(async (opts, command) => runner(command, async (ctx) => (await import('./run.js')).runCheck(ctx, opts)));
}
