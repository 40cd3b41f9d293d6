/**
 * The program: command registration and the top level that turns errors into exit codes.
 * Registration is cheap: each command's logic is loaded with `await import()` when it
 * runs, so `--help` and `--version` never load plaid, @inquirer/prompts or cli-table3, and
 * the build puts everything reached that way in a bundle of its own (scripts/build.mjs, splitCli).
 */
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { realContext, type Ctx } from './context.js';
import { draining, finishing, stoppedWhileFinishing } from './critical.js';
import { CliError, ExitCode, isCliError } from './errors.js';
import { processIO, type IO } from './io.js';
import { isPromptCancel } from './prompt.js';
import { errorText, escapeControls } from './text.js';
import { SECRET_VARIABLES } from './types.js';
import { registerBalance } from './commands/balance/index.js';
import { registerCheck } from './commands/check/index.js';
import { registerCompletion } from './commands/completion/index.js';
import { registerConfig } from './commands/config/index.js';
import { registerDoctor } from './commands/doctor/index.js';
import { registerItems } from './commands/items/index.js';
import { registerLink } from './commands/link/index.js';
import { registerSandbox } from './commands/sandbox/index.js';

declare const __PLAIDBAL_VERSION__: string;
export const VERSION = typeof __PLAIDBAL_VERSION__ === 'string' ? __PLAIDBAL_VERSION__ : '0.0.0-dev';

/** Runs a command's logic with a context built from the parsed global flags. */
export type Runner = (command: CommandUnknownOpts, run: (ctx: Ctx) => Promise<number | void>) => Promise<void>;

const EXAMPLES = `
Examples:
  $ plaidbal config init                      # credentials and key source, interactively
  $ plaidbal link                             # link an account in the browser with Plaid Link
  $ plaidbal link --sandbox --name demo       # link a Sandbox item without a browser
  $ plaidbal balance --item demo              # real-time balances as a table
  $ plaidbal balance --item demo --json | jq '.items[0].accounts[].balances.available'
  $ plaidbal check --item demo --account <id> --amount 125.50   # exit 0 sufficient, 7 not
  $ plaidbal items                            # what is linked
  $ plaidbal doctor                           # what is wrong with this set-up, and the fix

Exit codes: 0 ok, 1 unexpected, 2 usage, 3 config/credentials/store, 4 item needs its user,
5 Plaid/network failure, 6 some items failed, 7 insufficient funds, 8 Link closed or a confirmation declined, 130 interrupted.
Docs: see README.md ("plaidbal help <command>" for a command's flags).`;

