/**
 * What shell completion offers as a value: item aliases, environments and Link products.
 * Pure functions of the words on the command line and the store's readable metadata.
 */
import { ENVIRONMENTS, type Environment, type ItemRecord } from '../../types.js';
import { LINK_PRODUCTS } from '../link/products.js';
import { oneLine } from '../../text.js';

/** One value to offer, with the description zsh, fish and PowerShell show beside it. */
export interface Choice {
  value: string;
  description: string;
}

/** What an item contributes to completion: nothing sealed, nothing else. */
export type ItemMetadata = Pick<ItemRecord, 'alias' | 'environment' | 'institution_name'>;

/**
 * Aliases made only of letters, digits and `_ . + % , -`. Anything else is left out: bash's
 * `compgen -W` expands `$…`, `` `…` ``, globs and braces in the words it is given (an alias such
 * as `$(reboot)` would run), `:` `=` `@` split words in bash, and quotes and spaces would need
 * escaping. Such an item is still there; it is just not offered.
 */
const OFFERABLE_ALIAS = /^[\p{L}\p{N}_.+%,-]+$/u;

export function offerableAlias(alias: string): boolean {
  return OFFERABLE_ALIAS.test(alias) && !alias.startsWith('-');
}

const DESCRIPTION_MAX = 60;

/** A description is one field of one line of the completion protocol, and is shown on the user's terminal. */
function showable(text: string): string {
  const clean = oneLine(text);
  return [...clean].length > DESCRIPTION_MAX ? `${[...clean].slice(0, DESCRIPTION_MAX - 1).join('')}…` : clean;
}

/**
 * The environment named by `--env X` or `--env=X` among the words already typed (the last one
 * wins, as it does for commander), when it is one plaidbal knows.
 */
export function environmentOf(typed: readonly string[]): Environment | undefined {
  let found: string | undefined;
  for (let i = 0; i < typed.length; i++) {
    const word = typed[i]!;
    if (word === '--env' && i + 1 < typed.length) found = typed[++i];
    else if (word.startsWith('--env=')) found = word.slice('--env='.length);
  }
  return (ENVIRONMENTS as readonly string[]).includes(found ?? '') ? (found as Environment) : undefined;
}

/**
 * The aliases to offer where an item is expected, limited to the environment an `--env` on the
 * line names. `words` is the whole line after `plaidbal`, its last element the word being
 * completed.
 */
export function itemChoices(items: readonly ItemMetadata[], words: readonly string[]): Choice[] {
  const environment = environmentOf(words.slice(0, -1));
  return items
    .filter((item) => (environment === undefined || item.environment === environment) && offerableAlias(item.alias))
    .map((item) => ({ value: item.alias, description: showable([item.environment, item.institution_name].filter(Boolean).join(', ')) }));
}

export function environmentChoices(): Choice[] {
  return ENVIRONMENTS.map((environment) => ({ value: environment, description: `Plaid ${environment === 'sandbox' ? 'Sandbox' : 'Production'}` }));
}

/**
 * `--products` takes a comma-separated list: offer each product not yet in it, after what is
 * already typed (`auth,tr` → `auth,transactions`), since shells match a whole word.
 */
export function productChoices(current: string): Choice[] {
  const value = current.startsWith('--') && current.includes('=') ? current.slice(current.indexOf('=') + 1) : current;
  const head = value.slice(0, value.lastIndexOf(',') + 1);
  const listed = new Set(head.split(',').map((p) => p.trim()));
  return LINK_PRODUCTS.filter((product) => !listed.has(product)).map((product) => ({ value: `${head}${product}`, description: 'Link product' }));
}
