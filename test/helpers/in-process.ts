/**
 * Runs plaidbal in the test's own process, the way gh tests its commands: the program parsed by
 * commander and run by `runProgram` (src/cli.ts) exactly as `main` runs it, with streams that
 * are buffers instead of the process's, the environment given instead of process.env, and the
 * real Plaid client pointed by PLAIDBAL_BASE_URL at the in-process emulator. Nothing is spawned
 * and nothing is built: what it runs is src/, through vitest.
 *
 * What only a real process shows stays with runCli (cli.ts): exit codes as the shell sees them,
 * signals, the terminal, start-up, what leaks into files and the environment, the installed package.
 *
 * The store's OS keychain is the one `main` uses (in `npm test`, the suite's private gnome-keyring).
 */
import { PassThrough, Readable } from 'node:stream';
import { runProgram } from '../../src/cli.js';
import { Chalk } from 'chalk';
import { colorLevel, styleFor, type IO } from '../../src/io.js';
import type { CliResult } from './cli.js';

/**
 * Streams for calling a command's run function directly (realContext({ io, ... })): what a piped
 * run has (no terminal, no prompt, no colour), with stdout and stderr kept as text.
 */
export function bufferedIO(): { io: IO; stdout: () => string; stderr: () => string } {
  const { out, err, stdout, stderr } = capturedStreams();
  const io: IO = { stdout: out, stderr: err, stdin: new PassThrough(), stdoutIsTTY: false, stderrIsTTY: false, canPrompt: false, out: new Chalk({ level: 0 }), err: new Chalk({ level: 0 }) };
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
}

export async function runInProcess(args: string[], opts: InProcessOptions): Promise<CliResult> {
  const { env } = opts;
  const { out, err, stdout, stderr } = capturedStreams();
  const stdin = Readable.from(opts.stdin ? [Buffer.from(opts.stdin)] : []);
  if (opts.terminalColumns !== undefined) Object.assign(out, { isTTY: true, columns: opts.terminalColumns });
  // What processIO gives a piped run (no terminal, so no prompt and no colour unless forced).
  const io = (noColorFlag: boolean): IO => ({
    stdout: out,
    stderr: err,
    stdin,
    stdoutIsTTY: opts.terminalColumns !== undefined,
    stderrIsTTY: false,
    canPrompt: false,
    out: styleFor(colorLevel(opts.terminalColumns !== undefined, { noColorFlag, env })),
    err: styleFor(colorLevel(false, { noColorFlag, env })),
  });
  const code = await runProgram(['node', 'plaidbal', ...args], { env, signal: new AbortController().signal, io });
  // Let the last writes reach the buffers.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, signal: null, stdout: stdout(), stderr: stderr() };
}
