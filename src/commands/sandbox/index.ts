import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';

export function registerSandbox(program: CommandUnknownOpts, runner: Runner): void {
  const sandbox = program
    .command('sandbox')
    .description('Sandbox-only tools for rehearsing failures')
    .addHelpText('after', '\nExamples:\n  $ plaidbal sandbox reset-login demo    # then: plaidbal link --update demo\n  $ plaidbal link --sandbox --sandbox-password error_ITEM_LOCKED   # rehearse a Plaid error at link');
  sandbox
    .command('reset-login')
    .description('force a Sandbox item into ITEM_LOGIN_REQUIRED (/sandbox/item/reset_login), to rehearse `link --update`')
    .argument('<item>', 'alias or item_id')
    .addHelpText('after', '\nExamples:\n  $ plaidbal sandbox reset-login demo\n  $ plaidbal balance --item demo        # exits 4: ITEM_LOGIN_REQUIRED\n  $ plaidbal link --update demo')
    .action(async (ref, _opts, command) =>
      runner(command, async (ctx) => (await import('./run.js')).runResetLogin(ctx, ref)),
    );
}
