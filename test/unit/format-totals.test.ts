/**
 * The totals under the balance table (src/format/totals.ts), on figures worked out by hand:
 * First Platypus Bank's nine Sandbox accounts (PLAID-NOTES.md), nulls, mixed and unofficial
 * currencies, negative balances, `other` and unknown types, and a currency with only debts.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { CURRENCIES_PER_TABLE, currencyTotals, leftOutOfTotals, totalsKind, totalsTable, type CurrencyTotals } from '../../src/format/totals.js';
import type { AccountJson, BalanceDocument } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const ANSI = /\u001b\[/;
const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

interface Balances {
  available: number | null;
  current: number | null;
  limit?: number | null;
  iso?: string | null;
  unofficial?: string | null;
}

let nextId = 0;
function account(name: string, type: string, { available, current, limit = null, iso = 'USD', unofficial = null }: Balances): AccountJson {
  nextId += 1;
  return {
    account_id: `acct${nextId}`,
    name,
    official_name: null,
    mask: null,
    type,
    subtype: null,
    balances: { available, current, limit, iso_currency_code: iso, unofficial_currency_code: unofficial, last_updated_datetime: null },
  };
}

function docOf(...itemsAccounts: AccountJson[][]): BalanceDocument {
  return {
    environment: 'sandbox',
    fetched_at: '2026-01-01T00:00:00.000Z',
    items: itemsAccounts.map((accounts, i) => ({
      item_id: `item${i}`,
      name: `item-${i}`,
      institution_id: null,
      institution_name: null,
      request_id: null,
      balance_source: 'realtime' as const,
      accounts,
      error: null,
    })),
  };
}

/** Plaid's Sandbox accounts for user_good at First Platypus Bank (PLAID-NOTES.md): all USD. */
const PLATYPUS: AccountJson[] = [
  account('Plaid Checking', 'depository', { available: 100, current: 110 }),
  account('Plaid Saving', 'depository', { available: 200, current: 210 }),
  account('Plaid CD', 'depository', { available: null, current: 1000 }),
  account('Plaid Credit Card', 'credit', { available: null, current: 410, limit: 2000 }),
  account('Plaid Money Market', 'depository', { available: 43200, current: 43200 }),
  account('Plaid IRA', 'investment', { available: null, current: 320.76 }),
  account('Plaid 401k', 'investment', { available: null, current: 23631.9805 }),
  account('Plaid Student Loan', 'loan', { available: null, current: 65262 }),
  account('Plaid Mortgage', 'loan', { available: null, current: 56302.06 }),
];

function only(totals: CurrencyTotals[], currency: string): CurrencyTotals {
  const t = totals.find((x) => x.currency === currency);
  expect(t, `totals for ${currency}`).toBeDefined();
  return t!;
}

/** The transposed tables as currency → row label → cell. */
function cells(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let columns: string[] = [];
  for (const line of stripAnsi(text).split('\n')) {
    if (!line.startsWith('│')) continue;
    const row = line.split('│').slice(1, -1).map((c) => c.trim());
    if (row[0] === 'Totals') {
      columns = row.slice(1);
      for (const c of columns) out.set(c, new Map());
    } else columns.forEach((c, i) => out.get(c)!.set(row[0]!, row[i + 1]!));
  }
  return out;
}

