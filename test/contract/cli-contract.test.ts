/**
 * What plaidbal itself sends: a whole CLI session against the emulator, then every
 * request (body, headers) and every response in the log checked against Plaid's OpenAPI
 * spec. Without the spec: a loud "not run" (and a failure on CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxItem } from '../emulator/index.js';
import { createWorld, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';
import { contractViolations, loadContractOrGuard } from './openapi.js';

const contract = await loadContractOrGuard();

describe.skipIf(!contract)('what plaidbal sends conforms to the Plaid OpenAPI contract', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld();
  });
  afterAll(async () => world?.close());

  it('a full session: link, balances (real-time, cached, filtered, min-last-updated, Capital One default), doctor, token rotation, import, one-shot balance, reset-login, remove', async () => {
    const ok = async (args: string[]) => {
      const r = await world.run(args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r;
    };
    expect((await world.init('passphrase')).code).toBe(0);
    await world.link('demo', '--products', 'transactions,auth');
    await world.link('capone', '--institution', 'ins_128026');
    const accounts = JSON.parse((await ok(['balance', '--item', 'demo', '--json'])).stdout).items[0].accounts;
    await ok(['balance', '--item', 'demo', '--json', '--account', accounts[0].account_id]);
    await ok(['balance', '--item', 'demo', '--cached', '--json']);
    await ok(['balance', '--item', 'capone', '--json', '--min-last-updated', '2020-01-01T00:00:00Z']);
    await ok(['doctor', '--json']);
    await ok(['balance', '--item', 'capone', '--json']);
    await ok(['items', 'rotate', 'demo', '--yes']);
    await ok(['items', 'rotate', '--all', '--yes', '--json']);
    await ok(['balance', '--all', '--json']);
    // Tokens linked elsewhere: items import (/item/get, /institutions/get_by_id) and the one-shot balance.
    const elsewhere = await createSandboxItem(world.emulator, { institution_id: 'ins_109511', initial_products: ['auth'] });
    const imported = await world.run(['items', 'import', '--format', 'ndjson'], { stdin: `${JSON.stringify({ access_token: elsewhere.access_token, name: 'imported' })}\n` });
    expect(imported.code, imported.stderr).toBe(0);
    const oneShot = await world.run(['balance', '--access-token-stdin', '--json'], { stdin: (await createSandboxItem(world.emulator)).access_token, extraEnv: { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET } });
    expect(oneShot.code, oneShot.stderr).toBe(0);
    await ok(['sandbox', 'reset-login', 'demo']);
    expect((await world.run(['balance', '--item', 'demo'])).code).toBe(4);
    await ok(['items', 'remove', 'capone', '--yes']);

    const paths = new Set(world.emulator.requests.map((q) => q.path));
    for (const path of ['/sandbox/public_token/create', '/item/public_token/exchange', '/institutions/get', '/institutions/get_by_id', '/item/get', '/accounts/get', '/accounts/balance/get', '/sandbox/item/reset_login', '/item/remove', '/item/access_token/invalidate']) {
      expect(paths, path).toContain(path);
    }
    expect(contractViolations(contract!, world.emulator.requests)).toEqual([]);
  });
});
