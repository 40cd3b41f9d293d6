import type { Command } from 'commander';
import type { Runner } from '../../cli.js';
import { CONCURRENCY_HELP, parseAlias, parseConcurrency, parseRate, RATE_HELP } from '../options.js';
import type { ItemsRotateOptions } from './rotate.js';
import type { ItemsStatusOptions } from './status.js';

export interface ItemsListOptions {
  json?: boolean;
  env?: string;
}

export interface ItemsRemoveOptions {
  yes?: boolean;
  local?: boolean;
}

export function registerItems(program: Command, runner: Runner): void {
  const items = program
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
  $ plaidbal items rotate checking --yes`,
    )
    .action(async (opts: ItemsListOptions, command: Command) =>
      runner(command, async (ctx) => (await import('./run.js')).runItemsList(ctx, opts)),
    );

  items
    .command('rename')
    .description('give an item a new alias (unique within its environment)')
    .argument('<item>', 'alias or item_id')
    .argument('<alias>', 'the new alias', parseAlias)
    .action(async (ref: string, alias: string, _opts: unknown, command: Command) =>
      runner(command, async (ctx) => (await import('./run.js')).runItemsRename(ctx, ref, alias)),
    );

  items
    .command('remove')
    .description('remove an item at Plaid (/item/remove), then delete it locally')
    .argument('<item>', 'alias or item_id')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--local', 'only delete the local copy (for an item whose key or token is lost); the item stays at Plaid, and a subscription keeps billing')
    .action(async (ref: string, opts: ItemsRemoveOptions, command: Command) =>
      runner(command, async (ctx) => (await import('./run.js')).runItemsRemove(ctx, ref, opts)),
    );

  items
    .command('rotate')
    .description("a new access token for an item (/item/access_token/invalidate); Plaid kills the old one at once")
    .argument('[item]', 'alias or item_id')
    .option('--all', 'every item of one environment (--env when items of both are linked)')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
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
A crash between Plaid's answer and that write loses the new token (README: Token rotation).
Tokens are never printed.

Exit codes: 0 rotated; 2 no confirmation without a terminal (--yes) or bad input; 3 store or
key (nothing rotated, or: rotated and kept in a recovery file); 5 Plaid/network (not rotated);
--all: 6 when any item was not rotated.`,
    )
    .action(async (ref: string | undefined, _opts: ItemsRotateOptions, command: Command) =>
      // --json and --env are the parent `items`' options (commander hands them to it wherever they appear).
      runner(command, async (ctx) => (await import('./rotate.js')).runItemsRotate(ctx, ref, command.optsWithGlobals<ItemsRotateOptions>())),
    );

  items
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
    )
    .action(async (ref: string | undefined, _opts: ItemsStatusOptions, command: Command) =>
      // --json and --env are the parent `items`' options (commander hands them to it wherever they appear).
      runner(command, async (ctx) => (await import('./status.js')).runItemsStatus(ctx, ref, command.optsWithGlobals<ItemsStatusOptions>())),
    );
}
