/**
 * Accounts and balances: the user_good fixtures, cached versus real-time balances, account
 * selection, Capital One's min_last_updated_datetime, unhealthy institutions, rate limits and
 * the test helpers that shape accounts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callPlaid, createSandboxItem, startEmulator, type Emulator, type WireAccount } from '../emulator/index.js';

const START = Date.parse('2025-03-01T12:00:00Z');
const MINUTE = 60_000;

let now: number;
let plaid: Emulator;
beforeEach(async () => {
  now = START;
  plaid = await startEmulator({ clock: () => now });
});
afterEach(async () => plaid.close());

const post = (path: string, body: unknown) => callPlaid(plaid.url, path, body);
type Account = WireAccount;

describe('user_good', () => {
  it('has the nine Sandbox accounts, all USD, with Plaid names, masks, types and balances', async () => {
    const { access_token } = await createSandboxItem(plaid);
    const res = await post('/accounts/get', { access_token });
    expect(res.status).toBe(200);
    const rows = res.body.accounts.map((a: Account) => [a.name, a.official_name, a.mask, a.type, a.subtype, a.balances.available, a.balances.current, a.balances.limit]);
    expect(rows).toEqual([
      ['Plaid Checking', 'Plaid Gold Standard 0% Interest Checking', '0000', 'depository', 'checking', 100, 110, null],
      ['Plaid Saving', 'Plaid Silver Standard 0.1% Interest Saving', '1111', 'depository', 'savings', 200, 210, null],
      ['Plaid CD', 'Plaid Bronze Standard 0.2% Interest CD', '2222', 'depository', 'cd', null, 1000, null],
      ['Plaid Credit Card', 'Plaid Diamond 12.5% APR Interest Credit Card', '3333', 'credit', 'credit card', null, 410, 2000],
      ['Plaid Money Market', 'Plaid Platinum Standard 1.85% Interest Money Market', '4444', 'depository', 'money market', 43200, 43200, null],
      ['Plaid IRA', null, '5555', 'investment', 'ira', null, 320.76, null],
      ['Plaid 401k', null, '6666', 'investment', '401k', null, 23631.9805, null],
      ['Plaid Student Loan', null, '7777', 'loan', 'student', null, 65262, null],
      ['Plaid Mortgage', null, '8888', 'loan', 'mortgage', null, 56302.06, null],
    ]);
    for (const account of res.body.accounts as Account[]) {
      expect(account.balances).toMatchObject({ iso_currency_code: 'USD', unofficial_currency_code: null });
      // Sent for Capital One only.
      expect(account.balances).not.toHaveProperty('last_updated_datetime');
    }
    expect(res.body.item).toMatchObject({ institution_id: 'ins_109508', error: null });
  });

  it('gives every item its own account ids', async () => {
    const a = await createSandboxItem(plaid);
    const b = await createSandboxItem(plaid);
    const ids = async (access_token: string) => (await post('/accounts/get', { access_token })).body.accounts.map((x: Account) => x.account_id);
    const [idsA, idsB] = [await ids(a.access_token), await ids(b.access_token)];
    expect(idsA.filter((id: string) => idsB.includes(id))).toEqual([]);
  });
});

describe('cached and real-time balances', () => {
  it('/accounts/get keeps the cached balance until /accounts/balance/get refreshes it', async () => {
    const { access_token, item_id } = await createSandboxItem(plaid);
    const checking = plaid.items()[0]!.accounts[0]!.account_id;
    plaid.setBalances(item_id, checking, { available: 55.5, current: 60 });
    const current = async (path: string) => (await post(path, { access_token })).body.accounts[0].balances;
    expect(await current('/accounts/get')).toMatchObject({ available: 100, current: 110 });
    expect(await current('/accounts/balance/get')).toMatchObject({ available: 55.5, current: 60 });
    expect(await current('/accounts/get')).toMatchObject({ available: 55.5, current: 60 });
  });

  it('options.account_ids selects accounts, in the item order; an unknown id is INVALID_ACCOUNT_ID', async () => {
    const { access_token } = await createSandboxItem(plaid);
    const ids = plaid.items()[0]!.accounts.map((a) => a.account_id);
    for (const path of ['/accounts/get', '/accounts/balance/get']) {
      const some = await post(path, { access_token, options: { account_ids: [ids[3], ids[0]] } });
      expect(some.body.accounts.map((a: Account) => a.account_id)).toEqual([ids[0], ids[3]]);
      const all = await post(path, { access_token, options: { account_ids: [] } });
      expect(all.body.accounts).toHaveLength(9);
      const unknown = await post(path, { access_token, options: { account_ids: [ids[0], 'x'.repeat(37)] } });
      expect([unknown.status, unknown.body.error_type, unknown.body.error_code]).toEqual([400, 'INVALID_INPUT', 'INVALID_ACCOUNT_ID']);
    }
  });
});

describe('Capital One (ins_128026)', () => {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  it('requires min_last_updated_datetime when non-depository accounts are asked for', async () => {
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_128026' });
    const res = await post('/accounts/balance/get', { access_token });
    expect(res.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'INVALID_FIELD', error_message: 'min_last_updated_datetime parameter required for balance on ins_128026' });
    const depositoryOnly = plaid.items()[0]!.accounts.filter((a) => a.type === 'depository').map((a) => a.account_id);
    expect((await post('/accounts/balance/get', { access_token, options: { account_ids: depositoryOnly } })).status).toBe(200);
  });

  it('refreshes depository balances and serves cached ones with their last_updated_datetime', async () => {
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_128026' });
    now += 10 * MINUTE;
    const res = await post('/accounts/balance/get', { access_token, options: { min_last_updated_datetime: iso(START - MINUTE) } });
    expect(res.status).toBe(200);
    const updated = Object.fromEntries(res.body.accounts.map((a: Account) => [a.name, a.balances.last_updated_datetime]));
    expect(updated['Plaid Checking']).toBe(iso(now));
    expect(updated['Plaid Credit Card']).toBe(iso(START));
    // /accounts/get shows when each balance was last updated too.
    const cached = await post('/accounts/get', { access_token });
    expect(cached.body.accounts[0].balances.last_updated_datetime).toBe(iso(now));
  });

  it('answers a min_last_updated_datetime newer than any cached balance with LAST_UPDATED_DATETIME_OUT_OF_RANGE', async () => {
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_128026' });
    const res = await post('/accounts/balance/get', { access_token, options: { min_last_updated_datetime: iso(START + 60 * MINUTE) } });
    expect([res.status, res.body.error_type, res.body.error_code]).toEqual([400, 'INVALID_RESULT', 'LAST_UPDATED_DATETIME_OUT_OF_RANGE']);
    expect(res.body.error_message).toContain(iso(START));
    const garbage = await post('/accounts/balance/get', { access_token, options: { min_last_updated_datetime: 'yesterday' } });
    expect(garbage.body.error_code).toBe('INVALID_FIELD');
  });

  it('ignores min_last_updated_datetime elsewhere', async () => {
    const { access_token } = await createSandboxItem(plaid);
    expect((await post('/accounts/balance/get', { access_token, options: { min_last_updated_datetime: iso(START + 60 * MINUTE) } })).status).toBe(200);
  });
});

describe('unhealthy institutions', () => {
  it('Unhealthy Platypus Bank – Down answers real-time balance with INSTITUTION_DOWN, cached accounts still work', async () => {
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_132361' });
    const res = await post('/accounts/balance/get', { access_token });
    expect([res.status, res.body.error_type, res.body.error_code]).toEqual([400, 'INSTITUTION_ERROR', 'INSTITUTION_DOWN']);
    expect(res.body.error_message).toBe('this institution is not currently responding to this request. please try again soon');
    expect((await post('/accounts/get', { access_token })).status).toBe(200);
  });

  it('Unhealthy Platypus Bank – Degraded still answers', async () => {
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_132363' });
    expect((await post('/accounts/balance/get', { access_token })).status).toBe(200);
  });
});

describe('rate limits on /accounts/balance/get', () => {
  it('allows 25 calls per item per rolling minute, then BALANCE_LIMIT until the window moves', async () => {
    const { access_token } = await createSandboxItem(plaid);
    for (let i = 0; i < 25; i++) {
      expect((await post('/accounts/balance/get', { access_token })).status).toBe(200);
      now += 1000;
    }
    const limited = await post('/accounts/balance/get', { access_token });
    expect([limited.status, limited.body.error_type, limited.body.error_code]).toEqual([429, 'RATE_LIMIT_EXCEEDED', 'BALANCE_LIMIT']);
    // /accounts/get has its own (unemulated) budget.
    expect((await post('/accounts/get', { access_token })).status).toBe(200);
    now = START + MINUTE; // the first call leaves the window
    expect((await post('/accounts/balance/get', { access_token })).status).toBe(200);
    expect((await post('/accounts/balance/get', { access_token })).status).toBe(429);
  });

  it('allows 100 calls per client per minute across items, then ACCOUNTS_BALANCE_GET_LIMIT', async () => {
    const items = await Promise.all(Array.from({ length: 5 }, () => createSandboxItem(plaid)));
    for (const { access_token } of items) {
      for (let i = 0; i < 20; i++) expect((await post('/accounts/balance/get', { access_token })).status).toBe(200);
    }
    const limited = await post('/accounts/balance/get', { access_token: items[0]!.access_token });
    expect([limited.status, limited.body.error_type, limited.body.error_code]).toEqual([429, 'RATE_LIMIT_EXCEEDED', 'ACCOUNTS_BALANCE_GET_LIMIT']);
  });

  it('takes its limits from the options', async () => {
    // The emulator's clock, moved by hand: a window of real milliseconds could end mid-test on a busy machine.
    let now = Date.now();
    const strict = await startEmulator({ rateLimits: { perItem: 2, windowMs: 200 }, clock: () => now });
    try {
      const { access_token } = await createSandboxItem(strict);
      const status = async () => (await callPlaid(strict.url, '/accounts/balance/get', { access_token })).status;
      expect([await status(), await status(), await status()]).toEqual([200, 200, 429]);
      now += 199;
      expect(await status()).toBe(429);
      now += 1;
      expect(await status()).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('setAccounts', () => {
  it('replaces the accounts both endpoints report: unofficial currencies, nulls and negatives', async () => {
    const { access_token, item_id } = await createSandboxItem(plaid);
    const accounts: WireAccount[] = [
      {
        account_id: 'a'.repeat(37),
        balances: { available: null, current: 0.0123, limit: null, iso_currency_code: null, unofficial_currency_code: 'BTC' },
        mask: null,
        name: 'Bitcoin Wallet',
        official_name: null,
        type: 'other',
        subtype: null,
      },
      {
        account_id: 'B'.repeat(37),
        balances: { available: -20, current: -15.75, limit: 100, iso_currency_code: 'USD', unofficial_currency_code: null },
        mask: '0001',
        name: 'Overdrawn',
        official_name: 'Overdrawn Checking',
        type: 'depository',
        subtype: 'checking',
      },
    ];
    plaid.setAccounts(access_token, accounts);
    for (const path of ['/accounts/get', '/accounts/balance/get']) {
      expect((await post(path, { access_token })).body.accounts).toEqual(accounts);
    }
    expect(plaid.items()[0]).toMatchObject({ item_id, accounts });
  });
});
