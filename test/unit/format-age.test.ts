/**
 * Balances that are not real-time (Capital One's credit cards): how old they are, in the
 * balance table and in check's text, note and JSON.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { parseAmount } from '../../src/amount.js';
import { checkJson, checkText, staleNote, type CheckReport } from '../../src/commands/check/format.js';
import { decideFunds } from '../../src/commands/check/funds.js';
import { ageText, asOfText, staleBalance } from '../../src/format/age.js';
import { balanceTable } from '../../src/format/balance.js';
import type { AccountJson, BalanceDocument } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const FETCHED = '2026-11-23T12:00:00.000Z';
const HOURS_AGO = (h: number) => new Date(Date.parse(FETCHED) - h * 3_600_000).toISOString().replace('.000Z', 'Z');

function account(name: string, type: string, subtype: string, balances: Partial<AccountJson['balances']>): AccountJson {
  return {
    account_id: `${name.replace(/\W/g, '')}`.padEnd(37, 'x'),
    name,
    official_name: null,
    mask: null,
    type,
    subtype,
    balances: { available: null, current: null, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, last_updated_datetime: null, ...balances },
  };
}

const card = account('Card', 'credit', 'credit card', { current: 410, limit: 2000, last_updated_datetime: HOURS_AGO(3) });
const checking = account('Checking', 'depository', 'checking', { available: 100, current: 110, last_updated_datetime: FETCHED });

describe('staleBalance and ageText', () => {
  it('a credit card figure with last_updated_datetime is not real-time, however young', () => {
    expect(staleBalance(card, FETCHED)).toEqual({ at: HOURS_AGO(3), ms: 3 * 3_600_000 });
    const young = account('Card', 'credit', 'credit card', { current: 1, last_updated_datetime: FETCHED });
    expect(staleBalance(young, FETCHED)).toEqual({ at: FETCHED, ms: 0 });
  });

  it('a depository figure Plaid just pulled is real-time; one older than a minute is not', () => {
    expect(staleBalance(checking, FETCHED)).toBeNull();
    const old = account('Checking', 'depository', 'checking', { available: 1, last_updated_datetime: HOURS_AGO(1) });
    expect(staleBalance(old, FETCHED)).toEqual({ at: HOURS_AGO(1), ms: 3_600_000 });
  });

  it('no last_updated_datetime (every other institution) means real-time', () => {
    expect(staleBalance(account('X', 'credit', 'credit card', { current: 1 }), FETCHED)).toBeNull();
  });

  it('rounds down, in minutes, hours or days; a clock ahead of ours is "less than a minute"', () => {
    expect([59_999, 60_000, 59 * 60_000, 3_600_000, 47.9 * 3_600_000, 48 * 3_600_000, 100 * 3_600_000, -5_000].map(ageText)).toEqual([
      'less than a minute', '1 min', '59 min', '1 h', '47 h', '2 d', '4 d', 'less than a minute',
    ]);
    expect(asOfText({ at: FETCHED, ms: 3 * 3_600_000 })).toBe('as of 3 h ago');
    expect(asOfText({ at: FETCHED, ms: 10 })).toBe('as of less than a minute ago');
  });
});

describe('balance table', () => {
  const doc = (accounts: AccountJson[]): BalanceDocument => ({
    environment: 'sandbox',
    fetched_at: FETCHED,
    items: [{ item_id: 'i'.repeat(37), name: 'capone', institution_id: 'ins_128026', institution_name: 'Capital One', request_id: 'r'.repeat(15), balance_source: 'realtime', accounts, error: null }],
  });

  it('adds an Updated column with "as of 3 h ago" beside the figures that are not real-time', () => {
    const text = balanceTable(doc([checking, card]), plain);
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/│ Currency │ Updated\s+│$/);
    expect(lines.find((l) => l.startsWith('│ Card'))).toMatch(/\$410\.00 │ \$2,000\.00 │ USD +│ as of 3 h ago │$/);
    expect(lines.find((l) => l.startsWith('│ Checking'))).toMatch(/│ USD +│ +│$/);
  });

  it('has no Updated column when every figure is real-time', () => {
    expect(balanceTable(doc([checking]), plain)).not.toContain('Updated');
  });

  it('keeps the column when the table wraps to fit the terminal', () => {
    const wide = account('A very long account name that has to wrap somewhere', 'credit', 'credit card', { current: 1, last_updated_datetime: HOURS_AGO(50) });
    const text = balanceTable(doc([wide]), plain, { width: 80 });
    expect(text).toContain('as of 2 d ago');
    expect(text).toContain('Updated');
  });
});

describe('check, for a figure that is not real-time', () => {
  const report = (acc: AccountJson, age: CheckReport['age']): CheckReport => ({
    item_id: 'i'.repeat(37),
    name: 'capone',
    request_id: 'r'.repeat(15),
    checked_at: FETCHED,
    account: acc,
    amount: parseAmount('100'),
    decision: decideFunds(acc, parseAmount('100'), { allowCredit: true }),
    age,
  });

  it('says so in the text, in a stderr note and in the JSON', () => {
    const stale = report(card, staleBalance(card, FETCHED));
    expect(checkText(stale, plain)).toContain(`As of:            ${HOURS_AGO(3)}, 3 h ago: not a real-time balance`);
    expect(staleNote(stale)).toContain(`is not real-time: Plaid last updated it at ${HOURS_AGO(3)} (as of 3 h ago)`);
    expect(JSON.parse(checkJson(stale)).balance_used).toEqual({ field: 'available_credit', source: 'limit_minus_current', value: 1590, realtime: false, last_updated_datetime: HOURS_AGO(3) });
  });

  it('says nothing of the kind for a real-time figure', () => {
    const fresh = report(checking, null);
    expect(checkText(fresh, plain)).not.toContain('As of');
    expect(staleNote(fresh)).toBeNull();
    expect(JSON.parse(checkJson(fresh)).balance_used).toMatchObject({ realtime: true, last_updated_datetime: FETCHED });
  });
});
