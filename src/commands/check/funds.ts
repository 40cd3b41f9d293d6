/**
 * `plaidbal check`'s decision: which balance of an account to compare, and whether it covers the
 * amount. Pure logic, no output: format.ts turns the decision into text or JSON.
 */
import { compareScaled, scaledFromDecimal, subtractScaled, type Amount, type ScaledDecimal } from '../../amount.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { exactDecimal, minorDigits } from '../../format/money.js';
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

export function typeLabel(account: AccountJson): string {
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
    // A CD's current balance is held until it matures: not funds, so no fallback to it (a script's
    // `check … && pay` must not go ahead on it). An available balance Plaid sends for one is used.
    else if (account.subtype === 'cd') {
      throw usageError(
        `${label} is a certificate of deposit (${typeLabel(account)}) and Plaid reports no available balance for it: its current balance is held until it matures, not funds, so plaidbal does not check funds against it.`,
        '`plaidbal check` works on depository accounts that hold funds (checking, savings, …); `plaidbal balance` shows the CD\'s current balance.',
      );
    } else if (usable(current)) picked = { field: 'current', source: 'current', balance: decimalOf(current) };
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
