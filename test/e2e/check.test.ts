/**
 * `plaidbal check`, plaidbal run in process (test/helpers/in-process.ts) against the Plaid emulator: the verdict and its exit code
 * (0 sufficient, 7 insufficient), the figures it used, refusals, Plaid errors, bad amounts,
 * the JSON document, and the request it sends. check never writes the store, so every run here
 * is also checked to leave the store directory byte-identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { createWorld, PASSPHRASE, printed, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
/** account_id by mask, for both items. */
const ids = new Map<string, string>();
let demoItemId = '';
let customItemId = '';

const customUser = JSON.stringify({
  override_accounts: [
    { type: 'depository', subtype: 'checking', starting_balance: 0.12345678, currency: 'BTC', meta: { name: 'Sats Wallet', mask: '2001' } },
    { type: 'depository', subtype: 'checking', starting_balance: 150000, currency: 'JPY', meta: { name: 'Yen Account', mask: '2002' } },
    { type: 'depository', subtype: 'savings', starting_balance: 10, meta: { name: 'Mystery Savings', mask: '2003' } },
    { type: 'credit', subtype: 'credit card', starting_balance: 410, has_null_available_balance: true, meta: { name: 'Limitless Card', mask: '2004' } },
    { type: 'other', subtype: null, starting_balance: 5, meta: { name: 'Other Thing', mask: '2005' } },
  ],
});

beforeAll(async () => {
  world = await createWorld({}, {}, { inProcess: true });
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
  await world.link('custom', '--sandbox-username', 'user_custom', '--sandbox-password', customUser);
  const [demo, custom] = world.emulator.items();
  demoItemId = demo!.item_id;
  customItemId = custom!.item_id;
  for (const item of [demo!, custom!]) for (const a of item.accounts) ids.set(a.mask!, a.account_id);
  // Plaid nulls both codes for some accounts; the custom user cannot ask for that.
  world.emulator.setBalances(customItemId, ids.get('2003')!, { iso_currency_code: null, unofficial_currency_code: null });
});
afterAll(async () => world.close());

const id = (mask: string) => ids.get(mask)!;
const balanceCalls = () => world.emulator.requests.filter((q) => q.path === '/accounts/balance/get');

function noLeaks(r: CliResult): void {
  const tokens = world.emulator.items().map((i) => i.access_token);
  for (const secret of [TEST_SECRET, PASSPHRASE, ...tokens]) expect(printed(r)).not.toContain(secret);
}

/** Runs `plaidbal check …`, asserting the store directory is byte-identical afterwards and nothing secret was printed. */
async function check(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const before = await world.store.snapshot();
  const r = await world.run(['check', ...args], { extraEnv });
  expect(await world.store.snapshot()).toEqual(before);
  noLeaks(r);
  return r;
}

const demo = (mask: string, amount: string, ...flags: string[]) => check(['--item', 'demo', '--account', id(mask), '--amount', amount, ...flags]);
const custom = (mask: string, amount: string, ...flags: string[]) => check(['--item', 'custom', '--account', id(mask), '--amount', amount, ...flags]);

/** Sets an account's bank-side balances for one test, then puts the old ones back. */
async function withBalances(itemId: string, mask: string, balances: Record<string, number | string | null>, body: () => Promise<void>): Promise<void> {
  const account = world.emulator.items().find((i) => i.item_id === itemId)!.accounts.find((a) => a.mask === mask)!;
  const old = Object.fromEntries(Object.keys(balances).map((k) => [k, (account.balances as unknown as Record<string, number | string | null>)[k] ?? null]));
  world.emulator.setBalances(itemId, account.account_id, balances);
  try {
    await body();
  } finally {
    world.emulator.setBalances(itemId, account.account_id, old);
  }
}

