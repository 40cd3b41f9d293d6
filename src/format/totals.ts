/**
 * Totals under the balance table, per currency, each a figure a person can act on: cash
 * available, assets, liabilities, net, and credit limit and available credit. Adding every
 * account's current balance (a checking account, a card debt, a mortgage) gives a number that
 * means nothing, so each figure says which account types and which of Plaid's fields it adds.
 *
 * - Sums are exact decimals (src/amount.ts via ./decimal.ts): no digit Plaid sent is lost.
 * - A null is left out of its figure and counted (the note under the table says how many), never
 *   read as 0. A currency with no account of a kind, or none with that figure, shows "—".
 * - Currencies are never mixed: unofficial codes (BTC) are currencies of their own, as in the table.
 * - Types that are neither an asset nor a liability (`other`, or a type plaidbal does not know)
 *   are added apart, in their own row, and kept out of net.
 *
 * Pure: data in, string out. Loaded only for the table format (it pulls in cli-table3).
 */
import { plainTable } from './table.js';
import type { ChalkInstance } from 'chalk';
import { addScaled, subtractScaled, type ScaledDecimal } from '../amount.js';
import type { AccountJson, BalanceDocument } from '../types.js';
import { ZERO, decimalOf, plainDecimal } from './decimal.js';
import { MISSING, currencyLabel, formatMoneyDecimal } from './money.js';
import { cappedList, escapeControlsDeep } from '../text.js';

/** How an account type counts: depository and investment are assets, credit and loan liabilities. */
export type TotalsKind = 'depository' | 'investment' | 'credit' | 'loan' | 'other';

/**
 * Plaid's AccountType (OpenAPI spec 2020-09-14) also lists `brokerage`: "investment: Investment
 * account. In API versions 2018-05-22 and earlier, this type is called brokerage instead." So it
 * is the old name of investment, and counts as one (plaidbal sends Plaid-Version 2020-09-14, so
 * Plaid should not send it, but an account that says brokerage holds investments, not debt).
 * A Map, not an object literal: a type of "constructor" or "__proto__" must not find anything.
 */
const KINDS: ReadonlyMap<string, TotalsKind> = new Map([
  ['depository', 'depository'],
  ['investment', 'investment'],
  ['brokerage', 'investment'],
  ['credit', 'credit'],
  ['loan', 'loan'],
]);

export function totalsKind(type: string): TotalsKind {
  return KINDS.get(type) ?? 'other';
}

/** One figure of one currency. */
export interface Figure {
  /** The exact sum as a plain decimal ("68472.7405"); null when no account gave this figure. */
  total: string | null;
  /** Accounts whose value is in the total. */
  counted: number;
  /** Accounts of the kind whose value Plaid left null: out of the total, never read as 0. */
  missing: number;
}

export interface CurrencyTotals {
  /** The label of the Currency column: ISO code, else the unofficial one, else "—". */
  currency: string;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
  /** Every account of the currency, whatever its type. */
  accounts: number;
  /** `available` of depository accounts. */
  cashAvailable: Figure;
  /** `current` of depository and investment (and brokerage) accounts. */
  assets: Figure;
  /** `current` of credit and loan accounts: what is owed (a negative one is owed to the holder). */
  liabilities: Figure;
  /** assets − liabilities; null when neither has a figure. A side without one adds nothing. */
  net: string | null;
  /** `limit` of credit accounts. */
  creditLimit: Figure;
  /** Credit accounts: Plaid's `available`, else `limit − current`; `fromLimit` counts the latter. */
  availableCredit: Figure & { fromLimit: number };
  /** `current` of accounts that are neither assets nor liabilities, kept out of net. */
  other: Figure;
}

/** A figure being summed. */
class Tally {
  private sum: ScaledDecimal | null = null;
  counted = 0;
  missing = 0;

  /** Adds a value; a null (or anything not finite, which JSON cannot carry) is counted as missing. */
  add(value: number | null): void {
    this.addExact(value !== null && Number.isFinite(value) ? decimalOf(value) : null);
  }

  addExact(value: ScaledDecimal | null): void {
    if (value === null) {
      this.missing += 1;
      return;
    }
    this.sum = addScaled(this.sum ?? ZERO, value);
    this.counted += 1;
  }

  get exact(): ScaledDecimal | null {
    return this.sum;
  }

  figure(): Figure {
    return { total: this.sum === null ? null : plainDecimal(this.sum), counted: this.counted, missing: this.missing };
  }
}

