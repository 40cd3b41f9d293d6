/**
 * `plaidbal check`: the decision (is there enough money?) and its output. Pure: data in, a
 * decision or a string out; run.ts fetches, picks an output and writes it.
 */
import type { ChalkInstance } from 'chalk';
import { compareScaled, formatAmount, formatScaled, scaledFromDecimal, subtractScaled, type Amount, type ScaledDecimal } from '../../amount.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { exactDecimal, formatMoney } from '../../format/money.js';
import { asOfText, type BalanceAge } from '../../format/age.js';
import type { AccountJson } from '../../types.js';

/** What the balance used means: spendable funds, the fallback to current, or credit left. */
export type BalanceField = 'available' | 'current' | 'available_credit';
/** Where the figure came from: one of Plaid's fields, or the limit minus the current balance. */
export type BalanceSource = 'available' | 'current' | 'limit_minus_current';

export interface FundsDecision {
  field: BalanceField;
  source: BalanceSource;
  /** The balance used, exactly. */
  balance: ScaledDecimal;
  sufficient: boolean;
  /** amount − balance when insufficient, else zero; at least the currency's minor digits. */
  shortfall: ScaledDecimal;
}

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

const NOT_FUNDS: Record<string, string> = {
  loan: 'its balance is an amount owed',
  investment: 'its balances are holdings, not spendable funds',
  brokerage: 'its balances are holdings, not spendable funds',
};

function kindOf(account: AccountJson): string {
  if (account.type === 'other' || !/^[a-z]+$/i.test(account.type)) return `an account of type "${account.type}"`;
  return `${/^[aeiou]/i.test(account.type) ? 'an' : 'a'} ${account.type} account`;
}

/** `Plaid Checking ••0000` */
export function accountLabel(account: AccountJson): string {
  return account.mask ? `${account.name} ••${account.mask}` : account.name;
}

function typeLabel(account: AccountJson): string {
  return account.subtype ? `${account.type} / ${account.subtype}` : account.type;
}

const decimalOf = (value: number): ScaledDecimal => scaledFromDecimal(exactDecimal(value));
const usable = (value: number | null): value is number => value !== null && Number.isFinite(value);

/**
 * Picks the balance to compare and compares it. Throws CliError when the account cannot be
 * checked: credit without `allowCredit`, and loan, investment and other accounts (exit 2); no
 * usable balance from Plaid (exit 5).
 */
export function decideFunds(account: AccountJson, amount: Amount, opts: { allowCredit: boolean }): FundsDecision {
  const { available, current, limit } = account.balances;
  const label = `"${accountLabel(account)}"`;
  let picked: { field: BalanceField; source: BalanceSource; balance: ScaledDecimal };

  if (account.type === 'depository') {
    if (usable(available)) picked = { field: 'available', source: 'available', balance: decimalOf(available) };
    else if (usable(current)) picked = { field: 'current', source: 'current', balance: decimalOf(current) };
    else throw noBalance(`Plaid reported neither an available nor a current balance for ${label}.`);
  } else if (account.type === 'credit') {
    if (!opts.allowCredit) {
      throw usageError(
        `${label} is a credit account (${typeLabel(account)}): what it has available is credit, not funds.`,
        'Pass --allow-credit to check the amount against its available credit.',
      );
    }
    if (usable(available)) picked = { field: 'available_credit', source: 'available', balance: decimalOf(available) };
    else if (usable(limit) && usable(current)) picked = { field: 'available_credit', source: 'limit_minus_current', balance: subtractScaled(decimalOf(limit), decimalOf(current)) };
    else throw noBalance(`Plaid reported no available credit for ${label}, and no limit and current balance to work it out from.`);
  } else {
    const why = NOT_FUNDS[account.type] ?? 'Plaid does not say that its balances are spendable funds';
    throw usageError(
      `${label} is ${kindOf(account)} (${typeLabel(account)}): ${why}, so plaidbal does not check funds against it.`,
      '`plaidbal check` works on depository accounts (checking, savings, …), and on credit accounts with --allow-credit; --allow-credit does not cover other types.',
    );
  }

  const sufficient = compareScaled(picked.balance, amount) >= 0;
  // As many decimals as the amount and the currency use; an insufficient balance with more
  // decimals (0.30000000000000004) brings its own into the difference, which is exact.
  const minScale = Math.max(minorDigits(account.balances.iso_currency_code), amount.scale);
  const shortfall = sufficient ? { units: 0n, scale: minScale } : padScale(subtractScaled(amount, picked.balance), minScale);
  return { ...picked, sufficient, shortfall };
}

