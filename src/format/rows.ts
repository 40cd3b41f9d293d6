/**
 * Flat, one-row-per-account output for scripts: NDJSON (one JSON object per line) and
 * CSV (RFC 4180). Each row carries its item's fields; an item that failed gives one row
 * with empty account fields and its error.
 */
import type { AccountBalancesJson, BalanceDocument, PlaidErrorJson } from '../types.js';
import { exactDecimal } from './money.js';

/** One account of one item; the balance fields are the account's `balances`, flattened. */
export interface BalanceRow extends AccountBalancesJson {
  environment: string;
  fetched_at: string;
  item_id: string;
  item_name: string;
  institution_id: string | null;
  institution_name: string | null;
  request_id: string | null;
  balance_source: string;
  account_id: string | null;
  account_name: string | null;
  official_name: string | null;
  mask: string | null;
  type: string | null;
  subtype: string | null;
  error: PlaidErrorJson | null;
}

export const ROW_COLUMNS = [
  'environment', 'fetched_at', 'item_id', 'item_name', 'institution_id', 'institution_name', 'request_id', 'balance_source',
  'account_id', 'account_name', 'official_name', 'mask', 'type', 'subtype',
  'available', 'current', 'limit', 'iso_currency_code', 'unofficial_currency_code', 'last_updated_datetime',
] as const;

export function balanceRows(doc: BalanceDocument): BalanceRow[] {
  return doc.items.flatMap((item): BalanceRow[] => {
    const itemFields = {
      environment: doc.environment,
      fetched_at: doc.fetched_at,
      item_id: item.item_id,
      item_name: item.name,
      institution_id: item.institution_id,
      institution_name: item.institution_name,
      request_id: item.request_id,
      balance_source: item.balance_source,
    };
    const empty: Omit<BalanceRow, keyof typeof itemFields | 'error'> = { account_id: null, account_name: null, official_name: null, mask: null, type: null, subtype: null, available: null, current: null, limit: null, iso_currency_code: null, unofficial_currency_code: null, last_updated_datetime: null };
    if (item.error || item.accounts.length === 0) return [{ ...itemFields, ...empty, error: item.error }];
    return item.accounts.map((a) => ({
      ...itemFields,
      account_id: a.account_id,
      account_name: a.name,
      official_name: a.official_name,
      mask: a.mask,
      type: a.type,
      subtype: a.subtype,
      available: a.balances.available,
      current: a.balances.current,
      limit: a.balances.limit,
      iso_currency_code: a.balances.iso_currency_code,
      unofficial_currency_code: a.balances.unofficial_currency_code,
      last_updated_datetime: a.balances.last_updated_datetime,
      error: null,
    }));
  });
}

/**
 * One JSON object per line. U+2028, U+2029 and U+0085, which JSON allows raw in a string, are
 * written as \u escapes (the same values when parsed): readers that split lines on every Unicode
 * line break (Python's str.splitlines) would otherwise cut a record in two.
 */
export function balanceNdjson(doc: BalanceDocument): string {
  return balanceRows(doc).map((row) => `${JSON.stringify(row).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`).join('');
}

/**
 * RFC 4180: CRLF line ends; a field with a comma, quote, CR or LF is quoted, quotes doubled.
 * Numbers never in exponent form (1e-7 is 0.0000001: exactDecimal). Text that a spreadsheet
 * would run as a formula (starting with =, +, -, @, a tab or CR: OWASP, "CSV Injection") gets a
 * leading apostrophe: account names come from the bank and can be set by its customer.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') {
    const text = String(value);
    return /e/i.test(text) ? exactDecimal(value) : text;
  }
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV header row, CRLF-terminated: written once, before any item's rows. */
export const CSV_HEADER = `${[...ROW_COLUMNS, 'error_code', 'error_message'].join(',')}\r\n`;

/** The CSV rows of `doc`'s items, without the header (streamed output writes each item's rows as it arrives). */
export function balanceCsvRows(doc: BalanceDocument): string {
  let out = '';
  for (const row of balanceRows(doc)) {
    // String(number) is the shortest round-trip form: Plaid's number, unchanged.
    const cells: (string | number | null)[] = ROW_COLUMNS.map((column) => row[column]);
    cells.push(row.error?.error_code ?? null, row.error?.error_message ?? null);
    out += `${cells.map(csvField).join(',')}\r\n`;
  }
  return out;
}

export function balanceCsv(doc: BalanceDocument): string {
  return CSV_HEADER + balanceCsvRows(doc);
}
