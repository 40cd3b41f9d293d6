import type { Command } from 'commander';
import type { Runner } from '../../cli.js';
import { parseAlias } from '../options.js';

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
  $ plaidbal items remove checking --yes`,
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
    .option('--local', 'only delete the local copy (for an item whose key or token is lost); the item stays at Plaid')
    .action(async (ref: string, opts: ItemsRemoveOptions, command: Command) =>
      runner(command, async (ctx) => (await import('./run.js')).runItemsRemove(ctx, ref, opts)),
    );
}
