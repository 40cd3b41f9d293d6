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
  /** When canPrompt is false because CI is set on a terminal: that, for messages (default: no terminal). */
  noPromptBecause?: 'CI is set';
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

/**
 * What a chalk of level 0 does, without loading chalk: every style, however chained
 * (`plain.red.bold`), gives back its text unchanged, and several arguments joined by spaces;
 * `visible`, chalk's style for text shown only with colour, gives back nothing. Most runs that
 * scripts make have no colour at all (stdout and stderr are pipes, or NO_COLOR is set), and
 * making chalk's styles is a share of their start-up (docs/benchmarks.md, "Figures behind the
 * code"). `level` reads 0, as chalk's does.
 */
const levelZero = (format: (...text: unknown[]) => string): ChalkInstance => {
  const style: ChalkInstance = new Proxy(format, {
    get: (target, key) => (key === 'level' ? 0 : key === 'visible' ? invisibleStyle : typeof key === 'string' ? style : Reflect.get(target, key)),
  }) as unknown as ChalkInstance;
  return style;
};
const invisibleStyle = levelZero(() => '');
export const plainStyle = levelZero((...text) => (text.length === 1 ? `${text[0]}` : text.join(' ')));

/** Styles for one stream: chalk when it has colour, plainStyle when it has none. */
export function styleFor(level: 0 | 1 | 2 | 3): ChalkInstance {
  return level === 0 ? plainStyle : new Chalk({ level });
}

/**
 * All of stdin as UTF-8 text, or null as soon as it holds more than `maxBytes` (reading stops
 * there): for input that is one short value (a secret, an access token), where far more is
 * something piped in by mistake, never to be kept whole.
 */
export async function readStdinUpTo(stdin: NodeJS.ReadableStream, maxBytes: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > maxBytes) return null;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why plaidbal asks nothing here, for messages: "no terminal", or "CI is set" on a terminal. */
export function whyNoPrompt(io: Pick<IO, 'noPromptBecause'>): string {
  return io.noPromptBecause ?? 'no terminal';
}

export function processIO(settings: ColorSettings): IO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: creating process.stdin costs start-up time, and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    ...terminalState({ stdin: isatty(0), stdout: Boolean(process.stdout.isTTY), stderr: Boolean(process.stderr.isTTY) }, settings),
  };
}

/**
 * All of an IO but its streams, from which of the three are terminals: whether plaidbal may ask
 * (stdin and stderr are terminals, and CI is not set) and each output stream's colour. processIO
 * gives it the process's own streams; a test, streams of its own that say they are terminals.
 */
export function terminalState(tty: { stdin: boolean; stdout: boolean; stderr: boolean }, settings: ColorSettings): Omit<IO, 'stdout' | 'stderr' | 'stdin'> {
  const ci = settings.env.CI !== undefined && settings.env.CI !== '' && settings.env.CI !== 'false';
  return {
    stdoutIsTTY: tty.stdout,
    stderrIsTTY: tty.stderr,
    canPrompt: tty.stdin && tty.stderr && !ci,
    ...(ci && tty.stdin && tty.stderr ? { noPromptBecause: 'CI is set' as const } : {}),
    out: styleFor(colorLevel(tty.stdout, settings)),
    err: styleFor(colorLevel(tty.stderr, settings)),
  };
}
