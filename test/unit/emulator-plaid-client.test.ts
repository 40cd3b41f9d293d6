/**
 * The official `plaid` Node client against the emulator, end to end, configured the way a
 * product would be: basePath = emulator URL, credentials and Plaid-Version in baseOptions.headers.
 */
import { Configuration, CountryCode, PlaidApi, Products } from 'plaid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertConformsToContract } from '../contract/openapi.js';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator } from '../emulator/index.js';

/** What axios (under the plaid client) rejects with on a non-2xx status. */
function httpFailure(error: unknown): { status: number; data: unknown } {
  const response = (error as { response?: { status: number; data: unknown } } | null)?.response;
  if (!response) throw new Error(`expected an HTTP error response, got ${String(error)}`);
  return response;
}

let plaid: Emulator;
let client: PlaidApi;
beforeAll(async () => {
  plaid = await startEmulator();
  client = new PlaidApi(
    new Configuration({
      basePath: plaid.url,
      baseOptions: { headers: { 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' } },
    }),
  );
});
afterAll(async () => plaid.close());

describe('the official plaid client', () => {
  it('links, reads balances, inspects, resets, repairs and removes an item', async () => {
    const { data: created } = await client.sandboxPublicTokenCreate({ institution_id: 'ins_109508', initial_products: [Products.Transactions] });
    const { data: exchanged } = await client.itemPublicTokenExchange({ public_token: created.public_token });
    const { access_token } = exchanged;

    const { data: balances } = await client.accountsBalanceGet({ access_token });
    expect(balances.accounts.map((a) => [a.name, a.balances.available, a.balances.current])).toContainEqual(['Plaid Checking', 100, 110]);
    const { data: accounts } = await client.accountsGet({ access_token, options: { account_ids: [balances.accounts[0]!.account_id] } });
    expect(accounts.accounts).toHaveLength(1);
    expect(accounts.item.item_id).toBe(exchanged.item_id);

    const { data: institution } = await client.institutionsGetById({ institution_id: 'ins_109508', country_codes: [CountryCode.Us] });
    expect(institution.institution.name).toBe('First Platypus Bank');

    await client.sandboxItemResetLogin({ access_token });
    const { data: item } = await client.itemGet({ access_token });
    expect(item.item.error?.error_code).toBe('ITEM_LOGIN_REQUIRED');

    const { data: update } = await client.linkTokenCreate({ client_name: 'plaidbal', language: 'en', country_codes: [CountryCode.Us], user: { client_user_id: 'u-1' }, access_token });
    plaid.completeLinkSession(update.link_token);
    const { data: sessions } = await client.linkTokenGet({ link_token: update.link_token });
    // Update mode: finished, no exit, no Item add listed.
    expect(sessions.link_sessions?.[0]).toMatchObject({ finished_at: expect.any(String), exit: null, results: { item_add_results: [] } });
    expect((await client.itemGet({ access_token })).data.item.error).toBeNull();

    await client.itemRemove({ access_token });
    const error: unknown = await client.accountsGet({ access_token }).catch((e: unknown) => e);
    expect(httpFailure(error).status).toBe(400);
    expect(httpFailure(error).data).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND', display_message: null });
  });

  it('sent its credentials and Plaid-Version as headers, and everything conforms to the spec', async () => {
    expect(plaid.requests.length).toBeGreaterThanOrEqual(10);
    for (const request of plaid.requests) {
      expect(request.headers['plaid-client-id']).toBe(TEST_CLIENT_ID);
      expect(request.headers['plaid-secret']).toBe(TEST_SECRET);
      expect(request.headers['plaid-version']).toBe('2020-09-14');
      expect(request.headers['content-type']).toMatch(/^application\/json/);
    }
    await assertConformsToContract(plaid.requests);
  });

  it('surfaces an injected 500 as a rejected call with the Plaid error body', async () => {
    plaid.inject({ path: '/institutions/get_by_id', status: 500 });
    const error: unknown = await client.institutionsGetById({ institution_id: 'ins_109508', country_codes: [CountryCode.Us] }).catch((e: unknown) => e);
    expect(httpFailure(error).status).toBe(500);
    expect(httpFailure(error).data).toMatchObject({ error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR' });
  });
});
