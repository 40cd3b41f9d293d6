/**
 * Bad balances, fuzzed in-process against the pure formatters, many runs each: whatever Plaid
 * sends (nulls, negatives, huge and tiny numbers, many decimals, missing fields, unknown types,
 * unofficial or malformed currencies, no accounts at all), formatting never throws, JSON, NDJSON
 * and CSV read back to Plaid's numbers unchanged, and the table and totals show every digit and
 * never a 0 for a null.
 */
import { Chalk } from 'chalk';
import fc from 'fast-check';
import type { AccountBase } from 'plaid';
import { describe, expect, it } from 'vitest';
import { balanceJson, balanceTable, toAccountJson } from '../../src/format/balance.js';
import { compareScaled, scaledFromDecimal, subtractScaled } from '../../src/amount.js';
import { sumExact } from '../../src/format/decimal.js';
import { MISSING, exactDecimal, formatMoney } from '../../src/format/money.js';
import { ROW_COLUMNS, balanceCsv, balanceNdjson } from '../../src/format/rows.js';
import { currencyTotals, totalsTable } from '../../src/format/totals.js';
import type { AccountJson, BalanceDocument } from '../../src/types.js';
import { anyCurrency, balanceDocument, nullableNumber, oddCode, plaidNumber, rawAccounts, tableSafeText, wellFormedCurrency } from './arbitraries.js';
import { addDec, amountIn, compareDec, decOfNumber, decOfString, decToString, fuzz, normalise, type Dec } from './support.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 3 });
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

/** What a JSON number reads back as: the same double, except that JSON has no -0. */
const viaJson = (n: number | null | undefined) => (n === undefined || n === null ? null : n === 0 ? 0 : n);

/** The documented account JSON for a raw Plaid account, written out independently of orderAccount. */
function expectedAccount(raw: AccountBase): AccountJson {
  const r = raw as unknown as Record<string, unknown> & { balances?: Record<string, unknown> };
  const b = r.balances ?? {};
  const orNull = <T>(v: T | undefined) => (v === undefined ? null : v);
  return {
    account_id: r.account_id as string,
    name: r.name as string,
    official_name: orNull(r.official_name) as string | null,
    mask: orNull(r.mask) as string | null,
    type: r.type as string,
    subtype: orNull(r.subtype) as string | null,
    balances: {
      available: orNull(b.available) as number | null,
      current: orNull(b.current) as number | null,
      limit: orNull(b.limit) as number | null,
      iso_currency_code: orNull(b.iso_currency_code) as string | null,
      unofficial_currency_code: orNull(b.unofficial_currency_code) as string | null,
      last_updated_datetime: orNull(b.last_updated_datetime) as string | null,
    },
  };
}

const ACCOUNT_KEYS = ['account_id', 'name', 'official_name', 'mask', 'type', 'subtype', 'balances'];
const BALANCE_KEYS = ['available', 'current', 'limit', 'iso_currency_code', 'unofficial_currency_code', 'last_updated_datetime'];
const ITEM_KEYS = ['item_id', 'name', 'institution_id', 'institution_name', 'request_id', 'balance_source', 'accounts', 'error'];
const ERROR_KEYS = ['error_type', 'error_code', 'error_message', 'display_message', 'request_id'];

/** The flat rows balanceRows documents: one per account, or one for an item that failed or has none. */
function expectedRows(doc: BalanceDocument): Record<string, unknown>[] {
  return doc.items.flatMap((item): Record<string, unknown>[] => {
    const itemFields = { environment: doc.environment, fetched_at: doc.fetched_at, item_id: item.item_id, item_name: item.name, institution_id: item.institution_id, institution_name: item.institution_name, request_id: item.request_id, balance_source: item.balance_source };
    if (item.error || item.accounts.length === 0) {
      return [{ ...itemFields, account_id: null, account_name: null, official_name: null, mask: null, type: null, subtype: null, available: null, current: null, limit: null, iso_currency_code: null, unofficial_currency_code: null, last_updated_datetime: null, error: item.error }];
    }
    return item.accounts.map((a) => ({ ...itemFields, account_id: a.account_id, account_name: a.name, official_name: a.official_name, mask: a.mask, type: a.type, subtype: a.subtype, ...a.balances, error: null }));
  });
}

