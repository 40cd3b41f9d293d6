/**
 * Output of `plaidbal balance`: a table for people and one JSON document for programs.
 * Pure: data in, string out; the caller picks one and writes it.
 */
import { plainTable } from './table.js';
import type { ChalkInstance } from 'chalk';
import type {
  AccountBalancesJson,
  AccountJson,
  BalanceDocument,
  ItemBalanceJson,
  PlaidErrorJson,
} from '../types.js';
import { asOfText, staleBalance } from './age.js';
import { MISSING, currencyLabel, formatMoney } from './money.js';
import { NO_ITEMS_MESSAGE } from './items.js';
import { escapeControlsDeep } from '../text.js';

export interface BalanceTableOptions {
  /** Terminal columns. When the table is wider, Account and Type wrap; amounts never shrink. */
  width?: number;
  locale?: string;
}

const HEADINGS = ['Account', 'Type', 'Available', 'Current', 'Limit', 'Currency'] as const;
const ALIGNS = ['left', 'left', 'right', 'right', 'right', 'left'] as const;
/** Only in a table with a figure that is not real-time (Capital One's credit cards): "as of 3 h ago". */
const UPDATED_HEADING = 'Updated';
/** Cell padding cli-table3 counts in a column's width. */
const PADDING = 2;

export function balanceTable(shown: BalanceDocument, chalk: ChalkInstance, opts: BalanceTableOptions = {}): string {
  // Names, institutions and error messages come from Plaid and the bank: never raw to a terminal.
  const doc = escapeControlsDeep(shown);
  if (doc.items.length === 0) return `${NO_ITEMS_MESSAGE}\n`;
  const blocks = doc.items.map((item) => {
    const body = item.error ? errorLines(item, item.error, chalk) : accountsTable(item.accounts, doc.fetched_at, chalk, opts);
    return `${itemHeader(item, doc.environment, chalk)}\n${body}`;
  });
  return `${blocks.join('\n\n')}\n`;
}

function itemHeader(item: ItemBalanceJson, environment: string, chalk: ChalkInstance): string {
  const institution = item.institution_name ?? item.institution_id ?? 'Unknown institution';
  const parts = [chalk.bold(item.name), institution, environment, chalk.dim(item.item_id)];
  // Cached balances are not what the user asked `balance` for, so say so where they look.
  if (item.balance_source === 'cached') parts.push(chalk.yellow('cached balances'));
  return parts.join(' · ');
}

function errorLines(item: ItemBalanceJson, error: PlaidErrorJson, chalk: ChalkInstance): string {
  // PRODUCTS_NOT_SUPPORTED comes with an empty message; the code alone is then the message.
  const headline = error.error_message ? `${error.error_code}: ${error.error_message}` : error.error_code;
  const lines = [chalk.red(headline)];
  if (error.display_message && error.display_message !== error.error_message) lines.push(error.display_message);
  const requestId = error.request_id ?? item.request_id;
  if (requestId) lines.push(chalk.dim(`request_id: ${requestId}`));
  return lines.join('\n');
}

function accountsTable(accounts: AccountJson[], fetchedAt: string, chalk: ChalkInstance, opts: BalanceTableOptions): string {
  if (accounts.length === 0) return 'No accounts.';
  const ages = accounts.map((account) => staleBalance(account, fetchedAt));
  const withAge = ages.some((age) => age !== null);
  const money = (value: number | null, balances: AccountBalancesJson): string =>
    value === null
      ? chalk.dim(MISSING)
      : formatMoney(value, balances.iso_currency_code, balances.unofficial_currency_code, { locale: opts.locale });
  const rows = accounts.map((account, i) => {
    const { balances } = account;
    const age = ages[i];
    const cells = [
      account.mask ? `${account.name} ••${account.mask}` : account.name,
      account.subtype ? `${account.type} / ${account.subtype}` : account.type,
      money(balances.available, balances),
      money(balances.current, balances),
      money(balances.limit, balances),
      currencyLabel(balances.iso_currency_code, balances.unofficial_currency_code),
    ];
    // The figures of this row are the last ones Plaid pulled, not real-time: say how old, beside them.
    if (withAge) cells.push(age ? chalk.yellow(asOfText(age)) : '');
    return cells;
  });

  const natural = renderTable(rows, chalk, null);
  const width = firstLineWidth(natural.text);
  if (opts.width === undefined || width <= opts.width) return natural.text;

  const [account = 0, type = 0] = natural.colWidths;
  const fitted = shrinkToFit([account, type], [wrapMinimum(rows, 0), wrapMinimum(rows, 1)], width - opts.width);
  return renderTable(rows, chalk, fitted).text;
}

/**
 * Takes `excess` columns from the wider of Account and Type first. Neither goes below its longest
 * word, so wrapping breaks between words and never truncates one; past that the table stays wide.
 */
function shrinkToFit(widths: [number, number], minimums: [number, number], excess: number): [number, number] {
  let [account, type] = widths;
  const [accountMin, typeMin] = minimums;
  for (let left = excess; left > 0; left--) {
    if (account >= type && account > accountMin) account--;
    else if (type > typeMin) type--;
    else if (account > accountMin) account--;
    else break;
  }
  return [account, type];
}

function wrapMinimum(rows: string[][], column: number): number {
  const words = [HEADINGS[column] ?? '', ...rows.map((row) => row[column] ?? '')].flatMap((cell) => cell.split(/\s+/));
  return Math.max(...words.map((word) => word.length)) + PADDING;
}

function renderTable(
  rows: string[][],
  chalk: ChalkInstance,
  wrapWidths: [number, number] | null,
): { text: string; colWidths: number[] } {
  const withAge = (rows[0]?.length ?? 0) > HEADINGS.length;
  const table = plainTable([...HEADINGS, ...(withAge ? [UPDATED_HEADING] : [])], chalk, {
    // Compact (no rules between rows) unless rows wrap onto several lines and need telling apart.
    compact: wrapWidths === null,
    colAligns: [...ALIGNS, ...(withAge ? (['left'] as const) : [])],
    ...(wrapWidths ? { colWidths: [...wrapWidths, null, null, null, null, ...(withAge ? [null] : [])], wordWrap: true } : {}),
  });
  table.push(...rows);
  const text = table.toString();
  // toString() fills options.colWidths with the widths it chose, padding included.
  return { text, colWidths: table.options.colWidths.map((w) => w ?? 0) };
}

function firstLineWidth(text: string): number {
  // The top border has no colour and only single-width box characters.
  const newline = text.indexOf('\n');
  return newline === -1 ? text.length : newline;
}

export { balanceJson, toAccountJson } from './json.js';
