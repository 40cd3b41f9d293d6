/**
 * `plaidbal items status`: plaidbal run in process (test/helpers/in-process.ts) against the emulator. Status is read-only and free:
 * every run leaves the store byte-identical and makes /item/get calls only, never a billed one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { linkedWorld, PASSPHRASE, printed, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
beforeEach(async () => {
  world = await linkedWorld('demo', { inProcess: true });
});
afterEach(async () => world.close());

const ITEM_KEYS = ['item_id', 'name', 'institution_id', 'institution_name', 'environment', 'status', 'error', 'consent_expiration_time', 'products', 'billed_products', 'last_balance_at', 'fix', 'request_id'];
const ERROR_KEYS = ['error_type', 'error_code', 'error_message', 'display_message', 'request_id'];

/**
 * Runs `plaidbal items status …` and asserts what every status run must do: the store is
 * byte-identical, only /item/get was called, and no secret or access token was printed.
 */
async function status(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const before = await world.store.snapshot();
  const seen = world.emulator.requests.length;
  const result = await world.run(['items', 'status', ...args], { extraEnv });
  expect(await world.store.snapshot()).toEqual(before);
  for (const request of world.emulator.requests.slice(seen)) expect(request.path).toBe('/item/get');
  const tokens = world.emulator.items().map((i) => i.access_token);
  for (const secret of [TEST_SECRET, PASSPHRASE, ...tokens]) expect(printed(result)).not.toContain(secret);
  return result;
}

/** Removes an item at Plaid behind plaidbal's back, as another tool or the dashboard would. */
async function removeAtPlaid(alias: string) {
  const listed = JSON.parse((await world.run(['items', '--json'])).stdout).items as { alias: string; item_id: string }[];
  const itemId = listed.find((i) => i.alias === alias)!.item_id;
  const item = world.emulator.items().find((i) => i.item_id === itemId)!;
  const res = await fetch(`${world.emulator.url}/item/remove`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' },
    body: JSON.stringify({ access_token: item.access_token }),
  });
  expect(res.status).toBe(200);
}

