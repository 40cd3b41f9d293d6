/**
 * Shared pieces of the property-based tests: the seed and run counts, the checks every CLI
 * run must pass (clean message, documented exit code, nothing that can drive a terminal),
 * and an exact decimal oracle written independently of src/format/decimal.ts.
 *
 * Reproduce a failure with the seed (and path) fast-check prints:
 *   FUZZ_SEED=<seed> node scripts/test.mjs test/fuzz
 * Look further with more runs: FUZZ_SCALE=10 multiplies every property's run count.
 */
import { runCli, type CliResult } from '../helpers/cli.js';
import { createWorld, type World } from '../helpers/world.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20_261_123);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/**
 * fast-check parameters. Spawning properties end on the first failure (no shrinking: each
 * shrink step would spawn the CLI again); the seed and path in fast-check's report replay it.
 */
export function fuzz(numRuns: number, opts: { spawns?: boolean } = {}) {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...(opts.spawns ? { endOnFailure: true } : {}) };
}

/**
 * A world for many runs: Plaid's per-minute balance limits out of the way, and plaidbal run in
 * this process (test/helpers/in-process.ts): what these properties check is what a command prints
 * and what it does to the store, and a spawn per run was most of their time. A keychain slowed by
 * the other files on the same gnome-keyring is waited for, as in every world (helpers/cli.ts).
 */
export function fuzzWorld(extraEnv: NodeJS.ProcessEnv = {}): Promise<World> {
  return createWorld({ rateLimits: { perItem: 100_000, perClient: 100_000 } }, extraEnv, { inProcess: true });
}

/** Is a command registered in the built CLI? (`check` and `items status` are being built concurrently.) */
export async function registered(...command: string[]): Promise<boolean> {
  return (await runCli([...command, '--help'])).code === 0;
}

/** Exit codes a Plaid-side, store-side or input problem may end with; never 1 (a bug). */
export const FAILURE_CODES = [2, 3, 4, 5, 6] as const;

/**
 * Characters that move the cursor, clear the screen, retitle the window or start an escape
 * sequence: C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F,
 * where U+009B is a one-character CSI). plaidbal writes no colour when not on a terminal,
 * so in these runs none of them may appear at all.
 */
// eslint-disable-next-line no-control-regex
export const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

export function showControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * What a message a person reads must never contain. Returns the problems found. `echoed` are
 * inputs the message may legitimately quote (an alias that is "undefined" may be named back);
 * they are left out of the word checks, never out of the control-character check.
 */