describe('depository accounts', () => {
  it('Plaid Checking (available 100) has 25: exit 0, with the figures used', async () => {
    const r = await demo('0000', '25');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Account:   Plaid Checking ••0000 (depository / checking), item demo',
        'Currency:  USD',
        'Requested: $25.00',
        'Available: $100.00',
        'Sufficient: $100.00 available ≥ $25.00 requested',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
  });

  it('sends one real-time call for just that account (options.account_ids)', async () => {
    const before = world.emulator.requests.length;
    expect((await demo('1111', '1')).code).toBe(0);
    const calls = world.emulator.requests.slice(before);
    expect(calls.map((q) => q.path)).toEqual(['/accounts/balance/get']);
    expect((calls[0]!.body as { options: unknown }).options).toEqual({ account_ids: [id('1111')] });
  });

  it('an amount equal to the available balance is sufficient', async () => {
    const r = await demo('0000', '100');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Sufficient: $100.00 available ≥ $100.00 requested');
  });

  it('100.01 against 100 is insufficient: exit 7 and the shortfall', async () => {
    const r = await demo('0000', '100.01');
    expect(r.code).toBe(7);
    expect(r.stdout).toContain('Insufficient: $100.00 available < $100.01 requested, short by $0.01');
    expect(r.stderr).toBe('');
    const json = await demo('0000', '100.01', '--json');
    expect(json.code).toBe(7);
    expect(JSON.parse(json.stdout)).toMatchObject({ amount: '100.01', sufficient: false, shortfall: '0.01' });
  });

  it('Plaid CD (available null) is refused: its current balance is held until it matures (exit 2)', async () => {
    const r = await demo('2222', '25');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.replace(/\s+/g, ' ')).toContain('"Plaid CD ••2222" is a certificate of deposit (depository / cd) and Plaid reports no available balance for it: its current balance is held until it matures, not funds');
  });

  it('another depository account with no available balance falls back to current, and says so', async () => {
    await withBalances(demoItemId, '1111', { available: null, current: 1000 }, async () => {
      const r = await demo('1111', '25');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Current:   $1,000.00 (no available balance reported: current balance used)');
      expect(r.stdout).toContain('Sufficient: $1,000.00 current ≥ $25.00 requested');
      expect(r.stderr).toContain('Note: Plaid reported no available balance for "Plaid Saving ••1111", so its current balance was used.');
      const json = await demo('1111', '1000.50', '--json');
      expect(json.code).toBe(7);
      expect(json.stderr).toContain('Note:');
      expect(JSON.parse(json.stdout)).toMatchObject({
        balance_used: { field: 'current', source: 'current', value: 1000, realtime: true, last_updated_datetime: null },
        balances: { available: null, current: 1000 },
        shortfall: '0.50',
      });
    });
  });
});

describe('credit and other account types', () => {
  it('Plaid Credit Card without --allow-credit: exit 2, naming the flag', async () => {
    const r = await demo('3333', '25');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"Plaid Credit Card ••3333" is a credit account (credit / credit card)');
    expect(r.stderr).toContain('--allow-credit');
    expect(r.stdout).toBe('');
  });

  it('with --allow-credit: available credit = limit 2000 − current 410', async () => {
    const r = await demo('3333', '1590', '--allow-credit');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Available credit: $1,590.00 (limit $2,000.00 − current $410.00)');
    expect(r.stdout).toContain('Sufficient: $1,590.00 available credit ≥ $1,590.00 requested');
    const json = await demo('3333', '1590.01', '--allow-credit', '--json');
    expect(json.code).toBe(7);
    expect(JSON.parse(json.stdout)).toMatchObject({
      balance_used: { field: 'available_credit', source: 'limit_minus_current', value: 1590, realtime: true, last_updated_datetime: null },
      balances: { available: null, current: 410, limit: 2000 },
      shortfall: '0.01',
    });
  });

  it("with --allow-credit, Plaid's available credit wins when Plaid sends one", async () => {
    await withBalances(demoItemId, '3333', { available: 1500 }, async () => {
      const r = await demo('3333', '1500.5', '--allow-credit');
      expect(r.code).toBe(7);
      expect(r.stdout).toContain("Available credit: $1,500.00 (Plaid's available credit)");
      expect(r.stdout).toContain('short by $0.50');
      const json = await demo('3333', '25', '--allow-credit', '--json');
      expect(JSON.parse(json.stdout).balance_used).toEqual({ field: 'available_credit', source: 'available', value: 1500, realtime: true, last_updated_datetime: null });
    });
  });

  it('a credit account with neither available nor a limit cannot be checked (exit 5)', async () => {
    const r = await custom('2004', '1', '--allow-credit');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('Plaid reported no available credit for "Limitless Card ••2004"');
  });

  it('loan, investment and other accounts are refused, even with --allow-credit', async () => {
    const [loan, ira, other] = await Promise.all([demo('7777', '1', '--allow-credit'), demo('5555', '1', '--allow-credit'), custom('2005', '1', '--allow-credit')]);
    expect(loan.code).toBe(2);
    expect(loan.stderr).toContain('"Plaid Student Loan ••7777" is a loan account (loan / student): its balance is an amount owed');
    expect(loan.stderr).toContain('--allow-credit does not cover other types');
    expect(ira.code).toBe(2);
    expect(ira.stderr).toContain('is an investment account');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('is an account of type "other"');
    for (const r of [loan, ira, other]) expect(r.stdout).toBe('');
  });
});

