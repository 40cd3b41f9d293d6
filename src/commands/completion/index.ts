/**
 * Shell completion, through @bomb.sh/tab's commander adapter:
 * - `plaidbal completion bash|zsh|fish|powershell` prints tab's script for that shell;
 * - the script calls the hidden `plaidbal complete -- <words>` on each Tab press, which answers
 *   `value<TAB>description` lines and a `:<directive>` line.
 * The adapter reads commands, flags, arguments and `.choices()` from the commander program
 * itself; this module adds what commander cannot say: the flags a subcommand inherits, and the
 * values of `--env`, `--products` and of every place an item is expected.
 *
 * A completion request loads nothing but the CLI unit and reads store.json's readable metadata
 * (store-items.ts); it never unlocks, prompts, calls Plaid or writes.
 */
import type { Command as TabCommand, Complete, RootCommand } from '@bomb.sh/tab';
import tab from '@bomb.sh/tab/commander';
import type { Command, Option } from 'commander';
import { storeItems } from './store-items.js';
import { environmentChoices, itemChoices, productChoices, type Choice } from './values.js';

/** Options that take an item (alias or item_id), by long name, in every command that has them. */
export const ITEM_OPTIONS = ['item', 'update'];

/** Commands whose `item` argument is an item (alias or item_id). A new one is one line here. */
export const ITEM_ARGUMENTS = ['items status', 'items rename', 'items remove', 'sandbox reset-login'];

/** The hidden command the scripts call, and the one users run; tab's names. */
export const COMPLETE_COMMAND = 'complete';
export const COMPLETION_COMMAND = 'completion';

const EXAMPLES = `
Examples:
  $ source <(plaidbal completion bash)            # bash, this session (needs bash-completion)
  $ plaidbal completion bash > ~/.local/share/bash-completion/completions/plaidbal
  $ plaidbal completion zsh > ~/.zfunc/_plaidbal  # zsh: with fpath+=(~/.zfunc) before compinit
  $ plaidbal completion fish > ~/.config/fish/completions/plaidbal.fish
  PS> plaidbal completion powershell | Out-String | Invoke-Expression

Completes commands, flags, --env, --format, --products, and item aliases (--item, --update,
items status|rename|remove, sandbox reset-login) from the store's readable metadata: no key,
prompt, Plaid call or write. See README.md, "Shell completion".`;

/**
 * Adds `completion <shell>` and the hidden `complete` command. Call it after every other
 * command is registered: it describes the program as it is then.
 */
export function registerCompletion(program: Command, env: NodeJS.ProcessEnv): RootCommand {
  const root = tab(program, { completionCommandName: COMPLETION_COMMAND });
  const completion = subcommand(program, COMPLETION_COMMAND);
  completion.description('print a shell completion script: bash, zsh, fish or powershell').addHelpText('after', EXAMPLES);
  root.commands.get(COMPLETION_COMMAND)!.description = completion.description();

  // The words after `complete --`, the last one being the word under the cursor. tab's handlers
  // are not given them, and tab's parse() drops a trailing empty word, so keep a copy first.
  let words: string[] = [];
  subcommand(program, COMPLETE_COMMAND).hook('preAction', (command) => {
    words = [...((command.processedArgs[0] as string[] | undefined) ?? [])];
  });

  const offer = (choices: () => Choice[]) => (complete: Complete) => {
    for (const choice of choices()) complete(choice.value, choice.description);
  };
  const items = offer(() => itemChoices(storeItems(env), words));
  const values: Record<string, (complete: Complete) => void> = {
    env: offer(environmentChoices),
    products: offer(() => productChoices(words.at(-1) ?? '')),
    ...Object.fromEntries(ITEM_OPTIONS.map((name) => [name, items])),
  };

  for (const [command, tabCommand] of commands(program, root)) {
    addInheritedOptions(command, tabCommand);
    for (const [name, option] of tabCommand.options) {
      if (values[name] && !option.isBoolean) option.handler = values[name];
    }
  }
  for (const path of ITEM_ARGUMENTS) {
    const argument = root.commands.get(path)?.arguments.get('item');
    if (argument) argument.handler = items;
  }
  return root;
}

function subcommand(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`@bomb.sh/tab registered no "${name}" command; its commander adapter changed.`);
  return found;
}

/** Every visible command with its node in tab's tree (the program is the root, path ""). */
function commands(program: Command, root: RootCommand): [Command, TabCommand][] {
  const found: [Command, TabCommand][] = [[program, root]];
  const walk = (command: Command, path: string) => {
    for (const sub of command.createHelp().visibleCommands(command)) {
      const subPath = path ? `${path} ${sub.name()}` : sub.name();
      const node = root.commands.get(subPath);
      if (node) found.push([sub, node]);
      walk(sub, subPath);
    }
  };
  walk(program, '');
  return found;
}

/**
 * The adapter gives each command its own flags only, but commander also takes a parent's flags
 * after a subcommand (`plaidbal items status --env production`, `plaidbal balance --debug`):
 * the "Global Options" of its help. Registered the way the adapter registers a command's own.
 */
function addInheritedOptions(command: Command, node: TabCommand): void {
  for (let parent = command.parent; parent; parent = parent.parent) {
    for (const option of parent.options.filter((o: Option) => !o.hidden)) {
      const name = option.long?.slice(2);
      if (!name || node.options.has(name)) continue;
      const short = option.short && !option.short.startsWith('--') ? option.short.slice(1) : undefined;
      if (option.required || option.optional) {
        const choices = option.argChoices ?? [];
        node.option(name, option.description, (complete: Complete) => choices.forEach((c) => complete(c, '')), short);
      } else {
        node.option(name, option.description, short);
      }
    }
  }
}
