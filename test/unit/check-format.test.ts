import { Chalk } from 'chalk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatScaled, parseAmount, scaledFromDecimal } from '../../src/amount.js';
import { checkJson, checkText, fallbackNote, type CheckReport } from '../../src/commands/check/format.js';
import { decideFunds } from '../../src/commands/check/funds.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { exactDecimal, formatMoney, formatMoneyDecimal } from '../../src/format/money.js';
import type { AccountBalancesJson, AccountJson } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const ANSI = /\u001b\[/;

function account(name: string, mask: string | null, type: string, subtype: string | null, balances: Partial<AccountBalancesJson>): AccountJson {
  return {
    account_id: `acc${mask ?? 'none'}`.padEnd(37, 'x'),
    name,
    official_name: null,
    mask,
    type,
    subtype,
    balances: { available: null, current: null, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, last_updated_datetime: null, ...balances },
  };
}

const checking = account('Plaid Checking', '0000', 'depository', 'checking', { available: 100, current: 110 });
/** A depository account whose institution reports no available balance. */
const noAvailable = account('Plaid Money Market', '4444', 'depository', 'money market', { available: null, current: 1000 });
const cd = account('Plaid CD', '2222', 'depository', 'cd', { available: null, current: 1000 });
const card = account('Plaid Credit Card', '3333', 'credit', 'credit card', { available: null, current: 410, limit: 2000 });
const loan = account('Plaid Student Loan', '7777', 'loan', 'student', { current: 65262 });
const ira = account('Plaid IRA', '5555', 'investment', 'ira', { current: 320.76 });

const decide = (acc: AccountJson, amount: string, allowCredit = false) => decideFunds(acc, parseAmount(amount), { allowCredit });

function report(acc: AccountJson, amount: string, allowCredit = false): CheckReport {
  return {
    item_id: 'item'.padEnd(37, '0'),
    name: 'demo',
    request_id: 'req000000000001',
    checked_at: '2026-11-23T20:41:07.512Z',
    account: acc,
    amount: parseAmount(amount),
    decision: decide(acc, amount, allowCredit),
    age: null,
  };
}

function refusal(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('not refused');
}

describe('decideFunds', () => {
  it('depository: available >= amount, equal included', () => {
    expect(decide(checking, '25')).toMatchObject({ field: 'available', source: 'available', sufficient: true, shortfall: { units: 0n, scale: 2 } });
    expect(decide(checking, '100').sufficient).toBe(true);
    expect(decide(checking, '100.00000000').sufficient).toBe(true);
    const short = decide(checking, '100.01');
    expect(short.sufficient).toBe(false);
    expect(short.shortfall).toEqual({ units: 1n, scale: 2 });
  });

  it('falls back to current when available is null', () => {
    expect(decide(noAvailable, '1000')).toMatchObject({ field: 'current', source: 'current', sufficient: true });
    expect(decide(noAvailable, '1000.5')).toMatchObject({ field: 'current', sufficient: false, shortfall: { units: 50n, scale: 2 } });
  });

  it('an overdrawn account is short by the amount plus the overdraft', () => {
    const overdrawn = account('Overdrawn', '1001', 'depository', 'checking', { available: -12.5, current: -12.5 });
    expect(decide(overdrawn, '5')).toMatchObject({ sufficient: false, shortfall: { units: 1750n, scale: 2 } });
  });

  it('credit needs allowCredit, and then uses limit − current when available is null', () => {
    const e = refusal(() => decide(card, '25'));
    expect(e.exitCode).toBe(ExitCode.USAGE);
    expect(e.message).toContain('credit account');
    expect(e.hint).toContain('--allow-credit');
    const d = decide(card, '1590', true);
    expect(d).toMatchObject({ field: 'available_credit', source: 'limit_minus_current', sufficient: true });
    expect(d.balance).toEqual({ units: 1590n, scale: 0 });
    expect(decide(card, '1590.01', true).sufficient).toBe(false);
  });

  it("credit uses Plaid's available when it is set, and computes limit − current exactly", () => {
    const withAvailable = { ...card, balances: { ...card.balances, available: 1500 } };
    expect(decide(withAvailable, '1500.01', true)).toMatchObject({ source: 'available', sufficient: false });
    const awkward = { ...card, balances: { ...card.balances, current: 410.11 } };
    const d = decide(awkward, '1589.89', true);
    expect(d.balance).toEqual(scaledFromDecimal('1589.89'));
    expect(d.sufficient).toBe(true);
    expect(2000 - 410.11 >= 1589.89).toBe(false); // what floats would have said
  });

  it('loan, investment and other accounts are refused, even with allowCredit', () => {
    for (const acc of [loan, ira, account('Wallet', null, 'other', null, { available: 5, current: 5 })]) {
      const e = refusal(() => decide(acc, '1', true));
      expect(e.exitCode).toBe(ExitCode.USAGE);
      expect(e.hint).toContain('--allow-credit does not cover other types');
    }
    expect(refusal(() => decide(loan, '1', true)).message).toBe(
      '"Plaid Student Loan ••7777" is a loan account (loan / student): its balance is an amount owed, so plaidbal does not check funds against it.',
    );
    expect(refusal(() => decide(ira, '1')).message).toContain('is an investment account');
    expect(refusal(() => decide(account('Wallet', null, 'other', null, {}), '1')).message).toContain('"Wallet" is an account of type "other"');
  });

  it('a CD without an available balance is refused: its current balance is held until it matures', () => {
    const e = refusal(() => decide(cd, '1'));
    expect(e.exitCode).toBe(ExitCode.USAGE);
    expect(e.message).toBe(
      '"Plaid CD ••2222" is a certificate of deposit (depository / cd) and Plaid reports no available balance for it: its current balance is held until it matures, not funds, so plaidbal does not check funds against it.',
    );
    expect(decide({ ...cd, balances: { ...cd.balances, available: 500 } }, '400')).toMatchObject({ field: 'available', source: 'available', sufficient: true });
  });

  it('no usable balance is a Plaid-side failure (exit 5)', () => {
    expect(refusal(() => decide(account('Empty', '9', 'depository', null, {}), '1')).exitCode).toBe(ExitCode.PLAID_FAILURE);
    const noLimit = { ...card, balances: { ...card.balances, limit: null } };
    expect(refusal(() => decide(noLimit, '1', true)).exitCode).toBe(ExitCode.PLAID_FAILURE);
  });

  it('shortfall: the currency minor digits, the amount digits, and exact extra digits from the balance', () => {
    const yen = account('Yen', '1003', 'depository', 'checking', { available: 150000, current: 150000, iso_currency_code: 'JPY' });
    expect(decide(yen, '200000').shortfall).toEqual({ units: 50000n, scale: 0 });
    expect(decide(yen, '1').shortfall).toEqual({ units: 0n, scale: 0 });
    const odd = account('Odd', '1', 'depository', null, { available: 0.1 + 0.2 });
    expect(decide(odd, '0.3')).toMatchObject({ sufficient: true, shortfall: { units: 0n, scale: 2 } });
    expect(decide(odd, '0.30000001').shortfall).toEqual(scaledFromDecimal('0.00000000999999996'));
  });

  it('agrees with exact arithmetic on random cents', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 1e9 }), (balanceCents, amountCents) => {
        const acc = account('A', '1', 'depository', null, { available: balanceCents / 100 });
        const amount = (amountCents / 100).toFixed(2);
        const d = decide(acc, amount);
        expect(d.sufficient).toBe(balanceCents >= amountCents);
        expect(d.shortfall).toEqual({ units: BigInt(Math.max(0, amountCents - balanceCents)), scale: 2 });
      }),
    );
  });
});

