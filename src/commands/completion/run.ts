/**
 * Shell completion's logic: the commander program described to @bomb.sh/tab's RootCommand,
 * which matches the words typed so far and prints what fits (tab's protocol), and tab's script
 * for each shell. Commands, flags, arguments and `.choices()` come from the program itself; this
 * adds what commander cannot say: the values of --env and --products, and the store's aliases
 * wherever an item is expected.
 *
 * Why not tab's commander adapter: it registers its commands and walks the program when the
 * program is built, so every run (`balance`, `--help`) would pay for loading tab and for the
 * walk. Here tab is loaded, and the program walked, only when completing.
 *
 * tab writes with console.log, that is to process.stdout: the CLI's stdout (ctx.io.stdout).
 */
import { RootCommand, type Command as TabCommand, type Complete } from '@bomb.sh/tab';
import type { CommandUnknownOpts as Command, Option } from '@commander-js/extra-typings';
import type { Ctx } from '../../context.js';
import type { Shell } from './index.js';
import { storeItems } from './store-items.js';
import { environmentChoices, itemChoices, productChoices, type Choice } from './values.js';

/** Flags that take an item (alias or item_id), by long name, in every command that has them. */
export const ITEM_OPTIONS = ['item', 'update'];

/** Commands whose `item` argument is an item (alias or item_id). A new one is one line here. */
export const ITEM_ARGUMENTS = ['items status', 'items rename', 'items remove', 'items rotate', 'sandbox reset-login'];

export function runCompletionScript(name: string, shell: Shell): void {
  new RootCommand().setup(name, name, shell);
}

/** `words`: what follows `plaidbal` on the line, the last one being the word under the cursor. */
export function runComplete(ctx: Pick<Ctx, 'env'>, program: Command, words: string[]): void {
  const offer = (choices: () => Choice[]) => (complete: Complete) => {
    for (const choice of choices()) complete(choice.value, choice.description);
  };
  const items = offer(() => itemChoices(storeItems(ctx.env), words));
  const optionValues: Record<string, (complete: Complete) => void> = {
    env: offer(environmentChoices),
    products: offer(() => productChoices(words.at(-1) ?? '')),
    ...Object.fromEntries(ITEM_OPTIONS.map((name) => [name, items])),
  };
  const root = new RootCommand();
  describe(program, root, root, '', { optionValues, items });
  // tab's parse drops a trailing empty word from the array it is given.
  root.parse([...words]);
}

interface Values {
  optionValues: Record<string, (complete: Complete) => void>;
  items: (complete: Complete) => void;
}

const offerAll = (values: readonly string[]) => (complete: Complete) => values.forEach((value) => complete(value, ''));

/** One command and, below it, every visible subcommand, keyed by path ("items status"), as tab's tree has them. */
function describe(command: Command, node: TabCommand, root: RootCommand, path: string, values: Values): void {
  // A command's own flags and, as commander parses them, its parents' ("Global Options" in its help).
  const options = [...command.createHelp().visibleOptions(command)];
  for (let parent = command.parent; parent; parent = parent.parent) options.push(...parent.options.filter((o: Option) => !o.hidden));
  for (const option of options) {
    const name = option.long?.slice(2);
    if (!name || node.options.has(name)) continue;
    const short = option.short && !option.short.startsWith('--') ? option.short.slice(1) : undefined;
    if (option.required || option.optional) {
      // A flag that takes a value always gets a handler, even one that offers nothing: that is how tab knows.
      const handler = values.optionValues[name] ?? offerAll(option.argChoices ?? []);
      node.option(name, option.description, handler, short);
    } else {
      node.option(name, option.description, short);
    }
  }
  for (const argument of command.registeredArguments) {
    const handler = argument.name() === 'item' && ITEM_ARGUMENTS.includes(path) ? values.items : argument.argChoices ? offerAll(argument.argChoices) : undefined;
    node.argument(argument.name(), handler, argument.variadic);
  }
  for (const sub of command.createHelp().visibleCommands(command)) {
    const subPath = path ? `${path} ${sub.name()}` : sub.name();
    describe(sub, root.command(subPath, sub.description()), root, subPath, values);
  }
}
