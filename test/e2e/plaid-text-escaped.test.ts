/**
 * Text from Plaid and the bank that reaches the terminal outside the balance table: currency
 * codes in the totals, items status, the items rotate table, warnings that quote Plaid's message,
 * and the --debug line's request_id. Each shows its control characters as `\u001b`-style text
 * (README, "Text from Plaid on a terminal"), so an answer cannot retitle or clear the terminal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { createWorld, type World } from '../helpers/world.js';

// An OSC that sets the terminal's title, ended by a bell.
const HOSTILE = '\u001b]0;PWNED\u0007';
const ESCAPED = '\\u001b]0;PWNED\\u0007';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

let world: World;
beforeEach(async () => {
  world = await createWorld({}, {}, { inProcess: true });
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
});
afterEach(async () => world.close());

/** Neither stream carries a raw control character. */
function noRawControls(r: CliResult) {
  expect(r.stdout).not.toMatch(RAW_CONTROL);
  expect(r.stderr).not.toMatch(RAW_CONTROL);
}

describe('text from Plaid outside the balance table', () => {
  it('balance: a currency code in the totals (headings and notes) is escaped', async () => {
    const [item] = world.emulator.items();
    world.emulator.setAccounts(item!.item_id, [
      {
        account_id: 'HOSTILEcurrency000000000000000000000000'.slice(0, 37),
        // No available balance: the totals' notes name the currency too.
        balances: { available: null, current: 1.5, limit: null, iso_currency_code: null, unofficial_currency_code: `BTC${HOSTILE}` },
        mask: '1006',
        name: 'Wallet',
        official_name: null,
        subtype: 'checking',
        type: 'depository',
      },
    ]);
    const r = await world.run(['balance', '--item', 'demo']);
    expect(r.code).toBe(0);
    noRawControls(r);
    const totals = r.stdout.slice(r.stdout.indexOf('Totals'));
    expect(totals.split('\n').find((line) => line.includes('Totals'))).toContain(`BTC${ESCAPED}`);
    expect(totals).toContain(`BTC${ESCAPED}: no figure from Plaid`);
  });
});