interface Group {
  iso: string | null;
  unofficial: string | null;
  accounts: number;
  cashAvailable: Tally;
  assets: Tally;
  liabilities: Tally;
  creditLimit: Tally;
  availableCredit: Tally;
  fromLimit: number;
  other: Tally;
}

const finite = (value: number | null): value is number => value !== null && Number.isFinite(value);

/**
 * A credit account's available credit.
 *
 * Plaid's own `available` first. Plaid documents it, for credit accounts, as the credit left:
 * "For `credit`-type accounts, the `available` balance typically equals the `limit` less the
 * `current` balance, less any pending outflows plus any pending inflows" (AccountBalance.available
 * in the OpenAPI spec 2020-09-14, shown as `balances.available` of /accounts/balance/get at
 * https://plaid.com/docs/api/products/balance/). It is the institution's own figure and counts
 * pending transactions, which limit − current cannot see.
 * When Plaid sends no `available` (Sandbox's Plaid Credit Card does not), limit − current is
 * the documented meaning of the figure and is used instead, as `plaidbal check --allow-credit`
 * does, so the two commands agree. Neither known: the account is missing from the figure.
 */
function availableCredit(account: AccountJson): { value: ScaledDecimal | null; fromLimit: boolean } {
  const { available, limit, current } = account.balances;
  if (finite(available)) return { value: decimalOf(available), fromLimit: false };
  if (finite(limit) && finite(current)) return { value: subtractScaled(decimalOf(limit), decimalOf(current)), fromLimit: true };
  return { value: null, fromLimit: false };
}

function addAccount(group: Group, account: AccountJson): void {
  const { available, current, limit } = account.balances;
  group.accounts += 1;
  switch (totalsKind(account.type)) {
    case 'depository':
      group.cashAvailable.add(available);
      group.assets.add(current);
      break;
    case 'investment':
      group.assets.add(current);
      break;
    case 'credit': {
      // `limit` is the credit limit only here: on a depository account Plaid uses it for an
      // overdraft limit (AccountBalance.limit), which is not credit and stays out of the totals.
      group.liabilities.add(current);
      group.creditLimit.add(limit);
      const credit = availableCredit(account);
      group.availableCredit.addExact(credit.value);
      if (credit.fromLimit) group.fromLimit += 1;
      break;
    }
    case 'loan':
      group.liabilities.add(current);
      break;
    case 'other':
      group.other.add(current);
      break;
  }
}

/** An account with neither currency code: its currency is unknown, so it is added to none. */
const noCurrency = (account: AccountJson): boolean => currencyLabel(account.balances.iso_currency_code, account.balances.unofficial_currency_code) === MISSING;

/**
 * Totals per currency, sorted by currency label. Accounts of failed items are not there to add,
 * and accounts with no currency code are added to none (leftOutOfTotals says so under the table).
 */
export function currencyTotals(doc: BalanceDocument): CurrencyTotals[] {
  const groups = new Map<string, Group>();
  for (const item of doc.items) {
    for (const account of item.accounts) {
      if (noCurrency(account)) continue;
      const { iso_currency_code: iso, unofficial_currency_code: unofficial } = account.balances;
      const key = currencyLabel(iso, unofficial);
      let group = groups.get(key);
      if (group === undefined) {
        group = { iso, unofficial, accounts: 0, cashAvailable: new Tally(), assets: new Tally(), liabilities: new Tally(), creditLimit: new Tally(), availableCredit: new Tally(), fromLimit: 0, other: new Tally() };
        groups.set(key, group);
      }
      addAccount(group, account);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, g]) => {
      const assets = g.assets.exact;
      const liabilities = g.liabilities.exact;
      return {
        currency,
        iso_currency_code: g.iso,
        unofficial_currency_code: g.unofficial,
        accounts: g.accounts,
        cashAvailable: g.cashAvailable.figure(),
        assets: g.assets.figure(),
        liabilities: g.liabilities.figure(),
        net: assets === null && liabilities === null ? null : plainDecimal(subtractScaled(assets ?? ZERO, liabilities ?? ZERO)),
        creditLimit: g.creditLimit.figure(),
        availableCredit: { ...g.availableCredit.figure(), fromLimit: g.fromLimit },
        other: g.other.figure(),
      };
    });
}

/** The rows of the totals table, in order; `other` only appears when some currency has such accounts. */
export const FIGURE_ROWS = [
  ['Cash available', 'cashAvailable'],
  ['Assets', 'assets'],
  ['Liabilities', 'liabilities'],
  ['Net', 'net'],
  ['Credit limit', 'creditLimit'],
  ['Available credit', 'availableCredit'],
  ['Other (not in net)', 'other'],
] as const;

