import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { parseAlias, parseList, parseSeconds, type OptionsOf } from '../options.js';

/** link's flags; their types (LinkOptions) come from these calls. */
function linkCommand(program: CommandUnknownOpts) {
  return program
    .command('link')
    .description('link a bank account with Plaid Link and save its access token, encrypted')
    .option('--name <alias>', 'alias for the item (default: from the institution name)', parseAlias)
    .option('--products <list>', 'Plaid products to initialise, comma-separated (default auth: a one-time fee; "balance" is not a Link product)', parseList)
    .option('--env <env>', 'sandbox or production (default: PLAID_ENV, else sandbox)')
    .option('--update <item>', 'update mode: fix an item\'s login (same item, same access token)')
    .option('--hosted', 'use Plaid Hosted Link: print a URL to open on any device, and poll for the result')
    .option('--no-browser', 'do not open a browser; just print the URL')
    .option('--country <codes>', 'Link country codes, comma-separated (default: from config, else US)', parseList)
    .option('--language <lang>', 'Link language (default: from config, else en)')
    .option('--redirect-uri <uri>', 'OAuth redirect URI registered in the Plaid dashboard (not needed on desktop web)')
    .option('--timeout <seconds>', 'how long to wait for Link to finish (default 600; never past the link token: 30 min in update mode and with --hosted, else 4 h); with --sandbox, the per-request timeout', parseSeconds)
    .option('--sandbox', 'Sandbox only: create the item directly with /sandbox/public_token/create, no browser')
    .addOption(new Option('--institution <id>', 'with --sandbox: the Sandbox institution').default('ins_109508'))
    .option('--sandbox-username <user>', 'with --sandbox: Sandbox test username (default user_good)')
    .option('--sandbox-password <password>', 'with --sandbox: Sandbox test password, e.g. error_ITEM_LOCKED (a test value, not a secret)')
    .option('--json', 'print the linked item as JSON on stdout')
    .option('-y, --yes', 'in Production, do not ask before linking with a subscription product')
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal link                                   # opens Plaid Link in your browser
  $ plaidbal link --no-browser                      # over SSH: copy the printed URL
  $ plaidbal link --hosted                          # Hosted Link, for machines with no browser
  $ plaidbal link --update checking                 # fix ITEM_LOGIN_REQUIRED on "checking"
  $ plaidbal link --sandbox --name demo             # Sandbox: First Platypus Bank, no browser
  $ plaidbal link --sandbox --institution ins_109511 --products auth,transactions
  $ plaidbal link --sandbox --sandbox-password error_ITEM_LOCKED   # rehearse an error

Products, and how Plaid bills them (plaid.com/docs/account/billing; your contract sets the prices):
  auth (default), identity                 one-time fee per item
  transactions, investments, liabilities   subscription: monthly per item until it is removed
                                           (plaidbal items remove); in Production, link asks first
  balance (not a Link product)             per call: every real-time balance call is billed,
                                           whatever the item's products
  With auth, Link lists only institutions that support it, and only checking, savings and
  cash-management accounts; for credit cards, loans or investments use --products transactions.`,
    );
}

export type LinkOptions = OptionsOf<typeof linkCommand>;

export function registerLink(program: CommandUnknownOpts, runner: Runner): void {
  linkCommand(program).action(async (opts, command) =>
    runner(command, async (ctx) => {
      if (opts.sandbox) return (await import('./sandbox.js')).runLinkSandbox(ctx, opts);
      return (await import('./browser.js')).runLink(ctx, opts);
    }),
  );
}
