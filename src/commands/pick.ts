/**
 * Which linked items a command acts on: the items named (--item, or the ITEM argument), every
 * item with --all, or the only one linked. One function, so balance, check, items status and
 * items rotate ask the same questions in the same words.
 */
import { usageError } from '../errors.js';
import type { StoredItem } from '../store/document.js';
import type { Store } from '../store/store.js';
import { cappedList } from '../text.js';
import { ENVIRONMENTS, type Environment } from '../types.js';

export interface ItemChoice {
  /** The items named on the command line (alias or item_id), in order; repeats count once. */
  refs: readonly string[];
  /** --all was passed. */
  all?: boolean;
  /** --env: only items linked in this environment. */
  env?: Environment;
  /** How this command names an item, for the hint: `--item <item>`, or `plaidbal items status <item>`. */
  nameWith: string;
  /** The command has --all (so the messages offer it). */
  allowAll: boolean;
  /**
   * With nothing named and one item linked, act on it. Off for writes (items rotate): those
   * always name their item, or pass --all.
   */
  onlyItemByDefault: boolean;
  /** Every item must be of one environment (one Plaid client, one pacer). */
  oneEnvironment: boolean;
}

/** The items to act on, grouped by environment (sandbox first), else a usage error (exit 2) saying what to pass. */
export function pickItems(store: Store, choice: ItemChoice): StoredItem[] {
  const { refs, all = false, env } = choice;
  if (all && refs.length) throw usageError('Name an item or pass --all, not both.', 'Drop --all to act on the items named, or drop the names to act on every item.');
  let items: StoredItem[];
  if (refs.length) {
    // One entry per item, however often (and under whichever names) it was named.
    items = [...new Map(refs.map((ref) => store.resolveItem(ref, env)).map((i) => [i.item_id, i])).values()];
  } else {
    items = store.items(env);
    if (items.length === 0) throw usageError(`No items are linked${env ? ` in ${env}` : ''} yet.`, 'Link one with `plaidbal link` (or `plaidbal link --sandbox`).');
    if (!all && (items.length > 1 || !choice.onlyItemByDefault)) {
      const or = choice.allowAll ? '; or pass --all' : '';
      throw usageError(
        items.length > 1 ? 'Which item? More than one is linked.' : `Which item? Name it${choice.allowAll ? ', or pass --all' : ''}.`,
        `Name one with ${choice.nameWith}: ${cappedList(items.map((i) => i.alias))}${or}.`,
      );
    }
  }
  if (choice.oneEnvironment && new Set(items.map((i) => i.environment)).size > 1) {
    throw usageError('Those items were linked in different environments; act on one environment at a time.', 'Add --env sandbox or --env production.');
  }
  return ENVIRONMENTS.flatMap((environment) => items.filter((i) => i.environment === environment));
}
