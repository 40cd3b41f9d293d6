import { Chalk } from 'chalk';
import type { AccountBase } from 'plaid';
import { describe, expect, it } from 'vitest';
import { balanceJson, balanceTable, toAccountJson } from '../../src/format/balance.js';
import { NO_ITEMS_MESSAGE } from '../../src/format/items.js';
import type { AccountJson, BalanceDocument, ItemBalanceJson, PlaidErrorJson } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const ANSI = /\u001b\[/;
const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

/** Plaid's Sandbox accounts for user_good (PLAID-NOTES.md), in Plaid's own shape. */
function sandboxAccount(
  suffix: string,
  name: string,
  officialName: string | null,
  mask: string,
  type: string,
  subtype: string,
  available: number | null,
  current: number | null,
  limit: number | null,
): AccountBase {
  return {
    account_id: `BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99v${suffix}`,
    balances: { available, current, limit, iso_currency_code: 'USD', unofficial_currency_code: null },
    mask,
    name,
    official_name: officialName,
    type,
    subtype,
  } as AccountBase;
}

const SANDBOX_ACCOUNTS: AccountBase[] = [
  sandboxAccount('0', 'Plaid Checking', 'Plaid Gold Standard 0% Interest Checking', '0000', 'depository', 'checking', 100, 110, null),
  sandboxAccount('1', 'Plaid Saving', 'Plaid Silver Standard 0.1% Interest Saving', '1111', 'depository', 'savings', 200, 210, null),
  sandboxAccount('2', 'Plaid CD', 'Plaid Bronze Standard 0.2% Interest CD', '2222', 'depository', 'cd', null, 1000, null),
  sandboxAccount('3', 'Plaid Credit Card', 'Plaid Diamond 12.5% APR Interest Credit Card', '3333', 'credit', 'credit card', null, 410, 2000),
  sandboxAccount('4', 'Plaid Money Market', 'Plaid Platinum Standard 1.85% Interest Money Market', '4444', 'depository', 'money market', 43200, 43200, null),
  sandboxAccount('5', 'Plaid IRA', null, '5555', 'investment', 'ira', null, 320.76, null),
  sandboxAccount('6', 'Plaid 401k', null, '6666', 'investment', '401k', null, 23631.9805, null),
  sandboxAccount('7', 'Plaid Student Loan', null, '7777', 'loan', 'student', null, 65262, null),
  sandboxAccount('8', 'Plaid Mortgage', null, '8888', 'loan', 'mortgage', null, 56302.06, null),
];

const ITEM_ID = 'eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6';

function sandboxItem(overrides: Partial<ItemBalanceJson> = {}): ItemBalanceJson {
  return {
    item_id: ITEM_ID,
    name: 'platypus',
    institution_id: 'ins_109508',
    institution_name: 'First Platypus Bank',
    request_id: 'm8MDnv9okwxFNBV',
    balance_source: 'realtime',
    accounts: SANDBOX_ACCOUNTS.map(toAccountJson),
    error: null,
    ...overrides,
  };
}

function sandboxDoc(items: ItemBalanceJson[] = [sandboxItem()]): BalanceDocument {
  return { environment: 'sandbox', fetched_at: '2024-05-04T12:00:00.000Z', items };
}

const LOGIN_REQUIRED: PlaidErrorJson = {
  error_type: 'ITEM_ERROR',
  error_code: 'ITEM_LOGIN_REQUIRED',
  error_message: 'the login details of this item have changed',
  display_message: 'The login details for this account have changed.',
  request_id: 'HNTDNrA8F1shFEW',
};

function account(
  overrides: Partial<Omit<AccountJson, 'balances'>> & { balances?: Partial<AccountJson['balances']> } = {},
): AccountJson {
  const { balances, ...rest } = overrides;
  return {
    account_id: 'acc',
    name: 'Wallet',
    official_name: null,
    mask: null,
    type: 'other',
    subtype: null,
    ...rest,
    balances: {
      available: null,
      current: 1,
      limit: null,
      iso_currency_code: 'USD',
      unofficial_currency_code: null,
      last_updated_datetime: null,
      ...balances,
    },
  };
}

const SANDBOX_TABLE = `platypus · First Platypus Bank · sandbox · ${ITEM_ID}
┌───────────────────────────┬───────────────────────────┬────────────┬──────────────┬───────────┬──────────┐
│ Account                   │ Type                      │  Available │      Current │     Limit │ Currency │
├───────────────────────────┼───────────────────────────┼────────────┼──────────────┼───────────┼──────────┤
│ Plaid Checking ••0000     │ depository / checking     │    $100.00 │      $110.00 │         — │ USD      │
│ Plaid Saving ••1111       │ depository / savings      │    $200.00 │      $210.00 │         — │ USD      │
│ Plaid CD ••2222           │ depository / cd           │          — │    $1,000.00 │         — │ USD      │
│ Plaid Credit Card ••3333  │ credit / credit card      │          — │      $410.00 │ $2,000.00 │ USD      │
│ Plaid Money Market ••4444 │ depository / money market │ $43,200.00 │   $43,200.00 │         — │ USD      │
│ Plaid IRA ••5555          │ investment / ira          │          — │      $320.76 │         — │ USD      │
│ Plaid 401k ••6666         │ investment / 401k         │          — │ $23,631.9805 │         — │ USD      │
│ Plaid Student Loan ••7777 │ loan / student            │          — │   $65,262.00 │         — │ USD      │
│ Plaid Mortgage ••8888     │ loan / mortgage           │          — │   $56,302.06 │         — │ USD      │
└───────────────────────────┴───────────────────────────┴────────────┴──────────────┴───────────┴──────────┘
`;

describe('balanceTable', () => {
  it('renders the Sandbox default accounts', () => {
    expect(balanceTable(sandboxDoc(), plain)).toBe(SANDBOX_TABLE);
  });

  it('has no ANSI codes at colour level 0', () => {
    const doc = sandboxDoc([sandboxItem(), sandboxItem({ name: 'broken', accounts: [], error: LOGIN_REQUIRED })]);
    expect(balanceTable(doc, plain)).not.toMatch(ANSI);
  });

  it('colours heads, alias, item id and errors at level 1 and up, and only adds colour', () => {
    const doc = sandboxDoc([sandboxItem(), sandboxItem({ name: 'broken', accounts: [], error: LOGIN_REQUIRED })]);
    for (const level of [1, 2, 3] as const) {
      const text = balanceTable(doc, new Chalk({ level }));
      expect(text).toMatch(ANSI);
      expect(stripAnsi(text)).toBe(balanceTable(doc, plain));
    }
    const text = balanceTable(doc, coloured);
    expect(text).toContain(coloured.bold('platypus'));
    expect(text).toContain(coloured.bold('Available'));
    expect(text).toContain(coloured.dim(ITEM_ID));
    expect(text).toContain(coloured.red('ITEM_LOGIN_REQUIRED: the login details of this item have changed'));
  });

  it('shows an error instead of the table for a failed item', () => {
    const doc = sandboxDoc([sandboxItem({ name: 'broken', accounts: [], error: LOGIN_REQUIRED })]);
    expect(balanceTable(doc, plain)).toBe(
      `broken · First Platypus Bank · sandbox · ${ITEM_ID}\n` +
        'ITEM_LOGIN_REQUIRED: the login details of this item have changed\n' +
        'The login details for this account have changed.\n' +
        'request_id: HNTDNrA8F1shFEW\n',
    );
  });

  it('skips a display message that repeats the error message, and falls back to the item request_id', () => {
    const error: PlaidErrorJson = {
      error_type: 'INSTITUTION_ERROR',
      error_code: 'INSTITUTION_DOWN',
      error_message: 'this institution is not currently responding to this request. please try again soon',
      display_message: 'this institution is not currently responding to this request. please try again soon',
      request_id: null,
    };
    const doc = sandboxDoc([sandboxItem({ accounts: [], error, request_id: 'Wq8pPzF3kXcT1aB' })]);
    expect(balanceTable(doc, plain)).toBe(
      `platypus · First Platypus Bank · sandbox · ${ITEM_ID}\n` +
        'INSTITUTION_DOWN: this institution is not currently responding to this request. please try again soon\n' +
        'request_id: Wq8pPzF3kXcT1aB\n',
    );
  });

  it('shows the bare code when Plaid sends an empty message', () => {
    const error: PlaidErrorJson = {
      error_type: 'ITEM_ERROR',
      error_code: 'PRODUCTS_NOT_SUPPORTED',
      error_message: '',
      display_message: null,
      request_id: 'AbCdEfGhIjKlMnO',
    };
    const text = balanceTable(sandboxDoc([sandboxItem({ error })]), plain);
    expect(text).toContain('\nPRODUCTS_NOT_SUPPORTED\nrequest_id: AbCdEfGhIjKlMnO\n');
    expect(text).not.toContain('┌');
  });

  it('says so when an item has no accounts', () => {
    expect(balanceTable(sandboxDoc([sandboxItem({ accounts: [] })]), plain)).toBe(
      `platypus · First Platypus Bank · sandbox · ${ITEM_ID}\nNo accounts.\n`,
    );
  });

  it('says so when there are no items', () => {
    expect(balanceTable(sandboxDoc([]), plain)).toBe(`${NO_ITEMS_MESSAGE}\n`);
  });

  it('separates items with a blank line and marks cached balances', () => {
    const doc = sandboxDoc([
      sandboxItem({ accounts: [] }),
      sandboxItem({ name: 'tartan', institution_name: null, institution_id: 'ins_109511', balance_source: 'cached', accounts: [] }),
    ]);
    expect(balanceTable(doc, plain)).toBe(
      `platypus · First Platypus Bank · sandbox · ${ITEM_ID}\nNo accounts.\n\n` +
        `tartan · ins_109511 · sandbox · ${ITEM_ID} · cached balances\nNo accounts.\n`,
    );
  });

  it('handles missing mask and subtype, crypto, yen, negatives and huge values', () => {
    const accounts = [
      account({ name: 'Wallet', type: 'other', balances: { current: 0.12345678, iso_currency_code: null, unofficial_currency_code: 'BTC' } }),
      account({ name: 'Tokyo', mask: '9999', type: 'depository', subtype: 'checking', balances: { available: 0.5, current: 1000, iso_currency_code: 'JPY' } }),
      account({ name: 'Card', type: 'credit', subtype: 'credit card', balances: { available: -12.5, current: -0, limit: 1.5e21 } }),
      account({ name: 'Dust', balances: { current: 1e-7, iso_currency_code: null } }),
    ];
    const lines = balanceTable(sandboxDoc([sandboxItem({ accounts })]), plain).split('\n');
    expect(lines.slice(4, 8)).toEqual([
      '│ Wallet       │ other                 │         — │ 0.12345678 BTC │                                 — │ BTC      │',
      '│ Tokyo ••9999 │ depository / checking │      ¥0.5 │         ¥1,000 │                                 — │ JPY      │',
      '│ Card         │ credit / credit card  │   -$12.50 │          $0.00 │ $1,500,000,000,000,000,000,000.00 │ USD      │',
      '│ Dust         │ other                 │         — │      0.0000001 │                                 — │ —        │',
    ]);
  });

  it('wraps Account and Type to fit a narrow terminal, never the amounts', () => {
    const text = balanceTable(sandboxDoc(), plain, { width: 80 });
    const tableLines = text.trimEnd().split('\n').slice(1);
    for (const line of tableLines) expect(line.length).toBeLessThanOrEqual(80);
    for (const amount of ['$23,631.9805', '$43,200.00', '$56,302.06', '$2,000.00']) expect(text).toContain(amount);
    // Words wrap whole: nothing is cut off with an ellipsis.
    expect(text).not.toContain('…');
    expect(tableLines[0]).toHaveLength(80);
    expect(text).toContain(
      '│ Plaid       │ depository  │    $100.00 │      $110.00 │         — │ USD      │\n' +
        '│ Checking    │ / checking  │            │              │           │          │\n' +
        '│ ••0000      │             │            │              │           │          │\n',
    );
  });

  it('leaves the table alone when it fits', () => {
    expect(balanceTable(sandboxDoc(), plain, { width: 200 })).toBe(SANDBOX_TABLE);
    expect(balanceTable(sandboxDoc(), plain, { width: 108 })).toBe(SANDBOX_TABLE);
  });

  it('stays wider than the terminal rather than cut a word or an amount', () => {
    const text = balanceTable(sandboxDoc(), plain, { width: 20 });
    expect(text).not.toContain('…');
    expect(text).toContain('$23,631.9805');
    expect(text).toContain('│ depository │');
  });
});

/** Rebuilds every object with its keys in reverse order, as a differently written producer might. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, inner]) => [key, reverseKeys(inner)]),
    ) as T;
  }
  return value;
}

describe('balanceJson', () => {
  const doc = sandboxDoc([sandboxItem(), sandboxItem({ name: 'broken', accounts: [], error: LOGIN_REQUIRED })]);

  it('is JSON.stringify with two spaces and a newline', () => {
    expect(balanceJson(doc)).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it('keeps the documented key order whatever the input order', () => {
    const shuffled = reverseKeys(doc);
    expect(Object.keys(shuffled)).toEqual(['items', 'fetched_at', 'environment']);
    const text = balanceJson(shuffled);
    expect(text).toBe(balanceJson(doc));

    const parsed = JSON.parse(text) as BalanceDocument;
    expect(Object.keys(parsed)).toEqual(['environment', 'fetched_at', 'items']);
    const [good, broken] = parsed.items;
    expect(Object.keys(good ?? {})).toEqual([
      'item_id', 'name', 'institution_id', 'institution_name', 'request_id', 'balance_source', 'accounts', 'error',
    ]);
    expect(Object.keys(good?.accounts[0] ?? {})).toEqual([
      'account_id', 'name', 'official_name', 'mask', 'type', 'subtype', 'balances',
    ]);
    expect(Object.keys(good?.accounts[0]?.balances ?? {})).toEqual([
      'available', 'current', 'limit', 'iso_currency_code', 'unofficial_currency_code', 'last_updated_datetime',
    ]);
    expect(Object.keys(broken?.error ?? {})).toEqual([
      'error_type', 'error_code', 'error_message', 'display_message', 'request_id',
    ]);
  });

  it('writes null for missing optional values instead of leaving them out', () => {
    const sparse = {
      environment: 'production',
      fetched_at: '2024-05-04T12:00:00.000Z',
      items: [
        {
          item_id: 'item',
          name: 'bank',
          balance_source: 'realtime',
          accounts: [{ account_id: 'a', name: 'Checking', type: 'depository', balances: { current: 5 } }],
          error: { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'an unexpected error occurred' },
        },
      ],
    } as unknown as BalanceDocument;
    expect(JSON.parse(balanceJson(sparse))).toEqual({
      environment: 'production',
      fetched_at: '2024-05-04T12:00:00.000Z',
      items: [
        {
          item_id: 'item',
          name: 'bank',
          institution_id: null,
          institution_name: null,
          request_id: null,
          balance_source: 'realtime',
          accounts: [
            {
              account_id: 'a',
              name: 'Checking',
              official_name: null,
              mask: null,
              type: 'depository',
              subtype: null,
              balances: {
                available: null,
                current: 5,
                limit: null,
                iso_currency_code: null,
                unofficial_currency_code: null,
                last_updated_datetime: null,
              },
            },
          ],
          error: {
            error_type: 'API_ERROR',
            error_code: 'INTERNAL_SERVER_ERROR',
            error_message: 'an unexpected error occurred',
            display_message: null,
            request_id: null,
          },
        },
      ],
    });
    expect(balanceJson(sparse)).toContain('"institution_id": null');
  });

  it('writes amounts exactly as the doubles Plaid sent', () => {
    const accounts = [account({ balances: { available: 23631.9805, current: 1e-7, limit: 1.5e21 } })];
    const text = balanceJson(sandboxDoc([sandboxItem({ accounts })]));
    expect(text).toContain('"available": 23631.9805,');
    expect(text).toContain('"current": 1e-7,');
    expect(text).toContain('"limit": 1.5e+21,');
  });
});

describe('toAccountJson', () => {
  it('copies the printed fields in order and drops the rest', () => {
    const fromPlaid = {
      holder_category: 'personal',
      verification_status: 'automatically_verified',
      persistent_account_id: 'persist',
      apy: 4.25,
      type: 'depository',
      subtype: 'checking',
      official_name: 'Plaid Gold Standard 0% Interest Checking',
      name: 'Plaid Checking',
      mask: '0000',
      balances: {
        last_updated_datetime: '2024-05-04T11:59:00Z',
        unofficial_currency_code: null,
        iso_currency_code: 'USD',
        limit: null,
        current: 110,
        available: 100,
      },
      account_id: 'BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99v0',
    } as AccountBase;
    const json = toAccountJson(fromPlaid);
    expect(JSON.stringify(json)).toBe(
      '{"account_id":"BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99v0","name":"Plaid Checking",' +
        '"official_name":"Plaid Gold Standard 0% Interest Checking","mask":"0000","type":"depository",' +
        '"subtype":"checking","balances":{"available":100,"current":110,"limit":null,' +
        '"iso_currency_code":"USD","unofficial_currency_code":null,"last_updated_datetime":"2024-05-04T11:59:00Z"}}',
    );
  });

  it('fills missing nullable fields with null', () => {
    const partial = {
      account_id: 'a',
      name: 'Plaid CD',
      type: 'depository',
      balances: { available: null, current: 1000 },
    } as unknown as AccountBase;
    expect(toAccountJson(partial)).toEqual({
      account_id: 'a',
      name: 'Plaid CD',
      official_name: null,
      mask: null,
      type: 'depository',
      subtype: null,
      balances: {
        available: null,
        current: 1000,
        limit: null,
        iso_currency_code: null,
        unofficial_currency_code: null,
        last_updated_datetime: null,
      },
    });
  });
});