function noBalance(message: string): CliError {
  return new CliError(message, {
    exitCode: ExitCode.PLAID_FAILURE,
    hint: 'The institution may not report it right now; see every balance with `plaidbal balance`, or try again later.',
  });
}

function padScale(value: ScaledDecimal, scale: number): ScaledDecimal {
  return value.scale >= scale ? value : { units: value.units * 10n ** BigInt(scale - value.scale), scale };
}

let knownCurrencies: ReadonlySet<string> | undefined;

function isKnownCurrency(code: string | null): code is string {
  knownCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  return code !== null && knownCurrencies.has(code.toUpperCase());
}

/** The currency's standard decimals (2 for USD, 0 for JPY); 2 when the currency is unofficial or unknown. */
export function minorDigits(iso: string | null): number {
  if (!isKnownCurrency(iso)) return 2;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: iso }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Intl on Node 20 takes at most 20 fraction digits; longer fractions are spliced back in. */
const INTL_MAX_FRACTION_DIGITS = 20;

/**
 * An exact decimal as money, the way formatMoney shows Plaid's numbers: currency styling for ISO
 * codes Intl knows, else the number and the code; never rounded.
 */
export function formatDecimalMoney(value: ScaledDecimal, iso: string | null, unofficial: string | null): string {
  const text = formatScaled(value);
  const fraction = value.scale;
  const styled = isKnownCurrency(iso);
  const digits = styled ? Math.max(minorDigits(iso), fraction) : fraction;
  const options: Intl.NumberFormatOptions = styled ? { style: 'currency', currency: iso } : {};
  const shown = Math.min(digits, INTL_MAX_FRACTION_DIGITS);
  const format = new Intl.NumberFormat('en-US', { ...options, minimumFractionDigits: shown, maximumFractionDigits: shown });
  let out: string;
  if (digits <= INTL_MAX_FRACTION_DIGITS) {
    out = format.format(text as Intl.StringNumericLiteral);
  } else {
    // Cut (not round) to what Intl takes, then put the whole fraction back.
    const cut = text.slice(0, text.indexOf('.') + 1 + INTL_MAX_FRACTION_DIGITS);
    const full = text.slice(text.indexOf('.') + 1);
    out = format
      .formatToParts(cut as Intl.StringNumericLiteral)
      .map((part) => (part.type === 'fraction' ? full : part.value))
      .join('');
  }
  const code = styled ? null : (iso ?? unofficial);
  return code ? `${out} ${code}` : out;
}

/** `USD`; `BTC (unofficial currency code)`; `unknown currency`. */
export function currencyText(iso: string | null, unofficial: string | null): string {
  if (iso) return iso;
  if (unofficial) return `${unofficial} (unofficial currency code)`;
  return 'unknown currency (Plaid sent no currency code)';
}

const FIELD_WORDS: Record<BalanceField, string> = {
  available: 'available',
  current: 'current',
  available_credit: 'available credit',
};

/** The figures and the verdict, for people. Colour comes from `chalk` (level 0 off a terminal). */
export function checkText(report: CheckReport, chalk: ChalkInstance): string {
  const { account, amount, decision } = report;
  const { iso_currency_code: iso, unofficial_currency_code: unofficial, limit, current } = account.balances;
  const money = (value: ScaledDecimal) => formatDecimalMoney(value, iso, unofficial);
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