describe('currencies and exact decimals', () => {
  it('an unofficial currency is compared in its own unit and named', async () => {
    const r = await custom('2001', '0.5');
    expect(r.code).toBe(7);
    expect(r.stdout).toContain('Currency:  BTC (unofficial currency code)');
    expect(r.stdout).toContain('Insufficient: 0.12345678 BTC available < 0.5 BTC requested, short by 0.37654322 BTC');
    const json = JSON.parse((await custom('2001', '0.12345678', '--json')).stdout);
    expect(json).toMatchObject({ currency: { iso_currency_code: null, unofficial_currency_code: 'BTC' }, sufficient: true, shortfall: '0.00000000' });
  });

  it('JPY has no minor units', async () => {
    const r = await custom('2002', '200000', '--json');
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout)).toMatchObject({ amount: '200000', shortfall: '50000' });
    expect((await custom('2002', '200000')).stdout).toContain('short by ¥50,000\n');
  });

  // check once had its own copy of the money code: 'ıls' crashed it (a RangeError, exit 1) and
  // ' USD ' kept its spaces. It now prints them as balance does (src/format/money.ts).
  it("a code Intl rejects ('ıls') is shown as sent; ' USD ' is USD", async () => {
    await withBalances(demoItemId, '0000', { iso_currency_code: 'ıls' }, async () => {
      const r = await demo('0000', '25');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Currency:  ıls\n');
      expect(r.stdout).toContain('Sufficient: 100 ıls available ≥ 25 ıls requested');
    });
    await withBalances(demoItemId, '0000', { iso_currency_code: ' USD ' }, async () => {
      const r = await demo('0000', '125');
      expect(r.code).toBe(7);
      expect(r.stdout).toContain('Currency:  USD\n');
      expect(r.stdout).toContain('Insufficient: $100.00 available < $125.00 requested, short by $25.00');
    });
  });

  it('no currency code at all: "unknown currency", still compared', async () => {
    const r = await custom('2003', '10');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Currency:  unknown currency (Plaid sent no currency code)');
    expect(r.stdout).toContain('Sufficient: 10 available ≥ 10 requested');
  });

  it('0.1 + 0.2 as a balance is compared as the decimal Plaid sent', async () => {
    await withBalances(demoItemId, '0000', { available: 0.1 + 0.2 }, async () => {
      expect((await demo('0000', '0.3')).code).toBe(0);
      const r = await demo('0000', '0.30000001', '--json');
      expect(r.code).toBe(7);
      expect(JSON.parse(r.stdout)).toMatchObject({ balance_used: { value: 0.30000000000000004 }, shortfall: '0.00000000999999996' });
    });
    await withBalances(demoItemId, '0000', { available: 0.3 }, async () => {
      expect((await demo('0000', '0.30')).code).toBe(0);
    });
  });

  it('where a float comparison would say yes, the exact one says no', async () => {
    // 999999999999999.91 rounds to the same double as 999999999999999.9.
    await withBalances(demoItemId, '0000', { available: 999999999999999.9 }, async () => {
      const r = await demo('0000', '999999999999999.91');
      expect(r.code).toBe(7);
      expect(r.stdout).toContain('Insufficient: $999,999,999,999,999.90 available < $999,999,999,999,999.91 requested, short by $0.01');
    });
  });
});

