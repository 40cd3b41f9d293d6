/**
 * Control characters in text that reaches the terminal. Echoed raw from an argument, a Plaid
 * message or the Link page, C0 and C1 control characters could move the cursor, rewrite the
 * screen or set the terminal's title. Two ways to make such text safe, and a test for it:
 *
 * - escapeControls: shows each one as a `\uXXXX` escape, for messages where what was sent matters;
 * - stripControls: drops them, for names and fields plaidbal keeps and shows again;
 * - hasControls: whether there is one, for input that is refused rather than cleaned;
 * - oneLine: text for one field of one line (a shell completion's description), where format
 *   characters (bidi overrides, zero-width), tabs and line breaks must go as well.
 *
 * Tabs and newlines are kept by the first two: they lay text out and cannot drive the terminal.
 */
import type { PlaidErrorJson } from './types.js';

// C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// The same, less tab (U+0009) and newline (U+000A).
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_TAB_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const EVERY_CONTROL_BUT_TAB_NEWLINE = new RegExp(CONTROL_BUT_TAB_NEWLINE.source, 'g');

/** `text` with each control character but tab and newline shown as a `\uXXXX` escape. */
export function escapeControls(text: string): string {
  return text.replace(EVERY_CONTROL_BUT_TAB_NEWLINE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `text` without its control characters, tab and newline excepted. */
export function stripControls(text: string): string {
  return text.replace(EVERY_CONTROL_BUT_TAB_NEWLINE, '');
}

/** Whether `text` has a control character; with `allowTabNewline`, tab and newline do not count. */
export function hasControls(text: string, opts: { allowTabNewline?: boolean } = {}): boolean {
  return (opts.allowTabNewline ? CONTROL_BUT_TAB_NEWLINE : CONTROL).test(text);
}

// Control (C0, C1, tab and newline among them) and format characters, line and paragraph separators.
const NOT_ONE_LINE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;

/** `text` as one line: each run of control or format characters, line breaks and spaces becomes one space, trimmed. */
export function oneLine(text: string): string {
  return text.replace(NOT_ONE_LINE, ' ').replace(/\s+/g, ' ').trim();
}

/** At most this many names in a message's list; the rest are counted. */
export const LIST_CAP = 10;

/**
 * Names for a message: the first LIST_CAP joined with ", ", then "and N more" for the rest, so a
 * message about a store of thousands of items stays a few lines long.
 */
export function cappedList(names: readonly string[], cap = LIST_CAP): string {
  const shown = names.slice(0, cap).join(', ');
  return names.length > cap ? `${shown} and ${names.length - cap} more` : shown;
}

/**
 * A URL as messages show it: a user and password in it (`https://user:pass@proxy/`) become `***`.
 * Parsed as the WHATWG URL parser (and so Node's HTTP clients) reads it, so `https:\\user:pw@host`
 * and a password holding `@` are caught too; text that is no http(s) URL loses everything before
 * its last `@`.
 */
export function withoutUserinfo(url: string): string {
  const beforeLastAt = () => {
    const at = url.lastIndexOf('@');
    return at === -1 ? url : `***${url.slice(at)}`;
  };
  try {
    const parsed = new URL(url);
    // `alice:s3cret@proxy:3128`, with no scheme, parses as the scheme `alice:` with no user: no
    // http(s) URL, so handled as text.
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return beforeLastAt();
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.href;
  } catch {
    return beforeLastAt();
  }
}

/**
 * `value` with escapeControls applied to every string in it, deeply (arrays and plain objects;
 * other values as they are). For text a terminal shows that came from Plaid or the bank: an
 * account name with an escape sequence or a bell in it must not reach the terminal as one.
 */
export function escapeControlsDeep<T>(value: T): T {
  if (typeof value === 'string') return (hasControls(value, { allowTabNewline: true }) ? escapeControls(value) : value) as T;
  if (Array.isArray(value)) return value.map(escapeControlsDeep) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeControlsDeep(v)])) as T;
  }
  return value;
}

/**
 * An error as stderr shows it (`Error: …`, Plaid's error fields when it is Plaid's, `Hint: …`),
 * escaped: the message and the fields can carry Plaid's words, which carry the bank's. The one
 * rendering, for the run's own error (src/cli.ts) and for one printed beside a document on stdout.
 */
export function errorText(
  colour: { red(s: string): string; cyan(s: string): string },
  error: { message: string; hint?: string; plaid?: PlaidErrorJson },
): string {
  const lines = [`${colour.red('Error:')} ${escapeControls(error.message)}`];
  const p = error.plaid;
  if (p) {
    lines.push(`  error_type:      ${escapeControls(p.error_type)}`, `  error_code:      ${escapeControls(p.error_code)}`);
    if (p.error_message) lines.push(`  error_message:   ${escapeControls(p.error_message)}`);
    if (p.display_message) lines.push(`  display_message: ${escapeControls(p.display_message)}`);
    lines.push(`  request_id:      ${escapeControls(p.request_id ?? '—')}`);
  }
  if (error.hint) lines.push(`${colour.cyan('Hint:')} ${escapeControls(error.hint)}`);
  return lines.join('\n');
}
