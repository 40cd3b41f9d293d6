/**
 * Awkward balances, through the real CLI: nulls, negatives, 4-decimal values, non-USD and
 * unofficial currencies — in the table and in the JSON. The accounts come from Plaid's
 * custom Sandbox user (`user_custom` with a JSON password), plus a crypto account the
 * emulator is told to hold (Plaid reports those with `unofficial_currency_code`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process.js';
import { createWorld, type World } from '../helpers/world.js';

const customUser = JSON.stringify({
  override_accounts: [
    { type: 'depository', subtype: 'checking', starting_balance: -12.5, meta: { name: 'Overdrawn Checking', mask: '1001' } },
    { type: 'depository', subtype: 'savings', starting_balance: 1234.5678, currency: 'EUR', meta: { name: 'Euro Savings', mask: '1002' } },
    { type: 'depository', subtype: 'checking', starting_balance: 150000, currency: 'JPY', meta: { name: 'Yen Account', mask: '1003' } },
    { type: 'credit', subtype: 'credit card', starting_balance: 410.1234, has_null_available_balance: true, meta: { name: 'Card', mask: '1004', limit: 2000 } },
    { type: 'depository', subtype: 'savings', starting_balance: 99.99, currency: 'GBP', force_available_balance: -0.01, meta: { name: 'Sterling', mask: '1005' } },
  ],
});

describe('awkward balances in the table and the JSON', () => {
  let world: World;
  let table: string;
  let json: { items: { accounts: { name: string; mask: string; balances: Record<string, unknown> }[] }[] };

  beforeAll(async () => {
    world = await createWorld();
    expect((await world.init('passphrase')).code).toBe(0);
    await world.link('custom', '--sandbox-username', 'user_custom', '--sandbox-password', customUser);
    const [item] = world.emulator.items();
    world.emulator.setAccounts(item!.item_id, [
      ...item!.accounts,
      {
        account_id: 'BTCaccount0000000000000000000000000000'.slice(0, 37),
        balances: { available: 0.12345678, current: 0.12345678, limit: null, iso_currency_code: null, unofficial_currency_code: 'BTC' },
        mask: '1006',
        name: 'Bitcoin Wallet',
        official_name: null,
        subtype: null,
        type: 'other',
      },
    ]);
    const t = await world.run(['balance', '--item', 'custom']);
    expect(t.code).toBe(0);
    table = t.stdout;
    const j = await world.run(['balance', '--item', 'custom', '--json']);
    expect(j.code).toBe(0);
    json = JSON.parse(j.stdout);
  });
  afterAll(async () => world.close());

  const row = (mask: string) => table.split('\n').find((l) => l.includes(`••${mask}`)) ?? '';
  const balances = (mask: string) => json.items[0]!.accounts.find((a) => a.mask === mask)!.balances;

  it('on a terminal the accounts table fits its width (names and types wrap); piped, it does not', async () => {
    const accountsTable = (text: string) => text.split('\n\n')[0]!.split('\n').slice(1);
    const widest = (text: string) => Math.max(...accountsTable(text).map((l) => l.length));
    expect(widest(table)).toBeGreaterThan(90);
    // Only the account and type columns wrap (down to their longest word): the figures never do.
    const r = await runInProcess(['balance', '--item', 'custom'], { env: { ...world.env, NO_COLOR: '1' }, terminalColumns: 90 });
    expect(r.code, r.stderr).toBe(0);
    expect(widest(r.stdout), r.stdout).toBeLessThanOrEqual(90);
    for (const mask of ['1001', '1005', '1006']) expect(r.stdout).toContain(`••${mask}`);
  });

  it('negatives stay negative', () => {
    expect(row('1001')).toMatch(/-\$12\.50.*-\$12\.50/);
    expect(balances('1001')).toMatchObject({ available: -12.5, current: -12.5 });
    expect(row('1005')).toContain('-£0.01');
    expect(balances('1005')).toMatchObject({ available: -0.01, current: 99.99, iso_currency_code: 'GBP' });
  });

  it('4-decimal values keep every digit, in any currency', () => {
    expect(row('1002')).toContain('€1,234.5678');
    expect(row('1002')).toContain('EUR');
    expect(balances('1002')).toMatchObject({ current: 1234.5678, iso_currency_code: 'EUR' });
    expect(row('1004')).toContain('$410.1234');
    expect(balances('1004')).toMatchObject({ current: 410.1234 });
  });

  it('currencies without minor units are not padded', () => {
    expect(row('1003')).toContain('¥150,000');
    expect(row('1003')).not.toContain('¥150,000.00');
    expect(balances('1003')).toMatchObject({ current: 150000, iso_currency_code: 'JPY' });
  });

  it('nulls are — in the table and null in JSON, never 0', () => {
    expect(row('1004')).toMatch(/│\s+—\s+│\s+\$410\.1234\s+│\s+\$2,000\.00/);
    expect(balances('1004')).toMatchObject({ available: null, limit: 2000 });
  });

  it('unofficial currencies show the code, and JSON keeps iso null', () => {
    expect(row('1006')).toContain('0.12345678 BTC');
    expect(row('1006')).toContain('BTC');
    expect(balances('1006')).toEqual({ available: 0.12345678, current: 0.12345678, limit: null, iso_currency_code: null, unofficial_currency_code: 'BTC', last_updated_datetime: null });
  });
});