/** RFC 4180, strictly: quoted fields may hold anything (quotes doubled), unquoted ones no quote, comma, CR or LF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i += 1;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i += 1;
              break;
            }
          } else field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`a quote inside an unquoted field at ${i}`);
          field += text[i++];
        }
      }
      record.push(field);
      if (text[i] === ',') {
        i += 1;
        continue;
      }
      if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      }
      throw new Error(`expected a comma or CRLF at ${i}, got ${JSON.stringify(text.slice(i, i + 5))}`);
    }
    records.push(record);
  }
  return records;
}

/** The cells of a one-line table row, from the right: [available, current, limit, currency]. */
/** Available, Current, Limit and Currency of a row; `extra` columns after Currency (Updated) are skipped. */
function amountCells(row: string, extra = 0): string[] {
  const cells = row.split('│').map((c) => c.trim());
  return cells.slice(-5 - extra, -1 - extra);
}

const LOCALES = ['en-US', 'de-DE', 'fr-FR', 'de-CH', 'ar-EG', 'hi-IN', 'ja-JP', 'th-TH-u-nu-thai', 'en_US.UTF-8', 'xx-INVALID-', undefined];

/** What formatMoney is told vs. the locale it must fall back to (anything Intl rejects is en-US). */
function effectiveLocale(locale: string | undefined): string {
  if (locale === undefined) return 'en-US';
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? 'en-US';
  } catch {
    return 'en-US';
  }
}

/** The currency symbol (or code) Intl prints for `code` in `locale`, to strip before reading digits. */
function currencyMarks(locale: string, iso: string | null, unofficial: string | null): string[] {
  const marks = [iso?.trim(), unofficial?.trim()].filter((c): c is string => Boolean(c));
  if (iso && /^[A-Za-z]{3}$/.test(iso.trim())) {
    try {
      const parts = new Intl.NumberFormat(locale, { style: 'currency', currency: iso.trim() }).formatToParts(1);
      marks.push(...parts.filter((p) => p.type === 'currency').map((p) => p.value));
    } catch {
      // not a code Intl takes: printed as the plain code
    }
  }
  return marks;
}

describe('toAccountJson and balanceJson', () => {
  it('toAccountJson never throws, keeps the documented key order, and passes every field through (missing → null)', () => {
    fc.assert(
      fc.property(rawAccounts({ currency: anyCurrency }), (raws) => {
        for (const raw of raws) {
          const json = toAccountJson(raw);
          expect(Object.keys(json)).toEqual(ACCOUNT_KEYS);
          expect(Object.keys(json.balances)).toEqual(BALANCE_KEYS);
          const expected = expectedAccount(raw);
          expect(json).toEqual(expected);
          // The very same doubles (toEqual alone would accept a rounded neighbour only if equal; Object.is also tells -0).
          for (const key of ['available', 'current', 'limit'] as const) expect(Object.is(json.balances[key], expected.balances[key])).toBe(true);
        }
      }),
      fuzz(400),
    );
  });

  it('balanceJson is one JSON document that reads back to Plaid\'s numbers, unchanged, in the documented order', () => {
    fc.assert(
      fc.property(balanceDocument({ currency: anyCurrency }), ({ doc, raw }) => {
        const text = balanceJson(doc);
        expect(text.endsWith('}\n')).toBe(true);
        const parsed = JSON.parse(text) as BalanceDocument;
        expect(Object.keys(parsed)).toEqual(['environment', 'fetched_at', 'items']);
        expect(parsed.items).toHaveLength(doc.items.length);
        parsed.items.forEach((item, i) => {
          expect(Object.keys(item)).toEqual(ITEM_KEYS);
          if (item.error) expect(Object.keys(item.error)).toEqual(ERROR_KEYS);
          const source = doc.items[i]!;
          expect(item.accounts).toHaveLength(raw[i]!.length);
          item.accounts.forEach((account, j) => {
            const expected = expectedAccount(raw[i]![j]!);
            expect(Object.keys(account)).toEqual(ACCOUNT_KEYS);
            expect(account).toEqual({ ...expected, balances: { ...expected.balances, available: viaJson(expected.balances.available), current: viaJson(expected.balances.current), limit: viaJson(expected.balances.limit) } });
          });
          expect(item.error).toEqual(source.error);
        });
      }),
      fuzz(300),
    );
  });

  it('an empty account list and an empty run are still one valid document', () => {
    const doc: BalanceDocument = { environment: 'sandbox', fetched_at: '2026-01-01T00:00:00.000Z', items: [] };
    expect(JSON.parse(balanceJson(doc))).toEqual(doc);
    const empty = { ...doc, items: [{ item_id: 'i', name: 'n', institution_id: null, institution_name: null, request_id: null, balance_source: 'realtime' as const, accounts: [], error: null }] };
    expect(JSON.parse(balanceJson(empty))).toEqual(empty);
  });
});