describe('--json', () => {
  it('one document on stdout, in the documented order', async () => {
    const before = balanceCalls().length;
    const r = await demo('0000', '125.50', '--json');
    expect(r.code).toBe(7);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'item_id', 'name', 'account_id', 'account_name', 'mask', 'type', 'subtype', 'amount', 'currency',
      'balance_used', 'balances', 'sufficient', 'shortfall', 'request_id', 'checked_at',
    ]);
    const call = balanceCalls()[before]!;
    expect(doc).toEqual({
      item_id: demoItemId,
      name: 'demo',
      account_id: id('0000'),
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
      request_id: (call.response as { request_id: string }).request_id,
      checked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
  });
});

describe('errors', () => {
  it('an unknown account: INVALID_ACCOUNT_ID, exit 2, with the hint', async () => {
    const r = await check(['--item', 'demo', '--account', 'NoSuchAccount0000000000000000000000000'.slice(0, 37), '--amount', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error_code:      INVALID_ACCOUNT_ID');
    expect(r.stderr).toContain('plaidbal balance --item demo');
    expect(r.stdout).toBe('');
  });

  it.each([
    ['1e309', 'uses exponent notation'],
    ['1e3', 'uses exponent notation'],
    ['-0', 'must be a positive amount'],
    ['-5', 'must be a positive amount'],
    ['+5', 'takes no sign'],
    ['0', 'must be greater than zero'],
    ['12,50', 'use a dot as the decimal separator'],
    ['NaN', 'is not a number'],
    ['Infinity', 'is not a number'],
    [' 5 ', 'contains spaces'],
    ['', 'is empty'],
    ['.5', 'needs a 0 before the dot: 0.5'],
    ['0x10', 'no hex'],
    ['١٢٣', 'ASCII digits'],
    ['0.000000001', 'at most 8'],
    ['1000000000000000', 'at most 15 digits before the dot'],
    ['9'.repeat(10_000), 'too long'],
  ])('--amount %j is exit 2, before any call to Plaid', async (amount, reason) => {
    const before = world.emulator.requests.length;
    const r = await demo('0000', amount);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Error: --amount "`);
    expect(r.stderr).toContain(reason);
    expect(r.stderr.length).toBeLessThan(500);
    expect(r.stdout).toBe('');
    expect(world.emulator.requests.length).toBe(before);
  });

  it('missing flags, and an ambiguous item, are usage errors', async () => {
    const [noAmount, noAccount, noItem] = await Promise.all([
      check(['--item', 'demo', '--account', id('0000')]),
      check(['--item', 'demo', '--amount', '5']),
      check(['--account', id('0000'), '--amount', '5']),
    ]);
    expect(noAmount.code).toBe(2);
    expect(noAmount.stderr).toContain("required option '--amount <amount>' not specified");
    expect(noAccount.code).toBe(2);
    expect(noItem.code).toBe(2);
    expect(noItem.stderr).toContain('Which item? More than one is linked.');
    expect(noItem.stderr).toContain('demo, custom');
  });

  it('a Plaid outage is exit 5 after retries', async () => {
    world.emulator.inject({ path: '/accounts/balance/get', status: 500, times: 4 });
    const r = await demo('0000', '5');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('INTERNAL_SERVER_ERROR');
    expect(r.stdout).toBe('');
  });

  it('ITEM_LOGIN_REQUIRED: exit 4 and the link --update hint, in text and JSON mode', async () => {
    await world.link('locked', '--institution', 'ins_109511');
    const locked = world.emulator.items().find((i) => i.institution_id === 'ins_109511')!;
    expect((await world.run(['sandbox', 'reset-login', 'locked'])).code).toBe(0);
    const account = locked.accounts.find((a) => a.mask === '0000')!.account_id;
    for (const flags of [[], ['--json']]) {
      const before = balanceCalls().length;
      const r = await check(['--item', 'locked', '--account', account, '--amount', '5', ...flags]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('ITEM_LOGIN_REQUIRED');
      expect(r.stderr).toContain('plaidbal link --update locked');
      expect(r.stdout).toBe('');
      expect(balanceCalls().length - before).toBe(1); // never retried
    }
  });
});

it('--help has examples and the exit codes', async () => {
  const r = await world.run(['check', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Examples:');
  expect(r.stdout).toContain('--allow-credit');
  expect(r.stdout).toContain('0 sufficient, 7 insufficient');
});
