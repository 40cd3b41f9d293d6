/**
 * Shell completion, with @bomb.sh/tab's scripts and completion protocol:
 * - `plaidbal completion bash|zsh|fish|powershell` prints tab's script for that shell;
 * - the script calls the hidden `plaidbal complete -- <words>` on each Tab press, which answers
 *   `value<TAB>description` lines and a `:<directive>` line (run.ts).
 * Registering costs commander two commands: tab is loaded (a unit of its own, see
 * scripts/build.mjs) and the program described to it only when one of them runs.
 */
import { Argument, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/** The hidden command the scripts call: the name tab's scripts use. */
export const COMPLETE_COMMAND = 'complete';

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

/** Call it after every other command is registered: completion describes the program as it is when it runs. */
export function registerCompletion(program: CommandUnknownOpts, runner: Runner): void {
  program
    .command('completion')
    .description('print a shell completion script: bash, zsh, fish or powershell')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText('after', EXAMPLES)
    .action(async (shell, _opts, command) =>
      runner(command, async () => (await import('./run.js')).runCompletionScript(program.name(), shell)),
    );

  program
    .command(COMPLETE_COMMAND, { hidden: true })
    .description('answer a completion script: plaidbal complete -- <words>, the last being the word under the cursor')
    .argument('[words...]')
    .action(async (words, _opts, command) =>
      runner(command, async (ctx) => (await import('./run.js')).runComplete(ctx, program, words)),
    );
}
