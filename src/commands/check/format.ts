/**
 * `plaidbal check`'s output: the decision of funds.ts as text for people or as the JSON document.
 * Pure: data in, a string out; run.ts fetches, decides, picks an output and writes it.
 */
import type { ChalkInstance } from 'chalk';
import { formatAmount, formatScaled, type Amount, type ScaledDecimal } from '../../amount.js';
import { currencyText, formatMoney, formatMoneyDecimal } from '../../format/money.js';
import { asOfText, type BalanceAge } from '../../format/age.js';
import type { AccountJson } from '../../types.js';
import { accountLabel, typeLabel, type BalanceField, type FundsDecision } from './funds.js';
import { escapeControlsDeep } from '../../text.js';

export interface CheckReport {
  item_id: string;
  /** The item's alias. */
  name: string;
  request_id: string | null;
  checked_at: string;
  account: AccountJson;
  amount: Amount;
  decision: FundsDecision;
  /** Set when the figure compared is not real-time (Capital One credit cards): how old it is. */
  age: BalanceAge | null;
}

const FIELD_WORDS: Record<BalanceField, string> = {
  available: 'available',
  current: 'current',
  available_credit: 'available credit',
};

/** The figures and the verdict, for people. Colour comes from `chalk` (level 0 off a terminal). */
export function checkText(shown: CheckReport, chalk: ChalkInstance): string {
  // The account's name and type come from the bank, and its last_updated_datetime from Plaid (a
  // string Date.parse accepts may still carry controls in a comment): never raw to a terminal.
  const report = { ...shown, account: escapeControlsDeep(shown.account), name: escapeControlsDeep(shown.name), age: escapeControlsDeep(shown.age) };
  const { account, amount, decision } = report;
  const { iso_currency_code: iso, unofficial_currency_code: unofficial, limit, current } = account.balances;
  const money = (value: ScaledDecimal) => formatMoneyDecimal(formatScaled(value), iso, unofficial);
  const plaidMoney = (value: number | null) => formatMoney(value, iso, unofficial);

  const balanceLabel = { available: 'Available', current: 'Current', available_credit: 'Available credit' }[decision.field];
  const balanceNote = {
    available: '',
    current: ' (no available balance reported: current balance used)',
    limit_minus_current: ` (limit ${plaidMoney(limit)} − current ${plaidMoney(current)})`,
  }[decision.source];
  const creditNote = decision.field === 'available_credit' && decision.source === 'available' ? " (Plaid's available credit)" : '';

  const rows: [string, string][] = [
    ['Account', `${accountLabel(account)} (${typeLabel(account)}), item ${report.name}`],
    ['Currency', currencyText(iso, unofficial)],
    ['Requested', money(amount)],
    [balanceLabel, `${money(decision.balance)}${balanceNote}${creditNote}`],
  ];
  if (report.age) rows.push(['As of', `${report.age.at}, ${asOfText(report.age).slice('as of '.length)}: not a real-time balance`]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);

  const figures = `${money(decision.balance)} ${FIELD_WORDS[decision.field]}`;
  const verdict = decision.sufficient
    ? chalk.green.bold(`Sufficient: ${figures} ≥ ${money(amount)} requested`)
    : chalk.red.bold(`Insufficient: ${figures} < ${money(amount)} requested, short by ${money(decision.shortfall)}`);
  return `${lines.join('\n')}\n${verdict}\n`;
}

/** The stderr note when the figure is not what was asked for (the current-balance fallback); else null. */
export function fallbackNote(report: CheckReport): string | null {
  if (report.decision.field !== 'current') return null;
  return (
    `Note: Plaid reported no available balance for "${accountLabel(report.account)}", so its current balance was used. ` +
    'The current balance can include money that cannot be spent yet (holds, pending debits).'
  );
}

/** The stderr note when the figure compared is not real-time (Capital One's credit cards); else null. */
export function staleNote(report: CheckReport): string | null {
  if (!report.age) return null;
  return (
    `Note: the balance compared for "${accountLabel(report.account)}" is not real-time: Plaid last updated it at ${report.age.at} (${asOfText(report.age)}). ` +
    'The institution reports no real-time balance for this account; spending since then is not in it.'
  );
}

/**
 * The one JSON document of `check --json`. Key order is part of the contract; amounts the user
 * typed or plaidbal computed are strings, Plaid's numbers stay numbers.
 */
export function checkJson(report: CheckReport): string {
  const { account, decision } = report;
  const { available, current, limit, iso_currency_code, unofficial_currency_code } = account.balances;
  const doc = {
    item_id: report.item_id,
    name: report.name,
    account_id: account.account_id,
    account_name: account.name,
    mask: account.mask,
    type: account.type,
    subtype: account.subtype,
    amount: formatAmount(report.amount),
    currency: { iso_currency_code, unofficial_currency_code },
    balance_used: {
      field: decision.field,
      source: decision.source,
      value: balanceValue(account, decision),
      realtime: report.age === null,
      last_updated_datetime: account.balances.last_updated_datetime,
    },
    balances: { available, current, limit },
    sufficient: decision.sufficient,
    shortfall: formatScaled(decision.shortfall),
    request_id: report.request_id,
    checked_at: report.checked_at,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Plaid's own number when one was used; the computed available credit as the nearest number. */
function balanceValue(account: AccountJson, decision: FundsDecision): number {
  const { available, current } = account.balances;
  if (decision.source === 'available' && available !== null) return available;
  if (decision.source === 'current' && current !== null) return current;
  return Number(formatScaled(decision.balance));
}
