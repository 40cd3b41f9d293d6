/** Totals per currency under the balance table, summed exactly (no float drift). */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import type { BalanceDocument } from '../types.js';
import { sumExact } from './decimal.js';
import { currencyLabel, formatMoneyDecimal } from './money.js';

export interface CurrencyTotal {
  currency: string;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
  accounts: number;
  /** Exact decimal strings; null when no account of the currency has that balance. */
  available: string | null;
  current: string | null;
}

export function currencyTotals(doc: BalanceDocument): CurrencyTotal[] {
  const groups = new Map<string, { iso: string | null; unofficial: string | null; available: number[]; current: number[]; accounts: number }>();
  for (const item of doc.items) {
    for (const account of item.accounts) {
      const { iso_currency_code: iso, unofficial_currency_code: unofficial, available, current } = account.balances;
      const key = currencyLabel(iso, unofficial);
      const group = groups.get(key) ?? { iso, unofficial, available: [], current: [], accounts: 0 };
      group.accounts += 1;
      if (available !== null) group.available.push(available);
      if (current !== null) group.current.push(current);
      groups.set(key, group);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, g]) => ({
      currency,
      iso_currency_code: g.iso,
      unofficial_currency_code: g.unofficial,
      accounts: g.accounts,
      available: g.available.length ? sumExact(g.available) : null,
      current: g.current.length ? sumExact(g.current) : null,
    }));
}

export function totalsTable(totals: CurrencyTotal[], chalk: ChalkInstance): string {
  if (totals.length === 0) return '';
  const table = new Table({
    head: ['Totals', 'Accounts', 'Available', 'Current'].map((h) => chalk.bold(h)),
    colAligns: ['left', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  const money = (value: string | null, t: CurrencyTotal) => (value === null ? '—' : formatMoneyDecimal(value, t.iso_currency_code, t.unofficial_currency_code));
  for (const t of totals) table.push([t.currency, String(t.accounts), money(t.available, t), money(t.current, t)]);
  return `${table.toString()}\n${chalk.dim('Totals add every account as Plaid reports it: credit and loan balances are amounts owed. Accounts with a null balance are left out of that column.')}`;
}
