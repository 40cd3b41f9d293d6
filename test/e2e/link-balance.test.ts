/**
 * The main job, end to end, with each key source: config init, link --sandbox, balance
 * (table and JSON), items, rename, remove — plaidbal run in process (test/helpers/in-process.ts) against the emulator.
 */
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, printed, TEST_SECRET, type KeySource, type World } from '../helpers/world.js';
import { PASSPHRASE } from '../helpers/world.js';

describe.each<KeySource>(['keychain', 'passphrase'])('link and balance with the %s key source', (keySource) => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({}, {}, { inProcess: true });
  });
  afterAll(async () => world.close());

  const secretsIn = (text: string) => {
    const tokens = world.emulator.items().map((i) => i.access_token);
    return [TEST_SECRET, PASSPHRASE, ...tokens].filter((s) => text.includes(s));
  };

  it('config init saves sealed credentials in a 0700 directory, 0600 file', async () => {
    const r = await world.init(keySource);
    expect(r.stderr).toContain('Saved sandbox credentials');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    expect(doc.key.source).toBe(keySource);
    expect(doc.profiles.sandbox.client_id).toBe('test_client_id');
    expect(doc.profiles.sandbox.secret).toMatch(/^v1\./);
    expect(await readFile(world.store.file, 'utf8')).not.toContain(TEST_SECRET);
    expect((await stat(world.store.file)).mode & 0o777).toBe(0o600);
    expect((await stat(world.store.dir)).mode & 0o777).toBe(0o700);
    expect(secretsIn(printed(r))).toEqual([]);
  });

  it('config show redacts the secret and names the key source', async () => {
    const r = await world.run(['config', 'show']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('test_client_id');
    expect(r.stdout).toContain('[redacted]');
    expect(r.stdout).toContain(keySource === 'keychain' ? 'OS keychain' : 'passphrase (scrypt');
    expect(secretsIn(printed(r))).toEqual([]);
    const json = JSON.parse((await world.run(['config', 'show', '--json'])).stdout);
    expect(json.key_source).toBe(keySource);
    expect(json.profiles[0]).toMatchObject({ environment: 'sandbox', client_id: 'test_client_id', secret: '[redacted]', secret_source: 'store (sealed)' });
  });

  it('link --sandbox creates, exchanges and saves the item, then lists accounts with the free /accounts/get', async () => {
    const before = world.emulator.requests.length;
    const r = await world.link('demo');
    expect(r.stdout).toContain('Linked First Platypus Bank as "demo"');
    expect(r.stdout).toContain('Plaid Checking ••0000');
    expect(r.stdout).toContain('Next: plaidbal balance --item demo');
    const paths = world.emulator.requests.slice(before).map((q) => q.path);
    // The institution's name first: nothing but the exchange and the save runs while the new token is only in plaidbal.
    expect(paths).toEqual(['/institutions/get_by_id', '/sandbox/public_token/create', '/item/public_token/exchange', '/accounts/get']);
    expect(paths).not.toContain('/accounts/balance/get');
    const created = world.emulator.requests[before + 1]!;
    expect(created.body).toMatchObject({ institution_id: 'ins_109508', initial_products: ['auth'] });
    expect(created.headers['plaid-client-id']).toBe('test_client_id');
    expect(created.headers['plaid-version']).toBe('2020-09-14');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    const item = doc.items[0];
    expect(item).toMatchObject({ alias: 'demo', environment: 'sandbox', institution_id: 'ins_109508', institution_name: 'First Platypus Bank', products: ['auth'] });
    expect(item.access_token).toMatch(/^v1\./);
    expect(JSON.stringify(doc)).not.toContain(world.emulator.items()[0]!.access_token);
    expect(secretsIn(printed(r))).toEqual([]);
  });

  it('balance prints the real-time table: nulls as —, every digit kept', async () => {
    const r = await world.run(['balance', '--item', 'demo']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const row = (name: string) => r.stdout.split('\n').find((l) => l.includes(name)) ?? '';
    expect(row('Plaid Checking ••0000')).toMatch(/\$100\.00.*\$110\.00.*—.*USD/);
    expect(row('Plaid CD ••2222')).toMatch(/—.*\$1,000\.00.*—/);
    expect(row('Plaid Credit Card ••3333')).toMatch(/—.*\$410\.00.*\$2,000\.00/);
    expect(row('Plaid 401k ••6666')).toContain('$23,631.9805');
    expect(r.stdout).not.toMatch(/\x1b\[/); // not a terminal: no colour
    expect(world.emulator.requests.at(-1)!.path).toBe('/accounts/balance/get');
  });

  it('balance --json prints exactly one document with Plaid\'s numbers unchanged', async () => {
    const r = await world.run(['balance', '--item', 'demo', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['environment', 'fetched_at', 'items']);
    expect(doc.environment).toBe('sandbox');
    expect(new Date(doc.fetched_at).toISOString()).toBe(doc.fetched_at);
    const [item] = doc.items;
    expect(Object.keys(item)).toEqual(['item_id', 'name', 'institution_id', 'institution_name', 'request_id', 'balance_source', 'accounts', 'error']);
    expect(item).toMatchObject({ name: 'demo', institution_id: 'ins_109508', institution_name: 'First Platypus Bank', balance_source: 'realtime', error: null });
    expect(item.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
    expect(item.accounts).toHaveLength(9);
    const k401 = item.accounts.find((a: { mask: string }) => a.mask === '6666');
    expect(k401.balances).toMatchObject({ available: null, current: 23631.9805, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null });
    expect(Object.keys(k401.balances)).toEqual(['available', 'current', 'limit', 'iso_currency_code', 'unofficial_currency_code', 'last_updated_datetime']);
    expect(secretsIn(printed(r))).toEqual([]);
  });

  it('--account becomes options.account_ids', async () => {
    const all = JSON.parse((await world.run(['balance', '--item', 'demo', '--json'])).stdout).items[0].accounts;
    const ids = [all[0].account_id, all[3].account_id];
    const r = await world.run(['balance', '--item', 'demo', '--json', '--account', ids[0], '--account', ids[1]]);
    expect(r.code).toBe(0);
    expect(world.emulator.requests.at(-1)!.body).toMatchObject({ options: { account_ids: ids } });
    expect(JSON.parse(r.stdout).items[0].accounts.map((a: { account_id: string }) => a.account_id)).toEqual(ids);
  });

  it('commands that only read leave store.json as it was: same bytes, same modification time', async () => {
    const before = { bytes: await readFile(world.store.file), mtimeMs: (await stat(world.store.file)).mtimeMs };
    for (const args of [['items'], ['items', '--json'], ['config', 'show'], ['balance', '--item', 'demo', '--json', '--cached'], ['items', 'status', 'demo']]) {
      const r = await world.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(await readFile(world.store.file)).toEqual(before.bytes);
    expect((await stat(world.store.file)).mtimeMs).toBe(before.mtimeMs);
  });

  it('items lists metadata without unlocking; rename and remove work by alias or item_id', async () => {
    await world.link('second', '--institution', 'ins_109511');
    const list = await world.run(['items', '--json'], { extraEnv: { PLAIDBAL_PASSPHRASE: '' } });
    expect(list.code).toBe(0);
    const items = JSON.parse(list.stdout).items;
    expect(items.map((i: { alias: string }) => i.alias)).toEqual(['demo', 'second']);
    expect(items[1]).toMatchObject({ institution_name: 'Tartan Bank', environment: 'sandbox' });
    expect(items[0].last_balance_at).not.toBeNull();
    const table = await world.run(['items']);
    expect(table.stdout).toContain('Tartan Bank');

    const renamed = await world.run(['items', 'rename', items[1].item_id, 'tartan']);
    expect(renamed.code).toBe(0);
    expect((await world.run(['balance', '--item', 'tartan', '--json'])).code).toBe(0);

    const itemId = items[1].item_id;
    const removed = await world.run(['items', 'remove', 'tartan', '--yes']);
    expect(removed.code).toBe(0);
    expect(world.emulator.requests.at(-1)!.path).toBe('/item/remove');
    expect(world.emulator.items().find((i) => i.item_id === itemId)?.removed).toBe(true);
    const after = JSON.parse((await world.run(['items', '--json'])).stdout).items;
    expect(after.map((i: { alias: string }) => i.alias)).toEqual(['demo']);
  });

  it('what plaidbal sent used the header credentials and the Plaid-Version on every call', () => {
    for (const request of world.emulator.requests) {
      expect(request.headers['plaid-client-id']).toBe('test_client_id');
      expect(request.headers['plaid-secret']).toBe(TEST_SECRET);
      expect(request.headers['plaid-version']).toBe('2020-09-14');
      expect(JSON.stringify(request.body)).not.toContain(TEST_SECRET);
    }
  });
});