describe('NDJSON and CSV', () => {
  it('NDJSON: one object per account (or per failed/empty item), re-parsing to the same values', () => {
    fc.assert(
      fc.property(balanceDocument({ currency: anyCurrency }), ({ doc }) => {
        const text = balanceNdjson(doc);
        const lines = text.split('\n');
        expect(lines.pop()).toBe('');
        expect(text).not.toMatch(/[\u2028\u2029\u0085]/);
        const rows = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
        const expected = expectedRows(doc);
        expect(rows).toHaveLength(expected.length);
        rows.forEach((row, i) => {
          expect(Object.keys(row)).toEqual([...ROW_COLUMNS, 'error']);
          const want = expected[i]!;
          for (const key of ROW_COLUMNS) {
            const value = want[key];
            expect(row[key], key).toEqual(typeof value === 'number' ? viaJson(value) : value);
          }
          expect(row.error).toEqual(want.error);
        });
      }),
      fuzz(300),
    );
  });

  it('CSV: RFC 4180 with CRLF, null as an empty field, numbers that read back to the same double (never in exponent form), text unchanged but for an apostrophe before a formula', () => {
    fc.assert(
      fc.property(balanceDocument({ currency: anyCurrency }), ({ doc }) => {
        const text = balanceCsv(doc);
        expect(text.endsWith('\r\n')).toBe(true);
        const [header, ...records] = parseCsv(text);
        expect(header).toEqual([...ROW_COLUMNS, 'error_code', 'error_message']);
        const expected = expectedRows(doc);
        expect(records).toHaveLength(expected.length);
        records.forEach((record, i) => {
          expect(record).toHaveLength(header!.length);
          const want = expected[i]!;
          ROW_COLUMNS.forEach((key, c) => {
            const value = want[key] as string | number | null;
            const cell = record[c]!;
            if (value === null) expect(cell, key).toBe('');
            else if (typeof value === 'number') {
              expect(Number(cell), key).toBe(viaJson(value));
              expect(cell).toMatch(/^-?\d+(\.\d+)?$/);
            } else expect(cell, key).toBe(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
          });
          const error = want.error as { error_code: string; error_message: string } | null;
          const text = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
          expect(record.slice(-2)).toEqual([error ? text(error.error_code) : '', error ? text(error.error_message) : '']);
        });
      }),
      fuzz(300),
    );
  });
});

describe('formatMoney', () => {
  it('never throws, for any number, any currency codes (however malformed) and any locale', () => {
    fc.assert(
      fc.property(nullableNumber, fc.option(oddCode, { nil: null }), fc.option(oddCode, { nil: null }), fc.constantFrom(...LOCALES), (value, iso, unofficial, locale) => {
        const text = formatMoney(value, iso, unofficial, { locale });
        expect(typeof text).toBe('string');
        expect(text.length).toBeGreaterThan(0);
        if (value === null) expect(text).toBe(MISSING);
      }),
      fuzz(1500),
    );
  });

  it('an ISO code that only upper-cases to a real one ("ıls" → "ILS") is shown, not thrown on', () => {
    // U+0131 (dotless i) upper-cases to "I", so isKnownCurrency says yes, and Intl then rejects the original.
    expect(() => formatMoney(12.5, 'ıls', null)).not.toThrow();
  });

  it('shows every digit Plaid sent: the printed amount reads back to the exact decimal, in every locale', () => {
    fc.assert(
      fc.property(plaidNumber, wellFormedCurrency, fc.constantFrom(...LOCALES), (value, { iso, unofficial }, locale) => {
        const text = formatMoney(value, iso, unofficial, { locale });
        const shown = amountIn(text, effectiveLocale(locale), currencyMarks(effectiveLocale(locale), iso, unofficial));
        const exact = decOfNumber(value);
        expect(decToString(decOfString(shown)), `${value} ${iso}/${unofficial} ${locale} → ${JSON.stringify(text)}`).toBe(decToString(exact));
        // negatives stay negative
        expect(shown.startsWith('-')).toBe(exact.units < 0n);
      }),
      fuzz(1500),
    );
  });

  it('exactDecimal is a plain decimal (no exponent) that reads back to the same double', () => {
    fc.assert(
      fc.property(plaidNumber, (value) => {
        const text = exactDecimal(value);
        expect(text).toMatch(/^-?\d+(\.\d+)?$/);
        expect(Number(text)).toBe(value === 0 ? 0 : value);
        expect(compareDec(decOfString(text), decOfNumber(value))).toBe(0);
      }),
      fuzz(1500),
    );
  });
});

describe('balanceTable', () => {
  it('never throws, whatever the names, types, currencies, widths; every amount appears in full and every null as —', () => {
    fc.assert(
      fc.property(balanceDocument({ currency: wellFormedCurrency }), fc.option(fc.integer({ min: 10, max: 240 }), { nil: undefined }), fc.boolean(), ({ doc }, width, colour) => {
        const table = stripAnsi(balanceTable(doc, colour ? coloured : plain, { width }));
        if (doc.items.length === 0) return;
        for (const item of doc.items) {
          for (const account of item.accounts) {
            const { balances: b } = account;
            for (const value of [b.available, b.current, b.limit]) {
              if (value !== null) expect(table, `${value}`).toContain(formatMoney(value, b.iso_currency_code, b.unofficial_currency_code));
            }
          }
          if (item.error) expect(table).toContain(item.error.error_code);
        }
        if (doc.items.some((i) => i.accounts.some((a) => [a.balances.available, a.balances.current, a.balances.limit].includes(null)))) expect(table).toContain(MISSING);
      }),
      fuzz(300),
    );
  });

  it('one account: the Available/Current/Limit cells are exactly the formatted amount, or — for null (never 0)', () => {
    fc.assert(
      fc.property(rawAccounts({ currency: wellFormedCurrency, name: tableSafeText, maxLength: 1 }).filter((a) => a.length === 1), ([raw]) => {
        const account = toAccountJson(raw!);
        const doc: BalanceDocument = {
          environment: 'sandbox',
          fetched_at: '2026-01-01T00:00:00.000Z',
          items: [{ item_id: 'item', name: 'fz', institution_id: null, institution_name: null, request_id: null, balance_source: 'realtime', accounts: [account], error: null }],
        };
        const lines = balanceTable(doc, plain).split('\n');
        // header line, top border, heading, rule, the row
        const row = lines[4]!;
        // A figure that is not real-time (last_updated_datetime set) adds the Updated column after Currency.
        const [available, current, limit, currency] = amountCells(row, lines[2]!.includes('Updated') ? 1 : 0);
        const b = account.balances;
        const cell = (v: number | null) => (v === null ? MISSING : formatMoney(v, b.iso_currency_code, b.unofficial_currency_code));
        expect([available, current, limit]).toEqual([cell(b.available), cell(b.current), cell(b.limit)]);
        for (const [shown, value] of [[available, b.available], [current, b.current], [limit, b.limit]] as const) {
          if (value === null) expect(shown).not.toMatch(/\d/);
        }
        expect(currency).toBe(b.iso_currency_code?.trim() || b.unofficial_currency_code?.trim() || MISSING);
      }),
      fuzz(500),
    );
  });
});

describe('totals', () => {
  /**
   * The README's figures, written out independently of src/format/totals.ts: per currency label,
   * cash available (depository `available`), assets (depository, investment and brokerage
   * `current`), liabilities (credit and loan `current`), credit limit and available credit (credit
   * accounts: `available`, else `limit − current`), and other (every other type's `current`).
   */
  const FIGURES = ['cashAvailable', 'assets', 'liabilities', 'creditLimit', 'availableCredit', 'other'] as const;
  type FigureName = (typeof FIGURES)[number];
  interface OracleFigure {
    sum: Dec | null;
    counted: number;
    missing: number;
  }
  interface OracleCurrency {
    accounts: number;
    figures: Record<FigureName, OracleFigure>;
    fromLimit: number;
  }
  const negate = (d: Dec): Dec => ({ units: -d.units, scale: d.scale });

  function oracleTotals(doc: BalanceDocument): Map<string, OracleCurrency> {
    const groups = new Map<string, OracleCurrency>();
    for (const item of doc.items) {
      for (const a of item.accounts) {
        const b = a.balances;
        const label = b.iso_currency_code?.trim() || b.unofficial_currency_code?.trim() || MISSING;
        // No currency code: its currency is unknown, so it is added to none (leftOutOfTotals says so).
        if (label === MISSING) continue;
        const g = groups.get(label) ?? { accounts: 0, fromLimit: 0, figures: Object.fromEntries(FIGURES.map((f) => [f, { sum: null, counted: 0, missing: 0 }])) as Record<FigureName, OracleFigure> };
        groups.set(label, g);
        g.accounts += 1;
        const add = (figure: FigureName, value: Dec | null) => {
          const f = g.figures[figure];
          if (value === null) f.missing += 1;
          else {
            f.sum = addDec(f.sum ?? { units: 0n, scale: 0 }, value);
            f.counted += 1;
          }
        };
        const dec = (v: number | null) => (v === null ? null : decOfNumber(v));
        if (a.type === 'depository') add('cashAvailable', dec(b.available));
        if (['depository', 'investment', 'brokerage'].includes(a.type)) add('assets', dec(b.current));
        else if (['credit', 'loan'].includes(a.type)) add('liabilities', dec(b.current));
        else add('other', dec(b.current));
        if (a.type === 'credit') {
          add('creditLimit', dec(b.limit));
          if (b.available !== null) add('availableCredit', decOfNumber(b.available));
          else if (b.limit !== null && b.current !== null) {
            add('availableCredit', addDec(decOfNumber(b.limit), negate(decOfNumber(b.current))));
            g.fromLimit += 1;
          } else add('availableCredit', null);
        }
      }
    }
    return groups;
  }

  const asText = (d: Dec | null) => (d === null ? null : decToString(normalise(d)));
  const shownAs = (total: string | null) => (total === null ? null : decToString(decOfString(total)));

  it('currencyTotals: every figure per currency is the exact sum of its accounts, a null is counted and never read as 0, and every account is an asset, a liability or other', () => {
    fc.assert(
      fc.property(balanceDocument({ currency: wellFormedCurrency }), ({ doc }) => {
        const totals = currencyTotals(doc);
        const oracle = oracleTotals(doc);
        expect(totals.map((t) => t.currency).sort()).toEqual([...oracle.keys()].sort());
        for (const t of totals) {
          const want = oracle.get(t.currency)!;
          expect(t.accounts).toBe(want.accounts);
          for (const figure of FIGURES) {
            const w = want.figures[figure];
            expect({ figure, total: shownAs(t[figure].total), counted: t[figure].counted, missing: t[figure].missing }).toEqual({ figure, total: asText(w.sum), counted: w.counted, missing: w.missing });
          }
          expect(t.availableCredit.fromLimit).toBe(want.fromLimit);
          const { assets, liabilities } = want.figures;
          const net = assets.sum === null && liabilities.sum === null ? null : addDec(assets.sum ?? { units: 0n, scale: 0 }, negate(liabilities.sum ?? { units: 0n, scale: 0 }));
          expect(shownAs(t.net)).toBe(asText(net));
          const sorted = t.assets.counted + t.assets.missing + t.liabilities.counted + t.liabilities.missing + t.other.counted + t.other.missing;
          expect(sorted).toBe(t.accounts);
        }
      }),
      fuzz(500),
    );
  });

  /** The transposed tables: currency → row label → cell, across every table of the output. */
  function readTotalsTables(text: string): Map<string, Map<string, string>> {
    const cells = new Map<string, Map<string, string>>();
    let columns: string[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('│')) continue;
      const row = line.split('│').slice(1, -1).map((c) => c.trim());
      if (row[0] === 'Totals') {
        columns = row.slice(1);
        for (const c of columns) cells.set(c, new Map());
      } else {
        columns.forEach((c, i) => cells.get(c)!.set(row[0]!, row[i + 1]!));
      }
    }
    return cells;
  }

  it('totalsTable shows each exact figure with every digit, "—" for none, and notes each figure that left accounts out', () => {
    const rowOf = { cashAvailable: 'Cash available', assets: 'Assets', liabilities: 'Liabilities', creditLimit: 'Credit limit', availableCredit: 'Available credit', other: 'Other (not in net)' } as const;
    const noteOf = { cashAvailable: 'cash available', assets: 'assets', liabilities: 'liabilities', creditLimit: 'credit limit', availableCredit: 'available credit', other: 'other' } as const;
    fc.assert(
      fc.property(balanceDocument({ currency: wellFormedCurrency }), ({ doc }) => {
        const totals = currencyTotals(doc);
        const text = totalsTable(totals, plain);
        if (totals.length === 0) {
          expect(text).toBe('');
          return;
        }
        const table = readTotalsTables(text);
        expect([...table.keys()].sort()).toEqual(totals.map((t) => t.currency).sort());
        const anyOther = totals.some((t) => t.other.counted + t.other.missing > 0);
        for (const t of totals) {
          const column = table.get(t.currency)!;
          const marks = currencyMarks('en-US', t.iso_currency_code, t.unofficial_currency_code);
          const figures: [string, string | null][] = [...FIGURES.filter((f) => f !== 'other' || anyOther).map((f) => [rowOf[f], t[f].total] as [string, string | null]), ['Net', t.net]];
          for (const [label, exact] of figures) {
            const shown = column.get(label);
            expect(shown, `${t.currency} ${label}`).toBeDefined();
            if (exact === null) expect(shown).toBe(MISSING);
            else expect(decToString(decOfString(amountIn(shown!, 'en-US', marks))), `${t.currency} ${label} ${exact} shown as ${shown}`).toBe(decToString(decOfString(exact)));
          }
          if (!anyOther) expect(column.has(rowOf.other)).toBe(false);
          expect(column.get('Accounts')).toBe(String(t.accounts));
          for (const f of FIGURES) {
            const n = t[f].missing;
            if (n > 0 && f !== 'other') expect(text).toContain(`${noteOf[f]} ${n} account${n === 1 ? '' : 's'}`);
          }
        }
      }),
      fuzz(500),
    );
  });

  it('a total past 17 significant digits keeps them (0.1 + 1e16, 2**70 + 1, 123456789012345.67 + 0.01)', () => {
    const account = (value: number): AccountJson => ({ account_id: `a${value}`, name: 'n', official_name: null, mask: null, type: 'depository', subtype: null, balances: { available: value, current: value, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, last_updated_datetime: null } });
    for (const [values, want] of [[[0.1, 1e16], '$10,000,000,000,000,000.10'], [[2 ** 70, 1], '$1,180,591,620,717,411,300,001.00'], [[123456789012345.67, 0.01], '$123,456,789,012,345.68']] as const) {
      const doc: BalanceDocument = { environment: 'sandbox', fetched_at: 'x', items: [{ item_id: 'i', name: 'n', institution_id: null, institution_name: null, request_id: null, balance_source: 'realtime', accounts: values.map(account), error: null }] };
      const column = readTotalsTables(totalsTable(currencyTotals(doc), plain)).get('USD')!;
      expect([column.get('Cash available'), column.get('Assets'), column.get('Net')]).toEqual([want, want, want]);
    }
  });
});

