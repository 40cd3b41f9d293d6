import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Runner } from '../../cli.js';
import { parseSeconds, type OptionsOf } from '../options.js';

/** doctor's flags; their types (DoctorOptions) come from these calls. */
function doctorCommand(program: CommandUnknownOpts) {
  return program
    .command('doctor')
    .description('what is wrong with this set-up, and how to fix it: Node, store, key, credentials, Plaid host, clock, items (read-only)')
    .option('--json', 'print one JSON document with every check on stdout (fields in the README)')
    .option('--timeout <seconds>', 'per Plaid call (default 10)', parseSeconds)
    .addHelpText(
      'after',
      `
Examples:
  $ plaidbal doctor
  $ plaidbal doctor --json | jq -r '.checks[] | select(.status == "fail") | "\\(.title): \\(.fix)"'
  $ PLAIDBAL_PASSPHRASE=... plaidbal doctor        # also checks a stored secret sealed with a passphrase
  $ plaidbal doctor --timeout 3 || echo "exit $?"

Checks: the Node version against package.json engines; the store's path, modes (0600 file,
0700 directory), contents and lock; the keychain and passphrase; the credentials of each
environment in use, with one free /institutions/get; the Plaid host (reachable, TLS, round
trip); the clock against Plaid's Date header; the items, and Sandbox items over 30 days old.
Never writes the store, never prints a secret, never makes a billed call; it asks for a
passphrase only on a terminal.

Each check is ✓ ok, ! warning, ✗ failed or – not checked. Exit codes: 0 nothing failed,
3 configuration, credentials, store or clock (before 5 when both failed), 5 network.`,
    );
}

export type DoctorOptions = OptionsOf<typeof doctorCommand>;

export function registerDoctor(program: CommandUnknownOpts, runner: Runner): void {
  doctorCommand(program).action(async (opts, command) => runner(command, async (ctx) => (await import('./run.js')).runDoctor(ctx, opts)));
}