type FigureKey = (typeof FIGURE_ROWS)[number][1];

/** Lower-case names of the figures, for the notes. */
const FIGURE_NAMES: Record<Exclude<FigureKey, 'net'>, string> = {
  cashAvailable: 'cash available',
  assets: 'assets',
  liabilities: 'liabilities',
  creditLimit: 'credit limit',
  availableCredit: 'available credit',
  other: 'other',
};

/** Currencies side by side, as columns: more than this many start a new table, to keep it narrow. */
export const CURRENCIES_PER_TABLE = 4;

const LEGEND = [
  'Cash available: the available balance of depository accounts.',
  'Assets: the current balance of depository and investment accounts.',
  'Liabilities: the current balance of credit and loan accounts. Net: assets − liabilities.',
  "Available credit: Plaid's available for credit accounts, else limit − current.",
];

const accountsCount = (n: number): string => `${n} account${n === 1 ? '' : 's'}`;

/**
 * What the totals cannot include, said under them: the items that failed (their accounts are
 * unknown) and the accounts with no currency code (two of them may be in different currencies).
 */
export function leftOutOfTotals(doc: BalanceDocument): string[] {
  const lines: string[] = [];
  const failed = doc.items.filter((item) => item.error !== null).map((item) => item.name);
  if (failed.length) lines.push(`Not in the totals: ${failed.length === 1 ? 'the item' : `the ${failed.length} items`} that failed (${cappedList(failed)}); ${failed.length === 1 ? 'its' : 'their'} accounts are unknown.`);
  const unknown = doc.items.reduce((n, item) => n + item.accounts.filter(noCurrency).length, 0);
  if (unknown) lines.push(`Not in the totals: ${accountsCount(unknown)} with no currency code from Plaid, which cannot be added to any currency.`);
  return lines;
}

export function totalsTable(shown: CurrencyTotals[], chalk: ChalkInstance, leftOut: readonly string[] = []): string {
  // Currency codes come from Plaid and the bank, as the balance table's text does: never raw to a
  // terminal. Escaped here, after currencyTotals grouped the accounts by the codes as sent.
  const totals = escapeControlsDeep(shown);
  if (totals.length === 0) return leftOut.map((line) => chalk.dim(line)).join('\n');
  const showOther = totals.some((t) => t.other.counted + t.other.missing > 0);
  const rows = FIGURE_ROWS.filter(([, key]) => key !== 'other' || showOther);

  const tables: string[] = [];
  for (let start = 0; start < totals.length; start += CURRENCIES_PER_TABLE) {
    const chunk = totals.slice(start, start + CURRENCIES_PER_TABLE);
    const table = plainTable(['Totals', ...chunk.map((t) => t.currency)], chalk, { colAligns: ['left', ...chunk.map(() => 'right' as const)] });
    for (const [label, key] of rows) {
      table.push([label, ...chunk.map((t) => money(key === 'net' ? t.net : t[key].total, t, chalk))]);
    }
    table.push(['Accounts', ...chunk.map((t) => String(t.accounts))]);
    tables.push(table.toString());
  }
  return [...tables, ...[...LEGEND, ...notes(totals, showOther), ...leftOut].map((line) => chalk.dim(line))].join('\n');
}

function money(value: string | null, t: CurrencyTotals, chalk: ChalkInstance): string {
  return value === null ? chalk.dim(MISSING) : formatMoneyDecimal(value, t.iso_currency_code, t.unofficial_currency_code);
}

/** What the figures leave out, and which were worked out rather than sent by Plaid. */
function notes(totals: CurrencyTotals[], showOther: boolean): string[] {
  const lines: string[] = [];
  for (const t of totals) {
    const left = (Object.keys(FIGURE_NAMES) as (keyof typeof FIGURE_NAMES)[])
      .filter((key) => t[key].missing > 0)
      .map((key) => `${FIGURE_NAMES[key]} ${accountsCount(t[key].missing)}`);
    if (left.length) lines.push(`${t.currency}: no figure from Plaid, so left out (not counted as 0): ${left.join(', ')}.`);
    if (t.availableCredit.fromLimit > 0) lines.push(`${t.currency}: available credit of ${accountsCount(t.availableCredit.fromLimit)} is limit − current (Plaid sent no available).`);
  }
  if (showOther) {
    const counts = totals.filter((t) => t.other.counted + t.other.missing > 0).map((t) => `${t.currency} ${accountsCount(t.other.counted + t.other.missing)}`);
    lines.push(`Other: the current balance of accounts neither asset nor liability (type other, or unknown), kept out of net: ${counts.join(', ')}.`);
  }
  return lines;
}
