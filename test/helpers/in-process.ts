/**
 * Runs plaidbal in the test's own process, the way gh tests its commands: the program parsed by
 * commander and run by `runProgram` (src/cli.ts) exactly as `main` runs it, with streams that
 * are buffers instead of the process's, the environment given instead of process.env, and the
 * real Plaid client pointed by PLAIDBAL_BASE_URL at the in-process emulator. Nothing is spawned
 * and nothing is built: what it runs is src/, through vitest.
 *
 * What only a real process shows stays with runCli (cli.ts): exit codes as the shell sees them,
 * signals, the terminal, start-up, what leaks into files and the environment, the installed package.
 * A run in process is stopped as a signal stops it through `stopWhen`, when the moment matters
 * more than the signal's way in.
 *
 * runInProcess's store keychain is the OS keychain `main` uses (in `npm test`, the suite's private
 * gnome-keyring).
 *
 * testContext is for calling a command's run function directly (`runBalance(ctx, opts)`), as gh's
 * tests call a command's run with options they built: plaidbal's own context (realContext) on
 * streams that are buffers and say which of them are terminals, with an in-memory keychain and a
 * store directory of the test's own.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { inject } from 'vitest';
import { runProgram, stopRun } from '../../src/cli.js';
import { realContext, type Ctx } from '../../src/context.js';
import { terminalState, type IO } from '../../src/io.js';
import type { Prompter } from '../../src/prompt.js';
import { memoryKeychain, type Keychain } from '../../src/store/keychain.js';
import type { CliResult } from './cli.js';

/**
 * Streams for calling a command's run function directly (realContext({ io, ... })): what a piped
 * run has (no terminal, no prompt, no colour), with stdout and stderr kept as text.
 */
export function bufferedIO(): { io: IO; stdout: () => string; stderr: () => string } {
  const { out, err, stdout, stderr } = capturedStreams();
  const io: IO = { stdout: out, stderr: err, stdin: new PassThrough(), ...terminalState({ stdin: false, stdout: false, stderr: false }, { noColorFlag: false, env: {} }) };
  return { io, stdout, stderr };
}

/** A stdout and a stderr whose writes are kept as text. */
function capturedStreams(): { out: PassThrough; err: PassThrough; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough();
  const err = new PassThrough();
  out.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  err.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { out, err, stdout: () => stdout, stderr: () => stderr };
}

export interface InProcessOptions {
  env: NodeJS.ProcessEnv;
  stdin?: string;
  /** stdout is a terminal this many columns wide (its isTTY and columns, as Node sets them). */
  terminalColumns?: number;
  /**
   * Stops the run as a first Ctrl-C does (src/cli.ts stopRun), once stderr so far satisfies this.
   * The stop comes on the event loop's next check phase (setImmediate), as a signal comes between
   * the run's own steps and not inside one of its writes. For a write made from an I/O callback (an
   * HTTP answer), that is after the promise callbacks its caller runs next (a backoff's timer
   * armed, say) and before any timer of the run can fire. stopRun reads what src/critical.ts keeps
   * for the whole process: a test that stops a run in process runs no other run beside it.
   */
  stopWhen?: (stderr: string) => boolean;
}

export async function runInProcess(args: string[], opts: InProcessOptions): Promise<CliResult> {
  const { env } = opts;
  const { out, err, stdout, stderr } = capturedStreams();
  const stdin = Readable.from(opts.stdin ? [Buffer.from(opts.stdin)] : []);
  if (opts.terminalColumns !== undefined) Object.assign(out, { isTTY: true, columns: opts.terminalColumns });
  // What processIO gives a piped run (no terminal, so no prompt and no colour unless forced).
  const io = (noColorFlag: boolean): IO => ({ stdout: out, stderr: err, stdin, ...terminalState({ stdin: false, stdout: opts.terminalColumns !== undefined, stderr: false }, { noColorFlag, env }) });
  const controller = new AbortController();
  const { stopWhen } = opts;
  if (stopWhen) {
    // Listened to after capturedStreams' own listener, so stderr() already holds this write.
    let stopping = false;
    err.on('data', () => {
      if (stopping || !stopWhen(stderr())) return;
      stopping = true;
      setImmediate(() => stopRun('Ctrl-C', controller, io(false)));
    });
  }
  const code = await runProgram(['node', 'plaidbal', ...args], { env, signal: controller.signal, io });
  // Let the last writes reach the buffers.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, signal: null, stdout: stdout(), stderr: stderr() };
}