export function messageProblems(raw: string, echoed: string[] = []): string[] {
  const problems: string[] = [];
  let text = raw;
  for (const input of echoed.filter((e) => e.length > 0).sort((a, b) => b.length - a.length)) text = text.split(input).join('');
  if (/^\s+at .+:\d+:\d+\)?$/m.test(text)) problems.push('a stack trace');
  if (/\bundefined\b/.test(text)) problems.push('"undefined"');
  if (text.includes('[object Object]')) problems.push('"[object Object]"');
  if (/\bAxiosError\b|\bisAxiosError\b/.test(text)) problems.push('an axios error');
  if (/plaid-secret|plaid-client-id/i.test(text)) problems.push('request headers');
  if (/^\s*\w+: \{$|\{\n\s+\w+: /m.test(text)) problems.push('a util.inspect dump');
  if (/<\/?(html|body|head)\b/i.test(text)) problems.push('an HTML body');
  if (/Cannot read propert|is not a function|is not iterable|Unexpected token/.test(text)) problems.push('a JavaScript TypeError/SyntaxError message');
  if (TERMINAL_CONTROL.test(raw)) problems.push(`raw terminal control characters (${showControls(raw.match(TERMINAL_CONTROL)![0])})`);
  return problems;
}

/** A failed run ends with a line saying why: plaidbal's "Error:" or commander's "error:". */
export function explainsFailure(result: CliResult): boolean {
  return /^(Error|error):? \S/m.test(result.stderr) || /items failed\.$/m.test(result.stderr);
}

/** One line describing a run, for assertion messages. */
export function describeRun(args: string[], result: CliResult): string {
  const cut = (s: string) => showControls(s.length > 1500 ? `${s.slice(0, 1500)}…` : s);
  return `plaidbal ${args.map((a) => showControls(JSON.stringify(a.length > 80 ? `${a.slice(0, 80)}…` : a))).join(' ')}\n→ exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\nstderr: ${cut(result.stderr)}\nstdout: ${cut(result.stdout)}`;
}

/** Snapshots of a directory compare equal when every file has the same bytes. */
export function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name);
    if (!other || !other.equals(bytes)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Exact decimals, independently of src/format/decimal.ts and money.ts.

export interface Dec {
  units: bigint;
  scale: number;
}

/**
 * The decimal a double stands for as Plaid's JSON carried it: its shortest round-trip form (what
 * JSON.parse read, and JSON.stringify writes), integers included (2**70 is 1180591620717411300000,
 * not its binary value 1180591620717411303424).
 */
export function decOfNumber(n: number): Dec {
  if (!Number.isFinite(n)) throw new RangeError(`not finite: ${n}`);
  const [mantissa = '', exponent = '0'] = n.toString().split('e');
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = mantissa.replace('-', '').split('.');
  let units = BigInt(whole + fraction);
  let scale = fraction.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalise({ units: negative ? -units : units, scale });
}

/** Parses "-12.50", "0", "1180591620717411303424" (no exponent, no grouping). */
export function decOfString(text: string): Dec {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  const [, sign, whole = '', fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return normalise({ units: sign ? -units : units, scale: fraction.length });
}

export function normalise(d: Dec): Dec {
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

export function addDec(a: Dec, b: Dec): Dec {
  const scale = Math.max(a.scale, b.scale);
  return normalise({ units: a.units * 10n ** BigInt(scale - a.scale) + b.units * 10n ** BigInt(scale - b.scale), scale });
}

export function compareDec(a: Dec, b: Dec): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const d = a.units * 10n ** BigInt(scale - a.scale) - b.units * 10n ** BigInt(scale - b.scale);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

export function decToString(d: Dec): string {
  const negative = d.units < 0n;
  const digits = (negative ? -d.units : d.units).toString().padStart(d.scale + 1, '0');
  const whole = digits.slice(0, digits.length - d.scale);
  const fraction = digits.slice(digits.length - d.scale);
  return `${negative ? '-' : ''}${whole}${d.scale ? `.${fraction}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Reading an amount back out of formatted money ("-$1,234.5678", "١٫٥ BTC", "1.234,50 €").

const localeCache = new Map<string, { digits: Map<string, string>; decimal: string; minus: string }>();

function localeSymbols(locale: string) {
  let symbols = localeCache.get(locale);
  if (!symbols) {
    const nf = new Intl.NumberFormat(locale, { useGrouping: false });
    const digits = new Map<string, string>();
    for (let d = 0; d <= 9; d++) digits.set(nf.format(d), String(d));
    const parts = new Intl.NumberFormat(locale, { minimumFractionDigits: 1 }).formatToParts(-1.5);
    symbols = { digits, decimal: parts.find((p) => p.type === 'decimal')!.value, minus: parts.find((p) => p.type === 'minusSign')!.value };
    localeCache.set(locale, symbols);
  }
  return symbols;
}

/**
 * The amount in `text` as a plain decimal string. `strip` lists what is not part of the number
 * (the currency symbol, the code): removed first, so a symbol holding a dot cannot confuse it.
 */
export function amountIn(text: string, locale: string, strip: string[] = []): string {
  const { digits, decimal, minus } = localeSymbols(locale);
  let rest = text;
  for (const s of strip.filter(Boolean).sort((a, b) => b.length - a.length)) rest = rest.split(s).join(' ');
  let out = '';
  for (const c of rest) {
    if (/[0-9]/.test(c)) out += c;
    else if (digits.has(c)) out += digits.get(c);
    else if (c === decimal) out += '.';
    else if (c === minus || c === '-' || c === '\u2212') out += '-';
  }
  return out;
}
