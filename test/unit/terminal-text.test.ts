/**
 * Text from Plaid and the bank (account names, institutions, error messages) is shown in tables
 * and summaries with its control characters escaped: an escape sequence or a bell in an account
 * name must not reach a support engineer's terminal as one (text.ts, escapeControlsDeep).
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { parseAmount } from '../../src/amount.js';
import { checkText } from '../../src/commands/check/format.js';
import { decideFunds } from '../../src/commands/check/funds.js';
import { balanceTable } from '../../src/format/balance.js';
import { escapeControlsDeep } from '../../src/text.js';
import type { AccountJson, BalanceDocument } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const HOSTILE = 'Card\u001b[31mRED\u001b[0m\u0007';

const account: AccountJson = {
  account_id: 'acc_1',
  name: HOSTILE,
  official_name: null,
  mask: '3333',
  type: 'depository',
  subtype: 'checking',
  balances: { available: 100, current: 110, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, last_updated_datetime: null },
};

describe('text from Plaid on a terminal', () => {
  it('escapeControlsDeep escapes every string, deeply, and leaves the rest alone', () => {
    const value = { a: 'x\u0007', b: [1, null, 'y\u009b'], c: { d: 'tab\tand\nnewline stay' }, e: true };
    expect(escapeControlsDeep(value)).toEqual({ a: 'x\\u0007', b: [1, null, 'y\\u009b'], c: { d: 'tab\tand\nnewline stay' }, e: true });
    expect(value.a).toBe('x\u0007');
  });

  it('the balance table shows an escape sequence in an account name, institution or error as text', () => {
    const doc: BalanceDocument = {
      environment: 'sandbox',
      fetched_at: '2026-12-04T00:00:00.000Z',
      items: [
        { item_id: 'item_1', name: 'demo', institution_id: 'ins_1', institution_name: 'Bank\u001b]0;title\u0007', balance_source: 'realtime', request_id: 'r', error: null, accounts: [account] },
        {
          item_id: 'item_2',
          name: 'broken',
          institution_id: 'ins_1',
          institution_name: null,
          balance_source: 'realtime',
          request_id: 'r',
          accounts: [],
          error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'login\u001b[2J', display_message: 'again\u0007', request_id: 'r' },
        },
      ],
    };
    const text = balanceTable(doc, plain);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('Card\\u001b[31mRED\\u001b[0m\\u0007 ••3333');
    expect(text).toContain('Bank\\u001b]0;title\\u0007');
    expect(text).toContain('login\\u001b[2J');
  });

  it('check shows the account name escaped', () => {
    const amount = parseAmount('50');
    const text = checkText({ item_id: 'item_1', name: 'demo', request_id: 'r', checked_at: '2026-12-04T00:00:00.000Z', account, amount, decision: decideFunds(account, amount, { allowCredit: false }), age: null }, plain);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('Card\\u001b[31mRED\\u001b[0m\\u0007 ••3333');
  });
});