export interface TestContextOptions {
  /** Over the defaults: PLAIDBAL_CONFIG_DIR (configDir) and PLAIDBAL_BASE_URL (emulator), PATH. */
  env?: NodeJS.ProcessEnv;
  /** Where Plaid is answered (PLAIDBAL_BASE_URL): the test's emulator. */
  emulator?: { url: string };
  /** The store's keychain. Default: a new in-memory one (memoryKeychain). */
  keychain?: Keychain;
  /** The store directory. Default: a new one, removed when the test run ends. */
  configDir?: string;
  /**
   * Which streams are terminals: set as Node sets them on a terminal's streams (`isTTY`, and
   * stdout's `columns`), and read by the same rules as the process's own (terminalState). Default none.
   */
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean; columns?: number };
  /** What stdin holds. */
  stdin?: string;
  /** How the command asks (a prompt only comes when stdin and stderr are terminals); a question it has no answer for fails the test. */
  prompt?: Partial<Prompter>;
  signal?: AbortSignal;
  debug?: boolean;
}

export interface TestContext extends Ctx {
  stdout(): string;
  stderr(): string;
  keychain: Keychain;
  configDir: string;
}

/** Nothing may be asked: a question the test did not expect fails it. */
const unexpected = (method: string) => async (message: string) => {
  throw new Error(`unexpected prompt (${method}): ${message}`);
};
const noQuestions: Prompter = { input: unexpected('input'), password: unexpected('password'), select: unexpected('select'), confirm: unexpected('confirm') };

/** plaidbal's own context for a direct call of a command's run function (see the top of this file). */
export function testContext(opts: TestContextOptions = {}): TestContext {
  let configDir = opts.configDir;
  if (configDir === undefined) {
    // In the run's own directory (test/helpers/global-setup.ts), removed when the run ends: not
    // when the test ends, since testContext may be called from a hook, or by one of several
    // concurrent tests, and vitest ends its test processes without their exit handlers.
    configDir = mkdtempSync(join(inject('plaidbalRunDir'), 'ctx-'));
  }
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PLAIDBAL_CONFIG_DIR: configDir, ...(opts.emulator ? { PLAIDBAL_BASE_URL: opts.emulator.url } : {}), ...opts.env };
  const tty = { stdin: opts.tty?.stdin ?? false, stdout: opts.tty?.stdout ?? false, stderr: opts.tty?.stderr ?? false };
  const { out, err, stdout, stderr } = capturedStreams();
  const stdin = Readable.from(opts.stdin ? [Buffer.from(opts.stdin)] : []);
  if (tty.stdout) Object.assign(out, { isTTY: true, columns: opts.tty?.columns ?? 80 });
  if (tty.stderr) Object.assign(err, { isTTY: true, columns: opts.tty?.columns ?? 80 });
  if (tty.stdin) Object.assign(stdin, { isTTY: true });
  const io: IO = { stdout: out, stderr: err, stdin, ...terminalState(tty, { noColorFlag: false, env }) };
  const keychain = opts.keychain ?? memoryKeychain();
  const ctx = realContext({ io, env, debug: opts.debug ?? false, signal: opts.signal ?? new AbortController().signal, prompt: { ...noQuestions, ...opts.prompt }, keychain });
  return Object.assign(ctx, { stdout, stderr, keychain, configDir });
}
