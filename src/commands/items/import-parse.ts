/**
 * Reading `plaidbal items import`'s input: one bare token, NDJSON or CSV (RFC 4180) on stdin,
 * read line by line, so a large batch costs memory for its rows (line, token, alias) and never
 * for the whole text at once. Every problem is collected with its line number before anything
 * else happens (no Plaid call, no store write); no message ever quotes an input line, since
 * lines hold access tokens.
 */
import { StringDecoder } from 'node:string_decoder';
import { usageError } from '../../errors.js';
import { readStdinUpTo } from '../../io.js';
import type { Environment } from '../../types.js';
import { aliasProblem } from '../options.js';

export const IMPORT_FORMATS = ['token', 'ndjson', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One row of the input, checked on its own. */
export interface ImportRow {
  /** 1-based line of stdin where the row starts. */
  line: number;
  token: string;
  /** The alias asked for, or null for one derived from the institution's name. */
  name: string | null;
  environment: Environment;
}

export interface InputProblem {
  line: number;
  what: string;
}

/** How many problems are kept to be named; the rest are only counted (bounded memory on a bad 10,000-line file). */
const MAX_PROBLEMS = 50;
/** A bare token is short; more than this on stdin is not one token. */
const MAX_TOKEN_INPUT = 16 * 1024;
/**
 * A row is a token, a name and perhaps a few other columns: a line longer than this (in UTF-16
 * code units) is not one. It is reported by its number and never kept whole, so a stray binary
 * or a file of one huge line costs bounded memory and gets exit 2, not a crash.
 */
export const MAX_LINE = 64 * 1024;

/**
 * Access tokens read `access-<environment>-<identifier>` (PLAID-NOTES: `access-sandbox-<uuid>`;
 * Production tokens read `-production-`). The identifier is checked loosely: letters, digits
 * and dashes, so a token format Plaid may change to still passes to Plaid, which has the last word.
 */
const TOKEN = /^access-(sandbox|production)-[A-Za-z0-9][A-Za-z0-9-]{0,254}$/;

/** The token's environment, or what is wrong with it (never quoting it). */
export function tokenEnvironment(token: string): Environment | string {
  const match = TOKEN.exec(token);
  if (match) return match[1] as Environment;
  if (token === '') return 'the access_token is empty';
  if (token.startsWith('access-development-')) return 'a Development token: Plaid retired that environment, and its tokens no longer work';
  if (/^public-(sandbox|production)-/.test(token)) return 'a public token, not an access token (exchange it for an access token first)';
  if (/^link-(sandbox|production)-/.test(token)) return 'a link token, not an access token';
  if (/^access-(sandbox|production)-/.test(token)) return 'not a well-formed access token (only letters, digits and dashes may follow the prefix)';
  return 'not a Plaid access token: it must start with access-sandbox- or access-production-';
}

class Problems {
  readonly list: InputProblem[] = [];
  count = 0;
  add(line: number, what: string): void {
    this.count += 1;
    if (this.list.length < MAX_PROBLEMS) this.list.push({ line, what });
  }
}

/** The usage error (exit 2) that names every problem found, by line. */
export function inputError(problems: { list: InputProblem[]; count: number }, format: ImportFormat): Error {
  const lines = [...problems.list].sort((a, b) => a.line - b.line).map((p) => `  line ${p.line}: ${p.what}`);
  if (problems.count > problems.list.length) lines.push(`  … and ${problems.count - problems.list.length} more.`);
  const example =
    format === 'ndjson'
      ? 'Each line must be a JSON object such as {"access_token": "access-sandbox-…", "name": "acme-42"} ("name" is optional).'
      : format === 'csv'
        ? 'The first line must be a header with an access_token column (and optionally name); every row must have as many fields as the header.'
        : 'Pipe exactly one access token in, e.g. printf \'%s\' "$TOKEN" | plaidbal items import --name acme-42.';
  return usageError(
    `The input has ${problems.count} problem${problems.count === 1 ? '' : 's'}, so nothing was imported and the store was not changed:\n${lines.join('\n')}`,
    example,
  );
}

/**
 * Lines of stdin, numbered from 1, without their line ends (LF, CRLF or a lone CR, as
 * node:readline splits them). A line longer than MAX_LINE comes out as `tooLong` with no text:
 * what is past the limit is read and dropped, never kept.
 */
async function* numberedLines(stdin: NodeJS.ReadableStream): AsyncGenerator<{ line: number; text: string; tooLong: boolean }> {
  const decoder = new StringDecoder('utf8');
  let line = 0;
  let current = '';
  let tooLong = false;
  /** The last chunk ended in CR: a LF starting the next one belongs to it. */
  let pendingCR = false;
  const take = (piece: string) => {
    if (tooLong) return;
    current += piece;
    if (current.length > MAX_LINE) {
      tooLong = true;
      current = '';
    }
  };
  const finish = () => {
    line += 1;
    const out = { line, text: tooLong ? '' : line === 1 ? current.replace(/^\uFEFF/, '') : current, tooLong };
    current = '';
    tooLong = false;
    return out;
  };
  const split = function* (text: string) {
    if (text === '') return; // a chunk that ended inside a UTF-8 sequence decodes to nothing yet
    let i = pendingCR && text.startsWith('\n') ? 1 : 0;
    pendingCR = false;
    const eol = /\r\n|\r|\n/g;
    eol.lastIndex = i;
    for (let m = eol.exec(text); m; m = eol.exec(text)) {
      take(text.slice(i, m.index));
      yield finish();
      i = eol.lastIndex;
      if (m[0] === '\r' && i === text.length) pendingCR = true;
    }
    take(text.slice(i));
  };
  for await (const chunk of stdin) yield* split(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
  yield* split(decoder.end());
  if (current !== '' || tooLong) yield finish();
}

const TOO_LONG = `longer than ${MAX_LINE / 1024} KiB, so not a row (a row is an access token and an optional name)`;

interface RawRow {
  line: number;
  token: unknown;
  name: unknown;
}

async function* ndjsonRows(stdin: NodeJS.ReadableStream, problems: Problems): AsyncGenerator<RawRow> {
  for await (const { line, text, tooLong } of numberedLines(stdin)) {
    if (tooLong) {
      problems.add(line, TOO_LONG);
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      problems.add(line, 'not valid JSON');
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.add(line, 'not a JSON object');
      continue;
    }
    const record = value as Record<string, unknown>;
    if (!('access_token' in record)) {
      problems.add(line, 'no "access_token" field');
      continue;
    }
    yield { line, token: record.access_token, name: record.name };
  }
}

/**
 * RFC 4180 records, across lines: a quoted field may hold commas, doubled quotes and line
 * breaks. A malformed record is reported and skipped; parsing goes on at the next line.
 */
async function* csvRecords(stdin: NodeJS.ReadableStream, problems: Problems): AsyncGenerator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let afterQuote = false;
  let start = 0;
  let lastLine = 0;
  /** The characters of the record so far, over all its lines: a record, like a line, is at most MAX_LINE. */
  let size = 0;
  for await (const { line, text, tooLong } of numberedLines(stdin)) {
    lastLine = line;
    if (tooLong) {
      // The record it is part of, if any, is dropped with it; parsing goes on at the next line.
      problems.add(inQuotes ? start : line, inQuotes ? `a quoted field running over line ${line}, which is ${TOO_LONG}` : TOO_LONG);
      inQuotes = false;
      continue;
    }
    if (!inQuotes) {
      if (text === '') continue;
      fields = [];
      field = '';
      afterQuote = false;
      start = line;
      size = 0;
    } else {
      field += '\n';
    }
    size += text.length + 1;
    if (size > MAX_LINE) {
      // A quoted field that is never closed would otherwise take in the rest of the input.
      problems.add(start, `a quoted field that runs from line ${start} past ${MAX_LINE / 1024} KiB (by line ${line}), so not a row: is a quote missing?`);
      inQuotes = false;
      fields = [];
      field = '';
      continue;
    }
    let bad: string | null = null;
    for (let i = 0; i < text.length && !bad; i++) {
      const c = text[i]!;
      if (inQuotes) {
        if (c !== '"') field += c;
        else if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else if (c === ',') {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else if (afterQuote) {
        bad = 'text after a closing quote (a quote inside a field must be doubled, and the field quoted)';
      } else if (c === '"') {
        if (field === '') inQuotes = true;
        else bad = 'a quote inside an unquoted field (quote the field and double the quote)';
      } else {
        field += c;
      }
    }
    if (bad) {
      problems.add(line, `not valid CSV: ${bad}`);
      inQuotes = false;
      continue;
    }
    if (inQuotes) continue;
    fields.push(field);
    yield { line: start, fields };
  }
  if (inQuotes) problems.add(start || lastLine, 'not valid CSV: a quoted field is never closed');
}

async function* csvRows(stdin: NodeJS.ReadableStream, problems: Problems): AsyncGenerator<RawRow> {
  let header: string[] | null = null;
  let tokenAt = -1;
  let nameAt = -1;
  for await (const { line, fields } of csvRecords(stdin, problems)) {
    if (!header) {
      header = fields.map((f) => f.trim().toLowerCase());
      tokenAt = header.indexOf('access_token');
      nameAt = header.indexOf('name');
      const repeated = header.filter((h, i) => h !== '' && header!.indexOf(h) !== i);
      if (repeated.length) problems.add(line, `the header names ${[...new Set(repeated)].map((h) => `"${h}"`).join(', ')} more than once`);
      if (tokenAt < 0) {
        problems.add(line, 'the header has no access_token column (the first line must be a header: access_token,name)');
        return;
      }
      continue;
    }
    if (fields.length !== header.length) {
      problems.add(line, `${fields.length} field${fields.length === 1 ? '' : 's'} where the header has ${header.length}`);
      continue;
    }
    yield { line, token: fields[tokenAt], name: nameAt >= 0 ? fields[nameAt] : undefined };
  }
  if (!header) problems.add(1, 'no header line (the first line must be a header: access_token,name)');
}

async function tokenRows(stdin: NodeJS.ReadableStream, name: string | undefined, problems: Problems): Promise<RawRow[]> {
  const input = await readStdinUpTo(stdin, MAX_TOKEN_INPUT);
  if (input === null) {
    problems.add(1, `more than ${MAX_TOKEN_INPUT / 1024} KiB on stdin: --format token takes one token (use --format ndjson or csv for many)`);
    return [];
  }
  const text = input.replace(/^\uFEFF/, '').trim();
  if (text === '') return [];
  if (/\s/.test(text)) {
    problems.add(1, 'stdin holds more than one word or line: --format token takes exactly one token (use --format ndjson or csv for several)');
    return [];
  }
  return [{ line: 1, token: text, name: name ?? undefined }];
}

export interface ParseOptions {
  format: ImportFormat;
  /** --name, for --format token. */
  name?: string;
  /** --env, when given: every token must be of it. */
  environment?: Environment;
}

/**
 * Reads and checks the whole input. Returns its rows, or throws a usage error (exit 2) naming
 * every problem by line: a malformed line, no access_token, a token that is not an access token,
 * a bad alias, the same token or alias twice, tokens of two environments, or of another than --env.
 */
export async function readImportInput(stdin: NodeJS.ReadableStream, opts: ParseOptions): Promise<ImportRow[]> {
  const problems = new Problems();
  const raw: AsyncIterable<RawRow> | RawRow[] =
    opts.format === 'token' ? await tokenRows(stdin, opts.name, problems) : opts.format === 'ndjson' ? ndjsonRows(stdin, problems) : csvRows(stdin, problems);

  const rows: ImportRow[] = [];
  const tokenLines = new Map<string, number>();
  const aliasLines = new Map<string, number>();
  const envLines = new Map<Environment, number>();
  for await (const row of raw) {
    if (typeof row.token !== 'string') {
      problems.add(row.line, 'access_token is not a string');
      continue;
    }
    const token = row.token.trim();
    const environment = tokenEnvironment(token);
    let name: string | null = null;
    if (row.name !== undefined && row.name !== null && row.name !== '') {
      if (typeof row.name !== 'string') problems.add(row.line, 'name is not a string');
      else {
        const problem = aliasProblem(row.name);
        if (problem) problems.add(row.line, `bad name: ${problem}`);
        else name = row.name;
      }
    }
    if (environment !== 'sandbox' && environment !== 'production') {
      problems.add(row.line, `access_token is ${environment}`);
      continue;
    }
    const sameToken = tokenLines.get(token);
    if (sameToken !== undefined) problems.add(row.line, `the same access_token as line ${sameToken}`);
    else tokenLines.set(token, row.line);
    if (name !== null) {
      const sameAlias = aliasLines.get(name);
      if (sameAlias !== undefined) problems.add(row.line, `the name "${name}" is also on line ${sameAlias}`);
      else aliasLines.set(name, row.line);
    }
    if (opts.environment && environment !== opts.environment) problems.add(row.line, `a ${environment} token, but --env is ${opts.environment}`);
    if (!envLines.has(environment)) envLines.set(environment, row.line);
    rows.push({ line: row.line, token, name, environment });
  }
  if (envLines.size > 1 && !opts.environment) {
    problems.add(envLines.get('production')!, `a production token, while line ${envLines.get('sandbox')} holds a sandbox one: import one environment at a time (add --env)`);
  }
  if (problems.count > 0) throw inputError(problems, opts.format);
  if (rows.length === 0) {
    throw usageError(
      'No access token on stdin: nothing was imported.',
      opts.format === 'token' ? 'Pipe one in, e.g. printf \'%s\' "$TOKEN" | plaidbal items import --name acme-42.' : `Pass the ${opts.format} file on stdin, e.g. plaidbal items import --format ${opts.format} < tokens.${opts.format}.`,
    );
  }
  return rows;
}

/** Checks that fail before any row is read: a terminal on stdin would echo a token as it is typed. */
export function assertStdinNotTerminal(stdin: NodeJS.ReadableStream, what: string, example: string): void {
  if ((stdin as { isTTY?: boolean }).isTTY) {
    throw usageError(`${what} reads access tokens from stdin, and stdin is a terminal: typing a token there would show it on screen (and keep it in the scrollback). Nothing was read.`, `Pipe the token in instead, e.g. ${example}`);
  }
}