describe('checkText', () => {
  it('sufficient: the figures and the verdict', () => {
    expect(checkText(report(checking, '25'), plain)).toBe(
      [
        'Account:   Plaid Checking ••0000 (depository / checking), item demo',
        'Currency:  USD',
        'Requested: $25.00',
        'Available: $100.00',
        'Sufficient: $100.00 available ≥ $25.00 requested',
        '',
      ].join('\n'),
    );
  });

  it('insufficient: short by the exact difference', () => {
    expect(checkText(report(checking, '100.01'), plain)).toContain('Insufficient: $100.00 available < $100.01 requested, short by $0.01\n');
  });

  it('the current fallback says so', () => {
    const text = checkText(report(noAvailable, '25'), plain);
    expect(text).toContain('Current:   $1,000.00 (no available balance reported: current balance used)');
    expect(text).toContain('Sufficient: $1,000.00 current ≥ $25.00 requested');
  });

  it('available credit says where it came from', () => {
    const computed = checkText(report(card, '25', true), plain);
    expect(computed).toContain('Available credit: $1,590.00 (limit $2,000.00 − current $410.00)');
    expect(computed).toContain('Sufficient: $1,590.00 available credit ≥ $25.00 requested');
    const fromPlaid = checkText(report({ ...card, balances: { ...card.balances, available: 1500 } }, '25', true), plain);
    expect(fromPlaid).toContain("Available credit: $1,500.00 (Plaid's available credit)");
  });

  it('unofficial and missing currency codes', () => {
    const btc = account('Sats', '2001', 'depository', null, { available: 0.12345678, current: 0.12345678, iso_currency_code: null, unofficial_currency_code: 'BTC' });
    const text = checkText(report(btc, '0.5'), plain);
    expect(text).toContain('Currency:  BTC (unofficial currency code)');
    expect(text).toContain('Insufficient: 0.12345678 BTC available < 0.5 BTC requested, short by 0.37654322 BTC');
    const none = account('Mystery', '2002', 'depository', null, { available: 10, current: 10, iso_currency_code: null });
    const unknown = checkText(report(none, '10'), plain);
    expect(unknown).toContain('Currency:  unknown currency (Plaid sent no currency code)');
    expect(unknown).toContain('Sufficient: 10 available ≥ 10 requested');
  });

  it('colour only when the chalk has it: green for sufficient, red for insufficient', () => {
    expect(checkText(report(checking, '25'), plain)).not.toMatch(ANSI);
    expect(checkText(report(checking, '25'), coloured)).toContain('\u001b[32m');
    expect(checkText(report(checking, '250'), coloured)).toContain('\u001b[31m');
  });
});

