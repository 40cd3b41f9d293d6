import { isatty } from 'node:tty';
import { Chalk, type ChalkInstance } from 'chalk';

/** The streams a command may use, and what they are connected to. */
export interface IO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** A person can answer prompts: stdin and stderr are terminals and CI is not set. */
  canPrompt: boolean;
  /** Colour for stdout / stderr; level 0 when that stream is not a terminal or colour is off. */
  out: ChalkInstance;
  err: ChalkInstance;
}

export interface ColorSettings {
  noColorFlag: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Colour only on a terminal. NO_COLOR (any non-empty value) and --no-color turn it off;
 * FORCE_COLOR turns it on even when piped, as chalk and most CLIs do.
 */
export function colorLevel(isTTY: boolean, { noColorFlag, env }: ColorSettings): 0 | 1 | 2 | 3 {
  if (noColorFlag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    const n = Number(force);
    return n === 2 ? 2 : n === 3 ? 3 : 1;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (env.TERM?.includes('256')) return 2;
  return 1;
}

export function processIO(settings: ColorSettings): IO {
  const stdoutIsTTY = Boolean(process.stdout.isTTY);
  const stderrIsTTY = Boolean(process.stderr.isTTY);
  const ci = settings.env.CI !== undefined && settings.env.CI !== '' && settings.env.CI !== 'false';
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: creating process.stdin costs start-up time, and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    stdoutIsTTY,
    stderrIsTTY,
    canPrompt: isatty(0) && stderrIsTTY && !ci,
    out: new Chalk({ level: colorLevel(stdoutIsTTY, settings) }),
    err: new Chalk({ level: colorLevel(stderrIsTTY, settings) }),
  };
}