/** Rotates an item's token at Plaid behind plaidbal's back (another holder of the token did): the stored one is dead. */
async function rotateAtPlaid(alias: string) {
  const listed = JSON.parse((await world.run(['items', '--json'])).stdout).items as { alias: string; item_id: string }[];
  const itemId = listed.find((i) => i.alias === alias)!.item_id;
  const item = world.emulator.items().find((i) => i.item_id === itemId)!;
  const res = await fetch(`${world.emulator.url}/item/access_token/invalidate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' },
    body: JSON.stringify({ access_token: item.access_token }),
  });
  expect(res.status).toBe(200);
}

describe('a healthy item', () => {
  it('exits 0 and shows OK, products, consent — and "never", then the last balance after `plaidbal balance`', async () => {
    const r = await status(['demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const row = r.stdout.split('\n').find((line) => line.includes('│ demo '))!;
    expect(row.split('│').map((c) => c.trim())).toEqual(['', 'demo', 'sandbox', 'First Platypus Bank', 'OK', '—', 'auth', 'auth', 'never', '—', '']);
    expect(world.emulator.requests.filter((q) => q.path === '/item/get')).toHaveLength(1);

    expect((await world.run(['balance', '--item', 'demo'])).code).toBe(0);
    const after = await status([]); // the only item: no argument needed
    expect(after.code).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect(after.stdout).toMatch(new RegExp(`│ ${today} \\(just now\\) +│`));

    const json = JSON.parse((await status(['demo', '--json'])).stdout);
    expect(Object.keys(json)).toEqual(['environment', 'checked_at', 'items']);
    expect(json.environment).toBe('sandbox');
    expect(Number.isNaN(Date.parse(json.checked_at))).toBe(false);
    expect(Object.keys(json.items[0])).toEqual(ITEM_KEYS);
    expect(json.items[0]).toMatchObject({
      name: 'demo',
      institution_id: 'ins_109508',
      institution_name: 'First Platypus Bank',
      environment: 'sandbox',
      status: 'ok',
      error: null,
      consent_expiration_time: null,
      products: ['auth'],
      billed_products: ['auth'],
      fix: null,
    });
    expect(json.items[0].last_balance_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(json.items[0].request_id).toMatch(/^[A-Za-z0-9]{15}$/);
  });
});

describe('an item that needs its user', () => {
  it('after reset-login: exit 4, ITEM_LOGIN_REQUIRED, and the fix is `plaidbal link --update demo`', async () => {
    expect((await world.run(['sandbox', 'reset-login', 'demo'])).code).toBe(0);
    const r = await status(['demo']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('│ ITEM_LOGIN_REQUIRED │');
    expect(r.stdout).toContain('ITEM_LOGIN_REQUIRED (ITEM_ERROR): the login details of this item have changed');
    expect(r.stdout).toMatch(/request_id: [A-Za-z0-9]{15}/);
    expect(r.stdout).toContain('Fix: plaidbal link --update demo');
    expect(r.stderr).toContain('"demo" needs its user (ITEM_LOGIN_REQUIRED). Fix: plaidbal link --update demo');

    const json = await status(['demo', '--json']);
    expect(json.code).toBe(4);
    const [item] = JSON.parse(json.stdout).items;
    expect(item).toMatchObject({ status: 'needs_update', fix: 'plaidbal link --update demo', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', display_message: null } });
    expect(Object.keys(item.error)).toEqual(ERROR_KEYS);
    expect(item.error.request_id).toBe(item.request_id);
  });
});

describe('--all', () => {
  it('one good and one broken item: exit 6, both listed, in the table and in JSON', async () => {
    await world.link('bad', '--institution', 'ins_109511');
    expect((await world.run(['sandbox', 'reset-login', 'bad'])).code).toBe(0);
    const r = await status(['--all']);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/│ demo +│ sandbox +│ First Platypus Bank +│ OK +│/);
    expect(r.stdout).toMatch(/│ bad +│ sandbox +│ Tartan Bank +│ ITEM_LOGIN_REQUIRED +│/);
    expect(r.stdout).toContain('Fix: plaidbal link --update bad');
    expect(r.stderr).toContain('1 of 2 items need attention');

    const json = await status(['--all', '--json']);
    expect(json.code).toBe(6);
    const doc = JSON.parse(json.stdout);
    expect(doc.environment).toBe('sandbox');
    expect(doc.items.map((i: { name: string; status: string }) => [i.name, i.status])).toEqual([
      ['demo', 'ok'],
      ['bad', 'needs_update'],
    ]);
    for (const item of doc.items) expect(Object.keys(item)).toEqual(ITEM_KEYS);
  });

  it('an item Plaid forgot and a network failure never lose the other items', async () => {
    await world.link('gone', '--institution', 'ins_109511');
    await removeAtPlaid('gone');
    const r = await status(['--all', '--json']);
    expect(r.code).toBe(6);
    const [demo, gone] = JSON.parse(r.stdout).items;
    expect(demo).toMatchObject({ name: 'demo', status: 'ok' });
    expect(gone).toMatchObject({ name: 'gone', status: 'error', products: null, billed_products: null, fix: null, error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND' } });
    expect(gone.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
    const table = await status(['--all']);
    expect(table.code).toBe(6);
    expect(table.stdout).toMatch(/│ gone +│ sandbox +│ Tartan Bank +│ ITEM_NOT_FOUND +│/);
    expect(table.stdout).toContain('Plaid no longer has this item');

    const offline = await status(['--all', '--json'], { PLAIDBAL_BASE_URL: 'http://127.0.0.1:9' });
    expect(offline.code).toBe(6);
    const items = JSON.parse(offline.stdout).items;
    expect(items).toHaveLength(2);
    for (const item of items) expect(item).toMatchObject({ status: 'error', error: { error_type: 'PLAIDBAL_NETWORK_ERROR', error_code: 'NETWORK_FAILURE' } });
  });

  it('checks items through a bounded pool (--concurrency)', async () => {
    for (const alias of ['b', 'c', 'd', 'e']) await world.link(alias);
    world.emulator.setLatency(400, '/item/get');
    const seen = world.emulator.requests.length;
    const r = await status(['--all', '--concurrency', '2']);
    expect(r.code, r.stderr).toBe(0);
    const calls = world.emulator.requests.slice(seen);
    expect(calls.map((q) => q.path)).toEqual(Array(5).fill('/item/get'));
    // As the emulator saw them, every call slowed: never more than 2 unanswered at once, and 2 reached.
    expect(Math.max(...calls.map((q) => q.concurrent))).toBe(2);
  });

  it('--env filters; an environment with no items, or an item with --all, is a usage error', async () => {
    expect((await status(['--all', '--env', 'sandbox'])).code).toBe(0);
    const none = await status(['--all', '--env', 'production']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('No items are linked in production');
    const both = await status(['demo', '--all']);
    expect(both.code).toBe(2);
    expect(world.emulator.requests.filter((q) => q.path === '/item/get')).toHaveLength(1);
  });
});

describe('failures of one item', () => {
  it('its token rotated behind plaidbal\'s back: INVALID_ACCESS_TOKEN, exit 3', async () => {
    await world.link('rotated');
    await rotateAtPlaid('rotated');
    const r = await status(['rotated']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error_code:      INVALID_ACCESS_TOKEN');
    expect(r.stderr).toContain('plaidbal items remove rotated');
    const json = await status(['rotated', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).items[0]).toMatchObject({ status: 'error', error: { error_code: 'INVALID_ACCESS_TOKEN' } });
  });

  it('removed at Plaid behind plaidbal\'s back: ITEM_NOT_FOUND, exit 4, and how to delete the local copy', async () => {
    await removeAtPlaid('demo');
    const r = await status(['demo']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error_code:      ITEM_NOT_FOUND');
    expect(r.stderr).toContain('Plaid no longer has this item');
    expect(r.stderr).toContain('plaidbal items remove demo');
    const json = await status(['demo', '--json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).items[0]).toMatchObject({ status: 'error', error: { error_code: 'ITEM_NOT_FOUND' } });
  });

  it('wrong credentials: INVALID_API_KEYS, exit 3, the secret never printed', async () => {
    const r = await status(['demo'], { PLAID_SECRET: 'wrong-secret-value' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('INVALID_API_KEYS');
    expect(r.stderr).not.toContain('wrong-secret-value');
  });

  it('a network failure: exit 5', async () => {
    const r = await status(['demo'], { PLAIDBAL_BASE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ECONNREFUSED');
  });

  it('an unknown item: exit 2, naming the known ones, and no call', async () => {
    const r = await status(['nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No linked item is called "nope"');
    expect(r.stderr).toContain('Known items: demo');
    expect(world.emulator.requests.filter((q) => q.path === '/item/get')).toHaveLength(0);
  });
});
