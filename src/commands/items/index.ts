import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { usageError } from '../../errors.js';
import { CONCURRENCY_HELP, parseAlias, parseConcurrency, parseRate, RATE_HELP, type OptionsOf } from '../options.js';

// Each command's flags are declared once, below, and their types come from those calls.
// --json and --env are options of `items` itself: commander hands them to `items` wherever they
// appear, so rotate, import and status get them from there (ItemsListOptions & their own).

function itemsCommand(program: CommandUnknownOpts) {
  return program
    .command('items')
    .description('list, rename and remove linked items (no unlocking needed to list)')
    .option('--json', 'print JSON')
    .option('--env <env>', 'only items linked in this environment')
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal items
  $ plaidbal items --json | jq -r '.items[].alias'
  $ plaidbal items rename first-platypus-bank checking
  $ plaidbal items remove checking --yes
  $ plaidbal items rotate checking --yes
  $ printf '%s' "$TOKEN" | plaidbal items import --name acme-42`,
    );
}

type ItemsCommand = ReturnType<typeof itemsCommand>;

/**
 * --json is an option of `items` (commander gives it to `items` wherever it is on the line), and
 * `--help` lists it under every subcommand. rename and remove print nothing on stdout: refused
 * there, rather than accepted and ignored, so a script that asks for JSON learns it gets none.
 */
function noJson(items: ItemsCommand, sub: 'rename' | 'remove'): void {
  if (items.opts().json) throw usageError(`items ${sub} prints nothing on stdout, so it takes no --json; its exit code says whether it worked (0: done).`, `Drop --json, and list the items afterwards with: plaidbal items --json`);
}

function removeCommand(items: ItemsCommand) {
  return items
    .command('remove')
    .description('remove an item at Plaid (/item/remove), then delete it locally')
    .argument('<item>', 'alias or item_id')
    .option('-y, --yes', 'do not ask for confirmation (required where plaidbal cannot ask: no terminal, or CI set)')
    .option('--local', 'only delete the local copy (for an item whose key or token is lost); the item stays at Plaid, and a subscription keeps billing')
    .addHelpText('after', '\nExamples:\n  $ plaidbal items remove checking --yes          # /item/remove at Plaid, then the local copy\n  $ plaidbal items remove old-bank --local --yes  # the local copy only\n\nPrints nothing on stdout (so no --json); exit 0 when removed.');
}

function rotateCommand(items: ItemsCommand) {
  return items
    .command('rotate')
    .description("a new access token for an item (/item/access_token/invalidate); Plaid kills the old one at once")
    .argument('[item]', 'alias or item_id')
    .option('--all', 'every item of one environment (--env when items of both are linked)')
    .option('-y, --yes', 'do not ask for confirmation (required where plaidbal cannot ask: no terminal, or CI set)')
    .option('--rate <calls-per-minute>', "with --all: calls per minute (default: half of the per-client limit plaidbal assumes for /item/access_token/invalidate; at most that limit)", parseRate)
    .option('--recover [file]', 'finish a rotation whose new token went to a recovery file because the store could not be saved')
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal items rotate checking
  $ plaidbal items rotate checking --yes
  $ plaidbal items rotate --all --env production --yes --json | jq -r '.items[] | select(.result != "rotated") | .name'
  $ plaidbal items rotate --recover

The old token stops working the moment Plaid answers. The new one is sealed and saved at once
under the store lock; if the store cannot be saved, it is kept sealed in a recovery file
(plaidbal-rotated-*.json beside the store) and \`plaidbal items rotate --recover\` finishes.
A crash between Plaid's answer and that write loses the new token (README: "plaidbal items rotate").
Tokens are never printed.

Exit codes: 0 rotated; 8 the confirmation declined; 2 no confirmation without a terminal (--yes),
bad input or an unfinished earlier rotation; 3 store or key (nothing rotated, or: rotated and kept
in a recovery file, or lost); 5 Plaid/network (not rotated); --all: 6 when any item was not rotated.`,
    );
}