describe('fallbackNote', () => {
  it('only for the current fallback', () => {
    expect(fallbackNote(report(checking, '25'))).toBeNull();
    expect(fallbackNote(report(card, '25', true))).toBeNull();
    expect(fallbackNote(report(noAvailable, '25'))).toContain('Plaid reported no available balance for "Plaid Money Market ••4444", so its current balance was used');
  });
});

describe('checkJson', () => {
  it('the documented shape and key order', () => {
    const doc = JSON.parse(checkJson(report(checking, '125.50')));
    expect(Object.keys(doc)).toEqual([
      'item_id', 'name', 'account_id', 'account_name', 'mask', 'type', 'subtype', 'amount', 'currency',
      'balance_used', 'balances', 'sufficient', 'shortfall', 'request_id', 'checked_at',
    ]);
    expect(doc).toEqual({
      item_id: 'item'.padEnd(37, '0'),
      name: 'demo',
      account_id: checking.account_id,
      account_name: 'Plaid Checking',
      mask: '0000',
      type: 'depository',
      subtype: 'checking',
      amount: '125.50',
      currency: { iso_currency_code: 'USD', unofficial_currency_code: null },
      balance_used: { field: 'available', source: 'available', value: 100, realtime: true, last_updated_datetime: null },
      balances: { available: 100, current: 110, limit: null },
      sufficient: false,
      shortfall: '25.50',
      request_id: 'req000000000001',
      checked_at: '2026-11-23T20:41:07.512Z',
    });
    expect(Object.keys(doc.balance_used)).toEqual(['field', 'source', 'value', 'realtime', 'last_updated_datetime']);
  });

  it('the amount is exactly as typed; shortfall is "0.00" when sufficient', () => {
    expect(JSON.parse(checkJson(report(checking, '25'))).amount).toBe('25');
    expect(JSON.parse(checkJson(report(checking, '25'))).shortfall).toBe('0.00');
    expect(JSON.parse(checkJson(report(checking, '0.10000000'))).shortfall).toBe('0.00000000');
  });

  it('fallback and credit figures', () => {
    expect(JSON.parse(checkJson(report(noAvailable, '25'))).balance_used).toEqual({ field: 'current', source: 'current', value: 1000, realtime: true, last_updated_datetime: null });
    expect(JSON.parse(checkJson(report(card, '25', true))).balance_used).toEqual({ field: 'available_credit', source: 'limit_minus_current', value: 1590, realtime: true, last_updated_datetime: null });
    const awkward = { ...card, balances: { ...card.balances, current: 410.11 } };
    expect(JSON.parse(checkJson(report(awkward, '25', true))).balance_used.value).toBe(1589.89);
  });

  it('is one pretty-printed document with a trailing newline', () => {
    const text = checkJson(report(checking, '25'));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"item_id"/);
  });
});

