/**
 * items import's input reader, in process: RFC 4180 details, NDJSON shapes, line numbers, and
 * that no message ever quotes a token.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_LINE, readImportInput, tokenEnvironment, type ImportFormat } from '../../src/commands/items/import-parse.js';

const T1 = 'access-sandbox-11111111-1111-4111-8111-111111111111';
const T2 = 'access-sandbox-22222222-2222-4222-8222-222222222222';
const P1 = 'access-production-33333333-3333-4333-8333-333333333333';

/** Fed in small chunks, so records and lines cross chunk boundaries. */
const stdin = (text: string) => Readable.from(Buffer.from(text).toString('utf8').match(/[\s\S]{1,7}/g) ?? []);
const read = (format: ImportFormat, text: string, opts: { name?: string; environment?: 'sandbox' | 'production' } = {}) => readImportInput(stdin(text), { format, ...opts });
async function problems(format: ImportFormat, text: string): Promise<string> {
  try {
    await read(format, text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('CSV (RFC 4180)', () => {
  it('quoted fields with commas, doubled quotes and line breaks; CRLF; a BOM; any column order; extra columns; blank lines', async () => {
    const rows = await read('csv', `\uFEFFnote,Name,access_token\r\n"a ""quoted"", multi\r\nline note","x""y",${T1}\r\n\r\n"",,"${T2}"\r\n`);
    expect(rows).toEqual([
      { line: 2, token: T1, name: 'x"y', environment: 'sandbox' },
      { line: 5, token: T2, name: null, environment: 'sandbox' },
    ]);
  });

  it('names every malformed record by the line it starts on, and never quotes a token', async () => {
    const message = await problems('csv', `access_token,name\n${T1},a,extra\n"${T2}"x,b\n${T2},c"d"\n"${P1},never closed\n`);
    expect(message).toContain('line 2: 3 fields where the header has 2');
    expect(message).toContain('line 3: not valid CSV: text after a closing quote');
    expect(message).toContain('line 4: not valid CSV: a quote inside an unquoted field');
    expect(message).toContain('line 5: not valid CSV: a quoted field is never closed');
    for (const token of [T1, T2, P1]) expect(message).not.toContain(token);
  });

  it('a name that is a token (two tokens a row, say) is refused, and neither token is quoted', async () => {
    const message = await problems('csv', `access_token,name\n${T1},${T2}\n${T2},acme\n`);
    expect(message).toContain('line 2: bad name: an alias cannot look like a Plaid token');
    for (const token of [T1, T2]) expect(message).not.toContain(token);
    expect(await problems('ndjson', JSON.stringify({ access_token: T1, name: 'PUBLIC-production-x' }))).toContain('line 1: bad name: an alias cannot look like a Plaid token');
  });

  it('a line longer than 64 KiB is a problem by its number, not a crash; the lines around it are read as usual', async () => {
    const huge = 'x'.repeat(MAX_LINE + 1);
    const message = await problems('csv', `access_token,name\n${T1},a\n${huge}\n${T2},"b\n${huge}"\n${T2},c\n`);
    expect(message.split('\n').filter((l) => l.startsWith('  line'))).toEqual([
      '  line 3: longer than 64 KiB, so not a row (a row is an access token and an optional name)',
      '  line 4: a quoted field running over line 5, which is longer than 64 KiB, so not a row (a row is an access token and an optional name)',
    ]);
    expect(await problems('ndjson', `${JSON.stringify({ access_token: T1 })}\r\n${'{'.repeat(MAX_LINE * 3)}`)).toContain('line 2: longer than 64 KiB');
    // A quote never closed: the record stops at 64 KiB, over however many short lines, and parsing goes on.
    const unclosed = await problems('csv', `access_token,name\n${T1},"oops\n${'short line\n'.repeat(7000)}`);
    expect(unclosed).toMatch(/line 2: a quoted field that runs from line 2 past 64 KiB \(by line \d+\), so not a row: is a quote missing\?/);
    expect(unclosed).not.toContain(T1);
    // Exactly the limit is still a line like any other (here, not JSON).
    expect(await problems('ndjson', 'y'.repeat(MAX_LINE))).toContain('line 1: not valid JSON');
  });

  it('line ends: LF, CRLF (split across chunks too) and a lone CR, as node:readline reads them', async () => {
    const rows = await readImportInput(Readable.from([`access_token,name\r`, `\n${T1},a\r${T2},b\r`, `\n`, `${P1.replace('production', 'sandbox')},c`]), { format: 'csv' });
    expect(rows.map((r) => [r.line, r.name])).toEqual([[2, 'a'], [3, 'b'], [4, 'c']]);
  });

  it('a header without access_token, or a repeated column', async () => {
    expect(await problems('csv', `token\n${T1}\n`)).toContain('line 1: the header has no access_token column');
    expect(await problems('csv', `access_token,name,name\n${T1},a,b\n`)).toContain('line 1: the header names "name" more than once');
  });
});

describe('NDJSON', () => {
  it('objects per line; name optional (absent, null, empty); other fields ignored; blank lines skipped', async () => {
    const rows = await read('ndjson', `\n${JSON.stringify({ access_token: T1, user: 7 })}\n\n${JSON.stringify({ access_token: T2, name: null })}\r\n${JSON.stringify({ access_token: P1.replace('production', 'sandbox'), name: '' })}\n`);
    expect(rows.map((r) => [r.line, r.name])).toEqual([[2, null], [4, null], [5, null]]);
  });

  it('the whole input is checked: every problem, with its line, in line order', async () => {
    const message = await problems('ndjson', [JSON.stringify({ access_token: P1 }), '{', JSON.stringify({ access_token: T1, name: 7 }), JSON.stringify({ access_token: T1 }), JSON.stringify({ access_token: T2, name: '-x' })].join('\n'));
    expect(message.split('\n').filter((l) => l.startsWith('  line'))).toEqual([
      '  line 1: a production token, while line 3 holds a sandbox one: import one environment at a time (add --env)',
      '  line 2: not valid JSON',
      '  line 3: name is not a string',
      '  line 4: the same access_token as line 3',
      '  line 5: bad name: an alias cannot start with "-"',
    ]);
    expect(message).not.toContain(T1);
  });
});

describe('one token', () => {
  it('whitespace around it is ignored; --name applies; --env must agree', async () => {
    expect(await read('token', `  ${P1}\n`, { name: 'acme' })).toEqual([{ line: 1, token: P1, name: 'acme', environment: 'production' }]);
    await expect(read('token', T1, { environment: 'production' })).rejects.toThrow('line 1: a sandbox token, but --env is production');
    await expect(read('token', `${T1} ${T2}`)).rejects.toThrow('more than one word or line');
    await expect(read('token', '')).rejects.toThrow('No access token on stdin');
  });

  it('what a token is not', () => {
    expect(tokenEnvironment(T1)).toBe('sandbox');
    expect(tokenEnvironment(P1)).toBe('production');
    expect(tokenEnvironment('access-development-abc')).toMatch(/Development token/);
    expect(tokenEnvironment('public-sandbox-abc')).toMatch(/public token/);
    expect(tokenEnvironment('link-production-abc')).toMatch(/link token/);
    expect(tokenEnvironment('access-sandbox-a b')).toMatch(/not a well-formed access token/);
    expect(tokenEnvironment('sk_live_123')).toMatch(/not a Plaid access token/);
  });
});