function importCommand(items: ItemsCommand) {
  return items
    .command('import')
    .description("bring in access tokens linked elsewhere, from stdin only; each is checked with Plaid's free /item/get")
    .addOption(new Option('--format <format>', 'what stdin holds: one bare token, NDJSON lines, or CSV with a header').choices(['token', 'ndjson', 'csv'] as const).default('token'))
    .option('--name <alias>', 'the alias for the one token of --format token (default: from the institution name)', parseAlias)
    .option('--rate <calls-per-minute>', RATE_HELP, parseRate)
    .option('--concurrency <n>', CONCURRENCY_HELP, parseConcurrency)
    .addHelpText(
      'after',
      `
Examples:
  $ printf '%s' "$TOKEN" | plaidbal items import --name acme-42
  $ plaidbal items import --format ndjson < tokens.ndjson     # {"access_token": "access-…", "name": "acme-42"} per line
  $ plaidbal items import --format csv < tokens.csv           # header: access_token,name
  $ plaidbal items import --format ndjson --json < tokens.ndjson | jq -r '.rows[] | select(.status == "failed") | .line'

Tokens come in on stdin only (never as an argument) and are never printed: rows are named by
line number and alias. The environment comes from each token's prefix (access-sandbox-,
access-production-); --env must agree. The whole input is checked before anything happens: a
bad line, a repeated token or name, or a token of another environment exits 2 and changes
nothing. Each new token is checked with the free /item/get (no billed call). A token already
stored is unchanged; a new token for a stored item replaces the old one (updated).

Exit codes: 0 every row imported, updated or unchanged; 6 some rows failed (the others are
imported); 2 bad input; 3 store or credentials; 130 interrupted (rows already saved stay;
run the same import again to finish).`,
    );
}

function statusCommand(items: ItemsCommand) {
  return items
    .command('status')
    .description("health of linked items, from Plaid's free /item/get: errors, consent expiry, products, last balance")
    .argument('[item]', 'alias or item_id (optional when only one item is linked)')
    .option('--all', 'every linked item, of both environments unless --env')
    .option('--rate <calls-per-minute>', RATE_HELP, parseRate)
    .option('--concurrency <n>', CONCURRENCY_HELP, parseConcurrency)
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal items status checking
  $ plaidbal items status --all
  $ plaidbal items status --all --env production --json | jq -r '.items[] | select(.status != "ok") | .fix // .error.error_code'

Exit codes: 0 healthy; one item: 4 when it needs its user (plaidbal link --update), 3/5 when the
call fails; --all: 6 when any item is not healthy (every item is still listed).`,
    );
}

export type ItemsListOptions = ReturnType<ItemsCommand['opts']>;
export type ItemsRemoveOptions = ItemsListOptions & OptionsOf<typeof removeCommand>;
export type ItemsRotateOptions = ItemsListOptions & OptionsOf<typeof rotateCommand>;
export type ItemsImportOptions = ItemsListOptions & OptionsOf<typeof importCommand>;
export type ItemsStatusOptions = ItemsListOptions & OptionsOf<typeof statusCommand>;

export function registerItems(program: CommandUnknownOpts, runner: Runner): void {
  const items = itemsCommand(program).action(async (opts, command) => runner(command, async (ctx) => (await import('./run.js')).runItemsList(ctx, opts)));

  items
    .command('rename')
    .description('give an item a new alias (unique within its environment)')
    .argument('<item>', 'alias or item_id')
    .argument('<alias>', 'the new alias', parseAlias)
    .addHelpText('after', '\nExamples:\n  $ plaidbal items rename first-platypus-bank checking\n  $ plaidbal items rename 8L7XgwE1pXsZMWaZ9Ew1h6ABdkzn6JtE4mxx7 acme-42\n\nPrints nothing on stdout (so no --json); exit 0 when renamed.')
    .action(async (ref, alias, _opts, command) =>
      runner(command, async (ctx) => {
        noJson(items, 'rename');
        return (await import('./run.js')).runItemsRename(ctx, ref, alias, items.opts());
      }),
    );

  removeCommand(items).action(async (ref, opts, command) =>
    runner(command, async (ctx) => {
      noJson(items, 'remove');
      return (await import('./run.js')).runItemsRemove(ctx, ref, { ...items.opts(), ...opts });
    }),
  );
  rotateCommand(items).action(async (ref, opts, command) =>
    runner(command, async (ctx) => (await import('./rotate.js')).runItemsRotate(ctx, ref, { ...items.opts(), ...opts })),
  );
  importCommand(items).action(async (opts, command) =>
    runner(command, async (ctx) => (await import('./import.js')).runItemsImport(ctx, { ...items.opts(), ...opts })),
  );
  statusCommand(items).action(async (ref, opts, command) =>
    runner(command, async (ctx) => (await import('./status.js')).runItemsStatus(ctx, ref, { ...items.opts(), ...opts })),
  );
}
