/**
 * Capital One (ins_128026): /accounts/balance/get needs options.min_last_updated_datetime for its
 * credit cards, which have no real-time balance. plaidbal sends a default window (24 h) so that
 * `balance`, `balance --all` and `check` work without --min-last-updated, shows each figure's
 * age, and explains LAST_UPDATED_DATETIME_OUT_OF_RANGE with the figure's actual age.
 *
 * The emulator's clock runs behind while an item is linked, so its credit card's balance is
 * that much older than the CLI's "now".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../helpers/world.js';

const HOUR = 3_600_000;
let offset = 0;
let world: World;

const balanceRequests = () => world.emulator.requests.filter((r) => r.path === '/accounts/balance/get');
const lastBalanceBody = () => balanceRequests().at(-1)!.body as { options?: { min_last_updated_datetime?: string } };

async function linkAged(alias: string, hours: number, ...flags: string[]) {
  offset = -hours * HOUR;
  try {
    await world.link(alias, ...flags);
  } finally {
    offset = 0;
  }
}

async function accountsOf(alias: string) {
  const r = await world.run(['balance', '--item', alias, '--cached', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).items[0].accounts as { account_id: string; name: string; type: string }[];
}

beforeAll(async () => {
  world = await createWorld({ clock: () => Date.now() + offset }, {}, { inProcess: true });
  expect((await world.init('passphrase')).code).toBe(0);
  await linkAged('capone', 3, '--institution', 'ins_128026');
  await world.link('platypus');
});
afterAll(async () => world?.close());

describe('balance at Capital One without --min-last-updated', () => {
  it('sends a default min_last_updated_datetime of 24 h ago and shows how old the card figure is', async () => {
    const before = Date.now();
    const r = await world.run(['balance', '--item', 'capone']);
    expect(r.code, r.stderr).toBe(0);
    const sent = lastBalanceBody().options?.min_last_updated_datetime;
    expect(sent).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // 24 h before the CLI's clock, in whole seconds.
    expect(Date.parse(sent!)).toBeGreaterThanOrEqual(before - 24 * HOUR - 1_000);
    expect(Date.parse(sent!)).toBeLessThanOrEqual(Date.now() - 24 * HOUR);
    const card = r.stdout.split('\n').find((line) => line.includes('Plaid Credit Card'));
    expect(card).toMatch(/\$410\.00 .*│ as of 3 h ago │$/);
    // Capital One's checking account is real-time: no age beside it.
    expect(r.stdout.split('\n').find((line) => line.includes('Plaid Checking'))).not.toContain('as of');
  });

  it('JSON: last_updated_datetime, as Plaid sent it', async () => {
    const r = await world.run(['balance', '--item', 'capone', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const accounts = JSON.parse(r.stdout).items[0].accounts as { name: string; balances: { last_updated_datetime: string | null } }[];
    const card = accounts.find((a) => a.name === 'Plaid Credit Card')!;
    const age = Date.now() - Date.parse(card.balances.last_updated_datetime!);
    expect(age).toBeGreaterThanOrEqual(3 * HOUR - 60_000);
    expect(age).toBeLessThan(3 * HOUR + 60_000);
  });

  it('balance --all works; only the Capital One call carries the option', async () => {
    const from = balanceRequests().length;
    const r = await world.run(['balance', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const calls = balanceRequests().slice(from).map((q) => q.body as { options?: { min_last_updated_datetime?: string } });
    expect(calls).toHaveLength(2);
    expect(calls.filter((body) => body.options?.min_last_updated_datetime)).toHaveLength(1);
  });
});

describe('--min-last-updated and LAST_UPDATED_DATETIME_OUT_OF_RANGE', () => {
  it('a tighter --min-last-updated than the figure: the hint gives its actual age and how to accept it', async () => {
    const min = new Date(Date.now() - HOUR).toISOString();
    const r = await world.run(['balance', '--item', 'capone', '--min-last-updated', min]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('LAST_UPDATED_DATETIME_OUT_OF_RANGE');
    const hint = r.stderr.slice(r.stderr.indexOf('Hint:'));
    expect(hint).toMatch(/The newest balance Plaid has for "capone" is from \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z \(3 h old\), older than --min-last-updated/);
    const latest = /is from (\S+) \(/.exec(hint)![1]!;
    expect(hint).toContain(`add --min-last-updated ${latest}`);
    // Following the hint works.
    const again = await world.run(['balance', '--item', 'capone', '--min-last-updated', latest]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('a figure older than the default window: the hint names the default', async () => {
    await linkAged('stale', 30, '--institution', 'ins_128026');
    const r = await world.run(['balance', '--item', 'stale']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('LAST_UPDATED_DATETIME_OUT_OF_RANGE');
    expect(r.stderr).toMatch(/\(30 h old\), older than plaidbal's default for Capital One, a balance at most 24 h old/);
    const loose = await world.run(['balance', '--item', 'stale', '--min-last-updated', new Date(Date.now() - 48 * HOUR).toISOString()]);
    expect(loose.code, loose.stderr).toBe(0);
    expect(loose.stdout).toContain('as of 30 h ago');
    await world.run(['items', 'remove', 'stale', '--yes']);
  });
});

describe('check at Capital One', () => {
  it('checks the card against its available credit and says the figure is not real-time', async () => {
    const card = (await accountsOf('capone')).find((a) => a.type === 'credit')!;
    const r = await world.run(['check', '--item', 'capone', '--account', card.account_id, '--amount', '100', '--allow-credit']);
    expect(r.code, r.stderr).toBe(0);
    expect(lastBalanceBody().options?.min_last_updated_datetime).toBeTruthy();
    expect(r.stdout).toMatch(/As of: +\S+Z, 3 h ago: not a real-time balance/);
    expect(r.stderr).toContain('is not real-time: Plaid last updated it at');
    const json = await world.run(['check', '--item', 'capone', '--account', card.account_id, '--amount', '100', '--allow-credit', '--json']);
    expect(JSON.parse(json.stdout).balance_used).toMatchObject({ realtime: false, last_updated_datetime: expect.stringMatching(/Z$/) });
  });

  it('a Capital One checking account is real-time: no such note', async () => {
    const checking = (await accountsOf('capone')).find((a) => a.name === 'Plaid Checking')!;
    const r = await world.run(['check', '--item', 'capone', '--account', checking.account_id, '--amount', '50', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('not real-time');
    expect(JSON.parse(r.stdout).balance_used).toMatchObject({ realtime: true });
  });

  it('--min-last-updated tightens it for check too', async () => {
    const card = (await accountsOf('capone')).find((a) => a.type === 'credit')!;
    const r = await world.run(['check', '--item', 'capone', '--account', card.account_id, '--amount', '1', '--allow-credit', '--min-last-updated', new Date().toISOString()]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/\(3 h old\)/);
  });
});