describe('exact decimal arithmetic', () => {
  const decimalText = fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })).map(([units, scale, pad]) => {
    const text = decToString({ units, scale });
    // trailing zeros ("1.50") must compare like "1.5"
    return pad && scale ? `${text}${'0'.repeat(pad)}` : text;
  });

  it('sumExact equals the exact decimal sum, in any order', () => {
    fc.assert(
      fc.property(fc.array(plaidNumber, { maxLength: 12 }), (values) => {
        const want = values.reduce<Dec>((sum, v) => addDec(sum, decOfNumber(v)), { units: 0n, scale: 0 });
        const got = sumExact(values);
        expect(got).toMatch(/^-?\d+(\.\d+)?$/);
        expect(got).not.toMatch(/\.\d*0$/); // the shortest form: no trailing fraction zeros
        expect(decToString(decOfString(got))).toBe(decToString(want));
        expect(sumExact([...values].reverse())).toBe(got);
      }),
      fuzz(1000),
    );
  });

  it('decimal text compares exactly (scaledFromDecimal + compareScaled), antisymmetric, ignoring trailing zeros', () => {
    const compareDecimal = (x: string, y: string) => compareScaled(scaledFromDecimal(x), scaledFromDecimal(y));
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const want = compareDec(decOfString(a), decOfString(b));
        expect(compareDecimal(a, b)).toBe(want);
        expect(compareDecimal(b, a)).toBe(want === 0 ? 0 : -want); // toBe is Object.is: not -0
        expect(compareDecimal(a, a)).toBe(0);
        expect(compareDecimal(a, decToString(normalise(decOfString(a))))).toBe(0);
        expect(compareScaled(subtractScaled(scaledFromDecimal(a), scaledFromDecimal(b)), { units: 0n, scale: 0 })).toBe(want);
      }),
      fuzz(1000),
    );
  });
});