describe('totalsKind', () => {
  it('depository and investment are assets, credit and loan liabilities; brokerage is the old name of investment', () => {
    expect(['depository', 'investment', 'brokerage', 'credit', 'loan'].map(totalsKind)).toEqual(['depository', 'investment', 'investment', 'credit', 'loan']);
  });

  it('other, unknown types, other spellings and names on Object.prototype are other', () => {
    for (const type of ['other', 'payroll', 'Depository', ' credit', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(totalsKind(type), type).toBe('other');
  });
});

describe('currencyTotals', () => {
  it("First Platypus Bank's nine Sandbox accounts, worked out by hand", () => {
    const [usd, ...rest] = currencyTotals(docOf(PLATYPUS));
    expect(rest).toEqual([]);
    expect(usd).toEqual({
      currency: 'USD',
      iso_currency_code: 'USD',
      unofficial_currency_code: null,
      accounts: 9,
      // Depository available: Checking 100 + Saving 200 + Money Market 43200 = 43500; the CD's is null.
      cashAvailable: { total: '43500', counted: 3, missing: 1 },
      // Depository current: 110 + 210 + 1000 + 43200 = 44520; investment current: IRA 320.76 +
      // 401k 23631.9805 = 23952.7405; together 68472.7405.
      assets: { total: '68472.7405', counted: 6, missing: 0 },
      // Credit card 410 + student loan 65262 + mortgage 56302.06 = 121974.06.
      liabilities: { total: '121974.06', counted: 3, missing: 0 },
      // 68472.7405 − 121974.06 = −53501.3195.
      net: '-53501.3195',
      // The credit card's limit.
      creditLimit: { total: '2000', counted: 1, missing: 0 },
      // Plaid sends no available for the card, so limit − current: 2000 − 410 = 1590.
      availableCredit: { total: '1590', counted: 1, missing: 0, fromLimit: 1 },
      other: { total: null, counted: 0, missing: 0 },
    });
  });

  it('two items of the same bank add up per currency (each Sandbox figure twice)', () => {
    const usd = only(currencyTotals(docOf(PLATYPUS, PLATYPUS)), 'USD');
    expect(usd.accounts).toBe(18);
    // 2 × 43500, 2 × 68472.7405, 2 × 121974.06, 2 × −53501.3195.
    expect([usd.cashAvailable.total, usd.assets.total, usd.liabilities.total, usd.net]).toEqual(['87000', '136945.481', '243948.12', '-107002.639']);
    expect(usd.cashAvailable.missing).toBe(2);
  });

  it("a credit account's available credit is Plaid's available when sent, else limit − current, else missing", () => {
    const usd = only(
      currencyTotals(
        docOf([
          // Plaid's available (1500) wins over limit − current (2000 − 410 = 1590): it counts pending items.
          account('card with available', 'credit', { available: 1500, current: 410, limit: 2000 }),
          // No available: 1000 − 250.5 = 749.5.
          account('card without available', 'credit', { available: null, current: 250.5, limit: 1000 }),
          // No available and no limit: nothing to work it out from.
          account('card without limit', 'credit', { available: null, current: 80, limit: null }),
        ]),
      ),
      'USD',
    );
    // 1500 + 749.5 = 2249.5; the third card is missing.
    expect(usd.availableCredit).toEqual({ total: '2249.5', counted: 2, missing: 1, fromLimit: 1 });
    // 2000 + 1000; the third card's limit is null.
    expect(usd.creditLimit).toEqual({ total: '3000', counted: 2, missing: 1 });
    // 410 + 250.5 + 80 = 740.5.
    expect(usd.liabilities).toEqual({ total: '740.5', counted: 3, missing: 0 });
  });

  it('a null is left out and counted, never read as 0: all nulls make the figure null, not 0', () => {
    const usd = only(
      currencyTotals(
        docOf([
          // Plaid: when current is null, available is not.
          account('checking, no current', 'depository', { available: 75, current: null }),
          account('cd, no available', 'depository', { available: null, current: 1000 }),
          account('loan, no current', 'loan', { available: 5, current: null }),
        ]),
      ),
      'USD',
    );
    expect(usd.cashAvailable).toEqual({ total: '75', counted: 1, missing: 1 });
    expect(usd.assets).toEqual({ total: '1000', counted: 1, missing: 1 });
    // The loan's only figure is null: liabilities has no figure at all, and its available (5) is not read.
    expect(usd.liabilities).toEqual({ total: null, counted: 0, missing: 1 });
    // 1000 − nothing known.
    expect(usd.net).toBe('1000');
  });

  it('negative balances stay negative: an overdrawn account lowers assets, a card in credit lowers liabilities', () => {
    const usd = only(
      currencyTotals(
        docOf([
          account('overdrawn', 'depository', { available: -40.25, current: -30.25 }),
          account('savings', 'depository', { available: 10, current: 10 }),
          // The lender owes the holder 12.5 (Plaid: a negative current on a credit account).
          account('card in credit', 'credit', { available: 1012.5, current: -12.5, limit: 1000 }),
        ]),
      ),
      'USD',
    );
    // −40.25 + 10 = −30.25
    expect(usd.cashAvailable.total).toBe('-30.25');
    // −30.25 + 10 = −20.25
    expect(usd.assets.total).toBe('-20.25');
    expect(usd.liabilities.total).toBe('-12.5');
    // −20.25 − (−12.5) = −7.75
    expect(usd.net).toBe('-7.75');
    expect(usd.availableCredit.total).toBe('1012.5');
  });

  it('currencies never mix: each ISO and each unofficial code is its own, and a currency with only debts has no assets', () => {
    const totals = currencyTotals(
      docOf(
        [
          account('checking', 'depository', { available: 100, current: 110 }),
          account('wallet', 'investment', { available: null, current: 0.12345678, iso: null, unofficial: 'BTC' }),
          account('cad mortgage', 'loan', { available: null, current: 250000, iso: 'CAD' }),
        ],
        [account('cad card', 'credit', { available: 900, current: 100.1, limit: 1000, iso: 'CAD' })],
      ),
    );
    expect(totals.map((t) => t.currency)).toEqual(['BTC', 'CAD', 'USD']);
    const btc = only(totals, 'BTC');
    expect([btc.iso_currency_code, btc.unofficial_currency_code, btc.assets.total, btc.net]).toEqual([null, 'BTC', '0.12345678', '0.12345678']);
    const cad = only(totals, 'CAD');
    // No CAD depository or investment account: assets and cash available have no figure (and no missing one).
    expect(cad.assets).toEqual({ total: null, counted: 0, missing: 0 });
    expect(cad.cashAvailable).toEqual({ total: null, counted: 0, missing: 0 });
    // 250000 + 100.1 = 250100.1, so net is −250100.1.
    expect(cad.liabilities.total).toBe('250100.1');
    expect(cad.net).toBe('-250100.1');
    expect(cad.availableCredit).toEqual({ total: '900', counted: 1, missing: 0, fromLimit: 0 });
    const usd = only(totals, 'USD');
    expect([usd.accounts, usd.assets.total, usd.liabilities.total, usd.net, usd.creditLimit.total]).toEqual([1, '110', null, '110', null]);
  });

  it('a currency with no asset and no liability has no net', () => {
    const [eur] = currencyTotals(docOf([account('prepaid', 'other', { available: 5, current: 5, iso: 'EUR' })]));
    expect(eur!.net).toBeNull();
  });

  it('other and unknown types are added apart, never into assets, liabilities or net', () => {
    const usd = only(
      currencyTotals(
        docOf([
          account('checking', 'depository', { available: 100, current: 100 }),
          account('prepaid', 'other', { available: 20, current: 20 }),
          account('payroll', 'payroll', { available: null, current: 7.5 }),
          account('odd', 'constructor', { available: null, current: null }),
          // The old name of investment: an asset.
          account('old brokerage', 'brokerage', { available: null, current: 50 }),
        ]),
      ),
      'USD',
    );
    // 20 + 7.5; "odd" has no current.
    expect(usd.other).toEqual({ total: '27.5', counted: 2, missing: 1 });
    // 100 + 50
    expect(usd.assets.total).toBe('150');
    expect(usd.net).toBe('150');
    // Only depository available: the prepaid account's 20 is not cash available.
    expect(usd.cashAvailable.total).toBe('100');
  });

  it("a depository account's limit (an overdraft limit) is not a credit limit", () => {
    const [usd] = currencyTotals(docOf([account('checking', 'depository', { available: 100, current: 100, limit: 500 })]));
    expect(usd!.creditLimit).toEqual({ total: null, counted: 0, missing: 0 });
    expect(usd!.availableCredit.total).toBeNull();
  });

  it('sums exactly, in decimal: 0.1 + 0.2 is 0.3, and 1e16 + 0.1 keeps the 0.1', () => {
    const [usd] = currencyTotals(
      docOf([
        account('a', 'depository', { available: 0.1, current: 1e16 }),
        account('b', 'depository', { available: 0.2, current: 0.1 }),
        account('c', 'loan', { available: null, current: 0.3 }),
      ]),
    );
    expect(usd!.cashAvailable.total).toBe('0.3');
    expect(usd!.assets.total).toBe('10000000000000000.1');
    // 10000000000000000.1 − 0.3
    expect(usd!.net).toBe('9999999999999999.8');
  });

  it('an item that failed, or a document without accounts, has nothing to add', () => {
    expect(currencyTotals(docOf())).toEqual([]);
    expect(currencyTotals(docOf([]))).toEqual([]);
  });
});

describe('totalsTable', () => {
  it('shows the Sandbox figures per currency, each under its name, with a legend', () => {
    const text = totalsTable(currencyTotals(docOf(PLATYPUS)), plain);
    const usd = cells(text).get('USD')!;
    expect(Object.fromEntries(usd)).toEqual({
      'Cash available': '$43,500.00',
      Assets: '$68,472.7405',
      Liabilities: '$121,974.06',
      Net: '-$53,501.3195',
      'Credit limit': '$2,000.00',
      'Available credit': '$1,590.00',
      Accounts: '9',
    });
    expect(text).toContain('Cash available: the available balance of depository accounts.');
    expect(text).toContain('Assets: the current balance of depository and investment accounts.');
    expect(text).toContain('Liabilities: the current balance of credit and loan accounts. Net: assets − liabilities.');
    expect(text).toContain("Available credit: Plaid's available for credit accounts, else limit − current.");
    // The CD has no available; the card's available credit was worked out.
    expect(text).toContain('USD: no figure from Plaid, so left out (not counted as 0): cash available 1 account.');
    expect(text).toContain('USD: available credit of 1 account is limit − current (Plaid sent no available).');
    expect(text).not.toContain('Other');
    expect(text).not.toMatch(/190,446/);
  });

  it('"—" where a currency has no account of a kind, and other accounts in their own row, named in a note', () => {
    const text = totalsTable(
      currencyTotals(
        docOf([
          account('mortgage', 'loan', { available: null, current: 1000, iso: 'CAD' }),
          account('card', 'credit', { available: null, current: null, limit: null, iso: 'CAD' }),
          account('prepaid', 'other', { available: 3, current: 3, iso: 'USD' }),
          account('mystery', 'payroll', { available: 1, current: null, iso: 'USD' }),
        ]),
      ),
      plain,
    );
    const table = cells(text);
    expect(Object.fromEntries(table.get('CAD')!)).toEqual({
      'Cash available': '—',
      Assets: '—',
      Liabilities: 'CA$1,000.00',
      Net: '-CA$1,000.00',
      'Credit limit': '—',
      'Available credit': '—',
      'Other (not in net)': '—',
      Accounts: '2',
    });
    expect(Object.fromEntries(table.get('USD')!)).toMatchObject({ Assets: '—', Liabilities: '—', Net: '—', 'Other (not in net)': '$3.00', Accounts: '2' });
    // The card's current, limit and available credit are all unknown: each figure says so.
    expect(text).toContain('CAD: no figure from Plaid, so left out (not counted as 0): liabilities 1 account, credit limit 1 account, available credit 1 account.');
    expect(text).toContain('USD: no figure from Plaid, so left out (not counted as 0): other 1 account.');
    expect(text).toContain('Other: the current balance of accounts neither asset nor liability (type other, or unknown), kept out of net: USD 2 accounts.');
    expect(text).not.toMatch(/\$0\.00|CA\$0\.00/);
  });

  it('unofficial currencies get their own column, shown as the number and the code', () => {
    const text = totalsTable(currencyTotals(docOf([...PLATYPUS, account('wallet', 'investment', { available: null, current: 1.5, iso: null, unofficial: 'BTC' })])), plain);
    const table = cells(text);
    expect([...table.keys()]).toEqual(['BTC', 'USD']);
    expect(table.get('BTC')!.get('Assets')).toBe('1.5 BTC');
    expect(table.get('USD')!.get('Assets')).toBe('$68,472.7405');
  });

  it(`puts at most ${CURRENCIES_PER_TABLE} currencies side by side, then starts another table`, () => {
    const codes = ['AUD', 'CAD', 'CHF', 'EUR', 'GBP', 'JPY'];
    const text = totalsTable(currencyTotals(docOf(codes.map((iso) => account(`${iso} checking`, 'depository', { available: 1, current: 2, iso })))), plain);
    const heads = text.split('\n').filter((l) => l.startsWith('│ Totals'));
    expect(heads).toHaveLength(2);
    expect(heads[0]).toMatch(/AUD.*CAD.*CHF.*EUR/);
    expect(heads[1]).toMatch(/GBP.*JPY/);
    expect([...cells(text).keys()]).toEqual(codes);
    expect(cells(text).get('JPY')!.get('Assets')).toBe('¥2');
  });

  it('colour only when the chalk has it; the same text either way', () => {
    const totals = currencyTotals(docOf(PLATYPUS, [account('prepaid', 'other', { available: null, current: null })]));
    const bare = totalsTable(totals, plain);
    const bright = totalsTable(totals, coloured);
    expect(bare).not.toMatch(ANSI);
    expect(bright).toMatch(ANSI);
    expect(stripAnsi(bright)).toBe(bare);
  });

  it('nothing to total, nothing shown', () => {
    expect(totalsTable([], plain)).toBe('');
  });
});

describe('what the totals leave out, said under them', () => {
  it('accounts with no currency code are added to no currency, and counted in a note', () => {
    const doc = docOf([
      account('a', 'depository', { available: 100, current: 100, iso: null }),
      account('b', 'depository', { available: 200, current: 200, iso: null, unofficial: '  ' }),
      account('c', 'depository', { available: 5, current: 5 }),
    ]);
    const totals = currencyTotals(doc);
    expect(totals.map((t) => [t.currency, t.cashAvailable.total, t.accounts])).toEqual([['USD', '5', 1]]);
    const text = totalsTable(totals, plain, leftOutOfTotals(doc));
    expect(text).toContain('Not in the totals: 2 accounts with no currency code from Plaid, which cannot be added to any currency.');
    expect(text).not.toContain('300');
  });

  it('with only such accounts there are no totals, only the note', () => {
    const doc = docOf([account('a', 'depository', { available: 100, current: 100, iso: null })]);
    expect(currencyTotals(doc)).toEqual([]);
    expect(totalsTable(currencyTotals(doc), plain, leftOutOfTotals(doc))).toBe('Not in the totals: 1 account with no currency code from Plaid, which cannot be added to any currency.');
  });

  it('failed items are named: the totals are not the whole store', () => {
    const doc = docOf(PLATYPUS, [], []);
    doc.items[1]!.error = { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'm', display_message: null, request_id: 'r' };
    doc.items[2]!.error = { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', error_message: 'm', display_message: null, request_id: 'r' };
    expect(leftOutOfTotals(doc)).toEqual(['Not in the totals: the 2 items that failed (item-1, item-2); their accounts are unknown.']);
    expect(totalsTable(currencyTotals(doc), plain, leftOutOfTotals(doc))).toContain('Not in the totals: the 2 items that failed (item-1, item-2)');
    expect(leftOutOfTotals(docOf(PLATYPUS))).toEqual([]);
  });
});