describe('money for exact decimals', () => {
  const money = (decimal: string, iso: string | null, unofficial: string | null) => formatMoneyDecimal(formatScaled(parseAmount(decimal)), iso, unofficial);

  it('an exact decimal of a Plaid number prints as formatMoney prints the number', () => {
    for (const [value, iso, unofficial] of [
      [100, 'USD', null],
      [23631.9805, 'USD', null],
      [-12.5, 'USD', null],
      [150000, 'JPY', null],
      [1234.5678, 'EUR', null],
      [0.12345678, null, 'BTC'],
      [1234.5, null, null],
      [0.1 + 0.2, 'USD', null],
      [1.2345678901234567e-10, 'USD', null],
      [5e-324, 'GBP', null],
    ] as const) {
      expect(formatMoneyDecimal(formatScaled(scaledFromDecimal(exactDecimal(value))), iso, unofficial)).toBe(formatMoney(value, iso, unofficial));
    }
  });

  it('keeps trailing zeros and every digit of a typed amount', () => {
    expect(money('999999999999999.99999999', 'USD', null)).toBe('$999,999,999,999,999.99999999');
    expect(money('0.10000000', null, 'BTC')).toBe('0.10000000 BTC');
  });
});

// These two codes printed differently when check had its own copy of the money code: 'ıls'
// (dotless i: its upper case is "ILS", yet Intl rejects it) threw a RangeError, and ' USD '
// printed as "12.50  USD " instead of "$12.50". check now prints them as format/money.ts does.
describe('currency codes that are not clean ISO codes', () => {
  const odd = (iso: string) => ({ ...checking, balances: { ...checking.balances, available: 12.5, current: 12.5, iso_currency_code: iso } });

  it("'ıls' is not styled as a currency: the figure and the code", () => {
    const r = report(odd('ıls'), '20');
    expect(r.decision).toMatchObject({ sufficient: false, shortfall: { units: 750n, scale: 2 } });
    const text = checkText(r, plain);
    expect(text).toContain('Currency:  ıls\n');
    expect(text).toContain('Insufficient: 12.5 ıls available < 20 ıls requested, short by 7.50 ıls\n');
    expect(JSON.parse(checkJson(r))).toMatchObject({ currency: { iso_currency_code: 'ıls' }, shortfall: '7.50' });
  });

  it("' USD ' is USD, with the spaces around it dropped", () => {
    const r = report(odd(' USD '), '20');
    const text = checkText(r, plain);
    expect(text).toContain('Currency:  USD\n');
    expect(text).toContain('Insufficient: $12.50 available < $20.00 requested, short by $7.50\n');
    // --json keeps the code as Plaid sent it.
    expect(JSON.parse(checkJson(r))).toMatchObject({ currency: { iso_currency_code: ' USD ' }, shortfall: '7.50' });
  });

  it("' JPY ' has JPY's minor digits (none) in the shortfall", () => {
    const r = report({ ...checking, balances: { ...checking.balances, available: 100, iso_currency_code: ' JPY ' } }, '250');
    expect(checkJson(r)).toContain('"shortfall": "150"');
    expect(checkText(r, plain)).toContain('short by ¥150\n');
  });
});
