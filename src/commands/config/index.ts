import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { parseList, type OptionsOf } from '../options.js';

/** config init's flags; their types (ConfigInitOptions) come from these calls. */
function initCommand(config: CommandUnknownOpts) {
  return config
    .command('init')
    .description('save Plaid credentials for an environment (prompts on a terminal)')
    .option('--env <env>', 'sandbox or production (default: PLAID_ENV, else sandbox)')
    .option('--client-id <id>', 'Plaid client_id')
    .option('--secret-stdin', 'read the Plaid secret from stdin (never pass it as an argument)')
    .option('--client-name <name>', 'name shown in Plaid Link')
    .option('--country-codes <codes>', 'Link country codes, comma-separated (default US)', parseList)
    .option('--language <lang>', 'Link language (default en)')
    .addOption(new Option('--key-source <source>', 'how the store key is kept (default: keychain when one answers)').choices(['keychain', 'passphrase'] as const))
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal config init
  $ printf '%s' "$PLAID_SECRET" | plaidbal config init --env sandbox --client-id 5f... --secret-stdin
  $ PLAIDBAL_PASSPHRASE=... plaidbal config init --env production --client-id 5f... --secret-stdin --key-source passphrase < secret.txt`,
    );
}

export type ConfigInitOptions = OptionsOf<typeof initCommand>;

/** config show's flags; their types (ConfigShowOptions) come from these calls. */
function showCommand(config: CommandUnknownOpts) {
  return config
    .command('show')
    .description('show the saved configuration (secrets redacted)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ plaidbal config show\n  $ plaidbal config show --json');
}

export type ConfigShowOptions = OptionsOf<typeof showCommand>;

/** config rekey's flags; their types (ConfigRekeyOptions) come from these calls. */
function rekeyCommand(config: CommandUnknownOpts) {
  return config
    .command('rekey')
    .description('re-seal every secret under a new key: a new passphrase, or a move between keychain and passphrase')
    .addOption(new Option('--to <source>', 'the new key source (default: the current one, with a new key)').choices(['keychain', 'passphrase'] as const))
    .addHelpText(
      'after',
      `
The old key (PLAIDBAL_PASSPHRASE or a prompt, or the keychain) opens the store; the new
passphrase comes from PLAIDBAL_NEW_PASSPHRASE or a prompt (asked twice). The switch is one
atomic write: if rekey is interrupted, the store still opens with the old key.

Examples:
  $ plaidbal config rekey                          # new passphrase (or a new keychain key)
  $ plaidbal config rekey --to keychain            # passphrase -> OS keychain
  $ PLAIDBAL_PASSPHRASE=old PLAIDBAL_NEW_PASSPHRASE=new plaidbal config rekey --to passphrase`,
    );
}

export type ConfigRekeyOptions = OptionsOf<typeof rekeyCommand>;

export function registerConfig(program: CommandUnknownOpts, runner: Runner): void {
  const config = program
    .command('config')
    .description('Plaid credentials, key source and where the store lives')
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal config init                                  # asks for each value on a terminal
  $ printf '%s' "$PLAID_SECRET" | plaidbal config init --env production --client-id "$PLAID_CLIENT_ID" --secret-stdin
  $ plaidbal config show --json
  $ plaidbal config rekey --to passphrase                 # keep the store key behind a passphrase instead`,
    );

  initCommand(config).action(async (opts, command) => runner(command, async (ctx) => (await import('./init.js')).runConfigInit(ctx, opts)));

  showCommand(config).action(async (opts, command) => runner(command, async (ctx) => (await import('./show.js')).runConfigShow(ctx, opts)));
  rekeyCommand(config).action(async (opts, command) => runner(command, async (ctx) => (await import('./rekey.js')).runConfigRekey(ctx, opts)));

  config
    .command('path')
    .description('print the path of the store file')
    .addHelpText('after', '\nExamples:\n  $ plaidbal config path\n  $ ls -l "$(plaidbal config path)"')
    .action(async (_opts, command) =>
      runner(command, async (ctx) => {
        const { storePath } = await import('../../store/paths.js');
        ctx.io.stdout.write(`${storePath(ctx.env)}\n`);
      }),
    );
}