/** The program and its global flags (--debug, --no-color); `program.opts()` is typed from these calls. */
function programCommand() {
  return new Command('plaidbal')
    .description('Real-time Plaid balance checks for Sandbox and Production.')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--debug', 'log each Plaid call (method, path, status, duration, request_id) to stderr; secrets are never printed')
    .option('--no-color', 'no colour, even on a terminal (NO_COLOR is honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXAMPLES)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });
}

export function buildProgram(runner: Runner) {
  const program = programCommand();
  registerConfig(program, runner);
  registerLink(program, runner);
  registerBalance(program, runner);
  registerCheck(program, runner);
  registerItems(program, runner);
  registerSandbox(program, runner);
  registerDoctor(program, runner);
  registerCompletion(program, runner);
  return program;
}

function printError(io: IO, error: CliError): void {
  const e = io.err;
  io.stderr.write(`${errorText({ red: (s) => e.red.bold(s), cyan: (s) => e.cyan(s) }, error)}\n`);
}

/**
 * Where a run of the program happens: the real process (main), or a test that gives it streams
 * of its own (test/helpers/in-process.ts), the way gh's tests call a command with an IOStreams
 * of buffers.
 */
export interface ProgramHost {
  env: NodeJS.ProcessEnv;
  /** The streams for the run, asked again once --no-color is known. */
  io(noColorFlag: boolean): IO;
  /** Aborted on Ctrl-C, SIGTERM or SIGHUP (reason: an Interruption), or when output is lost while saving. */
  signal: AbortSignal;
}

/**
 * Why a run was stopped from outside. `deferred`: it came while a critical section was open
 * (critical.ts), so what that section ended in, success or a real error, is the run's outcome.
 */
export class Interruption extends CliError {
  constructor(readonly deferred: boolean) {
    super('Interrupted.', { exitCode: ExitCode.INTERRUPTED });
  }
}

/**
 * The signals that stop a run the way Ctrl-C does, and what messages call each. SIGTERM is what
 * `kill`, `timeout` and service managers send, SIGHUP what a closed terminal or SSH session sends:
 * left to Node, either ends the process at once, even between Plaid rotating a token and plaidbal
 * saving it.
 */
const STOPPING_SIGNALS = [
  ['SIGINT', 'Ctrl-C'],
  ['SIGTERM', 'SIGTERM'],
  ['SIGHUP', 'SIGHUP'],
] as const;

/**
 * Stops the run `controller` runs, on Ctrl-C, SIGTERM or SIGHUP (`name`). Inside a critical
 * section it says what is being finished and lets it finish; otherwise the run stops, saying which
 * billed calls it still waits for. main() handles a second stop outside a critical section itself.
 * Tests that run plaidbal in their own process stop it through this too.
 */
export function stopRun(name: string, controller: AbortController, io: IO): void {
  const busy = finishing();
  if (busy) {
    // Plaid has acted and its answer is not on disk yet: stopping now would lose it (critical.ts).
    io.stderr.write(`${io.err.yellow(`${name}: still ${busy}; plaidbal stops as soon as that is safe.`)}\n`);
    stoppedWhileFinishing();
  }
  const drain = busy ? null : draining();
  if (controller.signal.aborted) return;
  controller.abort(new Interruption(busy !== null));
  const waitingFor = drain?.waitingFor();
  if (waitingFor) {
    const again = name === 'Ctrl-C' ? 'Ctrl-C again' : `A second ${name}`;
    io.stderr.write(`${io.err.yellow(`${name}: no new calls; waiting for ${waitingFor}. ${again} cancels them.`)}\n`);
  }
}

/** The controller of the run main() is running, for outputLost(). */
let running: AbortController | null = null;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // The secrets in the environment are read from a copy; the process's own environment, which
  // every child inherits (the browser `link` opens), no longer has them.
  if (env === process.env) {
    env = { ...process.env };
    for (const name of SECRET_VARIABLES) delete process.env[name];
  }
  let io: IO = processIO({ noColorFlag: false, env });
  const controller = new AbortController();
  let cancelled = false;
  const stop = (name: string) => {
    if (!finishing() && controller.signal.aborted) {
      // The second stop cancels billed calls still on their way (critical.ts, Drain); the next exits.
      const drain = draining();
      if (drain === null || cancelled || drain.waitingFor() === null) process.exit(ExitCode.INTERRUPTED);
      cancelled = true;
      io.stderr.write(`${io.err.yellow(`${name}: cancelling the calls still on their way; their answers are lost.`)}\n`);
      drain.cancel();
      return;
    }
    stopRun(name, controller, io);
  };
  const handlers = STOPPING_SIGNALS.map(([signal, name]) => [signal, () => stop(name)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  running = controller;
  try {
    // The streams built above serve until --no-color asks for others.
    return await runProgram(argv, { env, signal: controller.signal, io: (noColorFlag) => (noColorFlag ? (io = processIO({ noColorFlag, env })) : io) });
  } finally {
    running = null;
    for (const [signal, handler] of handlers) process.off(signal, handler);
    untilStdoutWritten(io, controller.signal.aborted);
  }
}

/**
 * The run is over, but a slow reader (`plaidbal balance --all --format ndjson | slow`) may leave
 * output in this process's buffer: output stderr may already have called "on stdout". Left to
 * Node, a Ctrl-C (SIGTERM, SIGHUP) now would end the process and lose it. Until it is written, the
 * first stop says so and waits; the next quits without it (exit 130), as does the first when the
 * run was stopped already (its message promised that the next stop quits). A reader that goes away
 * after a stop (a Ctrl-C at a terminal stops the whole pipeline) loses the output: exit 130 then.
 */
function untilStdoutWritten(io: IO, runStopped: boolean): void {
  const stdout = process.stdout;
  if (stdout.writableLength === 0 || stdout.destroyed) return;
  let stopped = runStopped;
  // Before bin/plaidbal.js's own listener, which exits with process.exitCode on EPIPE.
  const lost = () => {
    if (stopped) process.exitCode = ExitCode.INTERRUPTED;
  };
  stdout.prependListener('error', lost);
  const handlers = STOPPING_SIGNALS.map(
    ([signal, name]) =>
      [
        signal,
        () => {
          if (stopped) process.exit(ExitCode.INTERRUPTED);
          stopped = true;
          io.stderr.write(`${io.err.yellow(`${name}: still writing plaidbal's output to stdout, which its reader has not taken yet. ${name === 'Ctrl-C' ? 'Ctrl-C again' : `A second ${name}`} quits without it.`)}\n`);
        },
      ] as const,
  );
  for (const [signal, handler] of handlers) process.on(signal, handler);
  // Called once everything written before it is out (or stdout failed): nothing is left to lose.
  stdout.write('', (error) => {
    if (error) lost();
    for (const [signal, handler] of handlers) process.off(signal, handler);
    stdout.off('error', lost);
  });
}

/**
 * stdout failed under a run of main(): its reader went away (EPIPE: `plaidbal … | head`), its
 * terminal closed (EIO) or its disk is full (ENOSPC). bin/plaidbal.js asks here before it exits on such an error (stderr's loss
 * never stops a run: it is muted there). Inside a critical section, exiting would lose what Plaid
 * has done, so the run goes on without stdout (writes to it are dropped) and stops once the
 * section is over, as after Ctrl-C: true, the error is taken care of. Outside one, false: nothing
 * is lost by stopping, and the caller does.
 */
export function outputLost(): boolean {
  if (!running || !finishing()) return false;
  if (!running.signal.aborted) running.abort(new Interruption(true));
  return true;
}

/** Parses `argv`, runs the command it names and turns what happened into an exit code: all of main but the process's signals. */
export async function runProgram(argv: string[], host: ProgramHost): Promise<number> {
  const { env, signal } = host;
  let io: IO = host.io(false);
  let exitCode: number = ExitCode.OK;

  const runner: Runner = async (command, run) => {
    // The program's own flags (commander keeps them on the program, wherever on the line they were given).
    const flags = program.opts();
    io = host.io(flags.color === false);
    const ctx = realContext({ io, env, debug: Boolean(flags.debug), signal });
    const code = await run(ctx);
    exitCode = code ?? ExitCode.OK;
  };

  const program = buildProgram(runner).exitOverride();
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: (s, write) => write(io.err.red(escapeControls(s))),
  });
  for (const sub of program.commands) propagate(sub, program);

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else is a usage error.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (signal.aborted && signal.reason instanceof Interruption && signal.reason.deferred && isCliError(error) && error.exitCode !== ExitCode.INTERRUPTED) {
      // Stopped while Plaid's answer was being saved, and the saving failed: that failure, and
      // what it says to do (a recovery file, an item to remove), is the outcome, not "Interrupted".
      printError(io, error);
      return error.exitCode;
    }
    if (signal.aborted && isCliError(error) && (error.plaid !== undefined || error.exitCode === ExitCode.PLAID_FAILURE)) {
      // Plaid's answer to a call a stop waited for (critical.ts, Drain), an error, or that call's
      // failure (a timeout, the network): it is what the wait was for, so it is shown, with its
      // hint, before the run ends as interrupted.
      printError(io, error);
      io.stderr.write(`${io.err.yellow('Interrupted.')}\n`);
      return ExitCode.INTERRUPTED;
    }
    if (signal.aborted || isPromptCancel(error)) {
      // A command that knows what the interruption left behind says so in its error.
      const message = isCliError(error) && error.exitCode === ExitCode.INTERRUPTED ? error.message : 'Interrupted.';
      io.stderr.write(`${io.err.yellow(message)}\n`);
      return ExitCode.INTERRUPTED;
    }
    if (isCliError(error)) {
      printError(io, error);
      return error.exitCode;
    }
    // Never inspect an unknown error object: a stray axios error carries the secret headers.
    const message = error instanceof Error ? error.message : String(error);
    printError(io, new CliError(`Unexpected error: ${message}`, { hint: 'Please report this at the plaidbal issue tracker, with the command you ran.' }));
    return ExitCode.UNEXPECTED;
  }
}

/** Subcommands inherit the program's exit override and output settings. */
function propagate(command: CommandUnknownOpts, parent: CommandUnknownOpts): void {
  command.exitOverride();
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) propagate(sub, command);
}
