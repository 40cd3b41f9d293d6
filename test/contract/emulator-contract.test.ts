/**
 * The emulator against Plaid's OpenAPI spec: every endpoint, on its success paths and its main
 * error paths, with each request this test sends and each response it gets validated.
 * Without the spec the suite is skipped with a loud banner (and fails on CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAID_ERRORS, TEST_CLIENT_ID, TEST_SECRET, startEmulator, type Emulator } from '../emulator/index.js';
import { readFile } from 'node:fs/promises';
import { COUNTRY_CODES, LANGUAGES, ROUTES } from '../emulator/routes.js';
import { contractViolations, loadContractOrGuard, specPath } from './openapi.js';

const contract = await loadContractOrGuard();

type Expect = 'valid' | 'invalid' | 'unchecked';
interface Call {
  status: number;
  body: Record<string, unknown>;
}

describe.skipIf(!contract)('the emulator honours the Plaid OpenAPI contract', () => {
  // Inside this block the spec is there.
  const spec = contract!;
  let plaid: Emulator;

  beforeAll(async () => {
    plaid = await startEmulator();
  });
  afterAll(async () => plaid?.close());

  /**
   * POSTs like the official client, then checks the request against the spec (valid, or
   * deliberately invalid) and the response, success or error, always.
   */
  async function call(path: string, body: unknown, request: Expect = 'valid', headers: Record<string, string> = {}): Promise<Call> {
    if (request !== 'unchecked') {
      const verdict = spec.validateRequest(path, body);
      expect(verdict.ok, `${path} request ${JSON.stringify(body)} should be ${request}: ${verdict.errors.join('; ')}`).toBe(request === 'valid');
    }
    const res = await fetch(`${plaid.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': spec.apiVersion, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    const verdict = spec.validateResponse(path, res.status, json);
    expect(verdict.errors, `${path} ${res.status} ${JSON.stringify(json).slice(0, 400)}`).toEqual([]);
    expect(json.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
    return { status: res.status, body: json };
  }

  async function expectError(path: string, body: unknown, status: number, code: string, request: Expect = 'valid'): Promise<Call> {
    const result = await call(path, body, request);
    expect({ status: result.status, code: result.body.error_code }, JSON.stringify(result.body)).toEqual({ status, code });
    return result;
  }

  async function linkedItem(institution_id = 'ins_109508', options: Record<string, unknown> = {}) {
    const created = await call('/sandbox/public_token/create', { institution_id, initial_products: ['transactions'], options });
    expect(created.status).toBe(200);
    const exchanged = await call('/item/public_token/exchange', { public_token: created.body.public_token });
    return { access_token: String(exchanged.body.access_token), item_id: String(exchanged.body.item_id) };
  }

  const linkTokenRequest = {
    client_name: 'plaidbal',
    language: 'en',
    country_codes: ['US'],
    user: { client_user_id: 'user-1' },
    products: ['transactions'],
  };

  describe('success paths', () => {
    it('/link/token/create: plain, Hosted Link and update mode', async () => {
      expect((await call('/link/token/create', linkTokenRequest)).body.link_token).toMatch(/^link-sandbox-/);
      const hosted = await call('/link/token/create', { ...linkTokenRequest, hosted_link: {}, webhook: 'https://example.com/hook' });
      expect(hosted.body.hosted_link_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hl\//);
      const { access_token } = await linkedItem();
      const update = await call('/link/token/create', { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'user-1' }, access_token });
      expect(update.status).toBe(200);
    });

    it('/link/token/get: before, after a successful session, after an exit', async () => {
      const created = await call('/link/token/create', { ...linkTokenRequest, hosted_link: {} });
      const token = String(created.body.link_token);
      expect((await call('/link/token/get', { link_token: token })).body.link_sessions).toEqual([]);
      plaid.completeLinkSession(token);
      const done = await call('/link/token/get', { link_token: token });
      expect(done.body).toMatchObject({ link_sessions: [{ results: { item_add_results: [{ institution: { institution_id: 'ins_109508' } }] } }] });
      const other = String((await call('/link/token/create', linkTokenRequest)).body.link_token);
      plaid.completeLinkSession(other, { exit: { error_code: 'INVALID_CREDENTIALS', institution_id: 'ins_109508' } });
      plaid.completeLinkSession(other, { exit: {} });
      const exited = await call('/link/token/get', { link_token: other });
      expect(exited.body).toMatchObject({ link_sessions: [{ exit: { error: { error_code: 'INVALID_CREDENTIALS' } } }, { exit: { error: null } }] });
    });

    it('/link/token/get: a session in progress (finished_at null), then finished; update mode lists no Item add', async () => {
      const token = String((await call('/link/token/create', { ...linkTokenRequest, hosted_link: {} })).body.link_token);
      const sessionId = plaid.startLinkSession(token);
      const open = await call('/link/token/get', { link_token: token });
      expect(open.body.link_sessions).toEqual([expect.objectContaining({ link_session_id: sessionId, finished_at: null, results: null, exit: null })]);
      plaid.completeLinkSession(token);
      const done = (await call('/link/token/get', { link_token: token })).body.link_sessions as Array<Record<string, unknown>>;
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ link_session_id: sessionId, finished_at: expect.any(String) });

      const { access_token } = await linkedItem();
      const update = String((await call('/link/token/create', { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'user-1' }, access_token, hosted_link: {} })).body.link_token);
      plaid.completeLinkSession(update);
      const updated = (await call('/link/token/get', { link_token: update })).body.link_sessions as Array<Record<string, unknown>>;
      expect(updated).toEqual([expect.objectContaining({ finished_at: expect.any(String), exit: null, results: expect.objectContaining({ item_add_results: [] }) })]);
    });

    it('/sandbox/public_token/create and /item/public_token/exchange, default and custom users', async () => {
      await linkedItem();
      const custom = {
        override_accounts: [
          { type: 'depository', subtype: 'checking', starting_balance: -25.5, currency: 'EUR', meta: { name: 'Overdrawn', official_name: 'Overdrawn Checking', mask: '9999' } },
          { type: 'other', subtype: null, starting_balance: 0.5, currency: 'BTC', meta: { name: 'Coins' } },
          { type: 'credit', subtype: 'credit card', starting_balance: 100, meta: { limit: 500 } },
          { type: 'investment', subtype: 'brokerage', starting_balance: 1000, has_null_available_balance: true },
        ],
      };
      const { access_token } = await linkedItem('ins_109509', { override_username: 'user_custom', override_password: JSON.stringify(custom), webhook: 'https://example.com/hook' });
      const accounts = await call('/accounts/get', { access_token });
      expect(accounts.body.accounts).toHaveLength(4);
    });

    it('/accounts/get and /accounts/balance/get, all accounts and a selection', async () => {
      const { access_token } = await linkedItem();
      const all = await call('/accounts/get', { access_token });
      expect(all.body.accounts).toHaveLength(9);
      const ids = (all.body.accounts as { account_id: string }[]).slice(0, 2).map((a) => a.account_id);
      await call('/accounts/get', { access_token, options: { account_ids: ids } });
      expect((await call('/accounts/balance/get', { access_token })).body.accounts).toHaveLength(9);
      expect((await call('/accounts/balance/get', { access_token, options: { account_ids: ids } })).body.accounts).toHaveLength(2);
    });

    it('/accounts/balance/get at Capital One with min_last_updated_datetime', async () => {
      const { access_token } = await linkedItem('ins_128026');
      const balances = await call('/accounts/balance/get', { access_token, options: { min_last_updated_datetime: '2020-01-01T00:00:00Z' } });
      expect((balances.body.accounts as { balances: { last_updated_datetime?: string } }[])[0]?.balances.last_updated_datetime).toMatch(/Z$/);
    });

    it('/item/get, healthy and needing login; /sandbox/item/reset_login; /item/remove', async () => {
      const { access_token } = await linkedItem();
      expect((await call('/item/get', { access_token })).body.item).toMatchObject({ error: null });
      expect((await call('/sandbox/item/reset_login', { access_token })).body.reset_login).toBe(true);
      expect((await call('/item/get', { access_token })).body.item).toMatchObject({ error: { error_code: 'ITEM_LOGIN_REQUIRED' } });
      expect((await call('/item/remove', { access_token, reason_code: 'OTHER', reason_note: 'test' })).status).toBe(200);
    });

    it('/institutions/get_by_id, with and without options', async () => {
      await call('/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });
      const full = await call('/institutions/get_by_id', {
        institution_id: 'ins_132361',
        country_codes: ['US'],
        options: { include_optional_metadata: true, include_status: true },
      });
      expect(full.body.institution).toMatchObject({ status: { item_logins: { status: 'DOWN' } } });
      await call('/institutions/get_by_id', { institution_id: 'ins_43', country_codes: ['CA'] });
    });

    it('/institutions/get: a page, a filtered page, and past the end', async () => {
      const one = await call('/institutions/get', { count: 1, offset: 0, country_codes: ['US'] });
      expect(one.body).toMatchObject({ institutions: [{ institution_id: 'ins_109508' }], total: 8 });
      const filtered = await call('/institutions/get', { count: 500, offset: 0, country_codes: ['US', 'CA'], options: { products: ['liabilities'], oauth: true, include_optional_metadata: true } });
      expect((filtered.body.institutions as { institution_id: string; url: string | null }[]).map((i) => i.institution_id)).toEqual(['ins_127287', 'ins_128026']);
      const canada = await call('/institutions/get', { count: 10, offset: 0, country_codes: ['CA'] });
      expect(canada.body).toMatchObject({ institutions: [{ institution_id: 'ins_43', url: null }], total: 1 });
      expect((await call('/institutions/get', { count: 5, offset: 100, country_codes: ['US'] })).body).toMatchObject({ institutions: [], total: 8 });
    });
  });

  describe('error paths', () => {
    it('credentials: missing and wrong', async () => {
      const bare = await fetch(`${plaid.url}/item/get`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Plaid-Version': spec.apiVersion }, body: '{"access_token":"x"}' });
      const missing = (await bare.json()) as Record<string, unknown>;
      expect(spec.validateResponse('/item/get', bare.status, missing).errors).toEqual([]);
      expect(missing.error_code).toBe('MISSING_FIELDS');
      const wrong = await call('/item/get', { access_token: 'x' }, 'valid', { 'PLAID-SECRET': 'nope' });
      expect([wrong.status, wrong.body.error_code]).toEqual([400, 'INVALID_API_KEYS']);
    });

    it('bodies: unparseable, unknown fields, missing required fields (the spec agrees they are invalid)', async () => {
      await expectError('/accounts/get', '{"access_token":', 400, 'INVALID_BODY', 'invalid');
      await expectError('/accounts/get', { access_token: 'x', acess_token: 'typo' }, 400, 'UNKNOWN_FIELDS', 'invalid');
      await expectError('/link/token/create', { client_name: 'x' }, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/link/token/get', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/sandbox/public_token/create', { institution_id: 'ins_109508' }, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/sandbox/item/reset_login', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/item/public_token/exchange', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/accounts/balance/get', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/accounts/get', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/item/get', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/item/remove', {}, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/institutions/get_by_id', { institution_id: 'ins_109508' }, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/institutions/get', { count: 1, country_codes: ['US'] }, 400, 'MISSING_FIELDS', 'invalid');
      await expectError('/institutions/get', { count: 0, offset: 0, country_codes: ['US'] }, 400, 'INVALID_FIELD', 'invalid');
      await expectError('/institutions/get', { count: 501, offset: 0, country_codes: ['US'] }, 400, 'INVALID_FIELD', 'invalid');
      await expectError('/institutions/get', { count: 1, offset: -1, country_codes: ['US'] }, 400, 'INVALID_FIELD', 'invalid');
      await expectError('/institutions/get', { count: 1, offset: 0, country_codes: [] }, 400, 'INVALID_FIELD', 'invalid');
    });

    it('languages and country codes follow the spec: its CountryCode enum and the languages /link/token/create lists', async () => {
      // Read as text (parsing the whole spec again takes seconds): the CountryCode schema's enum,
      // and the "Supported languages are:" list in LinkTokenCreateRequest.language.
      const text = await readFile(specPath()!, 'utf8');
      const countryBlock = /\n {4}CountryCode:\n([\s\S]*?)\n {6}description:/.exec(text)?.[1] ?? '';
      const enumValues = [...countryBlock.matchAll(/^ {6}- "?([A-Z]{2})"?$/gm)].map((m) => m[1]);
      expect(enumValues.length).toBe(20);
      expect([...COUNTRY_CODES].sort()).toEqual(enumValues.sort());
      const request = text.slice(text.indexOf('\n    LinkTokenCreateRequest:'));
      const described = /Supported languages are:\n([\s\S]*?)\n\n/.exec(request)?.[1] ?? '';
      const listed = [...described.matchAll(/\(`'([a-z]{2})'`\)/g)].map((m) => m[1]);
      expect(listed.length).toBeGreaterThan(10);
      expect([...LANGUAGES].sort()).toEqual(listed.sort());
      await expectError('/link/token/create', { ...linkTokenRequest, language: 'ja' }, 400, 'INVALID_FIELD');
      await expectError('/link/token/create', { ...linkTokenRequest, country_codes: ['JP'] }, 400, 'INVALID_FIELD', 'invalid');
      expect((await call('/link/token/create', { ...linkTokenRequest, language: 'vi', country_codes: ['NO', 'FI'] })).status).toBe(200);
    });

    it('products: balance, none, and unknown country codes', async () => {
      // `balance` is in the Products enum, so the schema accepts what Plaid's API rejects.
      await expectError('/link/token/create', { ...linkTokenRequest, products: ['balance'] }, 400, 'INVALID_FIELD');
      await expectError('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['balance'] }, 400, 'INVALID_FIELD');
      await expectError('/link/token/create', { ...linkTokenRequest, products: undefined }, 400, 'INVALID_FIELD');
      await expectError('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: [] }, 400, 'INVALID_FIELD', 'invalid');
      await expectError('/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['ZZ'] }, 400, 'INVALID_FIELD', 'invalid');
    });

    it('tokens, institutions and accounts that do not exist', async () => {
      const { access_token } = await linkedItem();
      await expectError('/accounts/get', { access_token: 'access-sandbox-00000000-0000-4000-8000-000000000000' }, 400, 'INVALID_ACCESS_TOKEN');
      await expectError('/accounts/get', { access_token: 'access-production-00000000-0000-4000-8000-000000000000' }, 400, 'INVALID_ACCESS_TOKEN');
      await expectError('/item/public_token/exchange', { public_token: 'public-sandbox-00000000-0000-4000-8000-000000000000' }, 400, 'INVALID_PUBLIC_TOKEN');
      await expectError('/link/token/get', { link_token: 'link-sandbox-00000000-0000-4000-8000-000000000000' }, 400, 'INVALID_LINK_TOKEN');
      await expectError('/sandbox/public_token/create', { institution_id: 'ins_999999', initial_products: ['auth'] }, 400, 'INVALID_INSTITUTION');
      await expectError('/institutions/get_by_id', { institution_id: 'ins_999999', country_codes: ['US'] }, 400, 'INVALID_INSTITUTION');
      await expectError('/accounts/balance/get', { access_token, options: { account_ids: ['nope'] } }, 400, 'INVALID_ACCOUNT_ID');
    });

    it('/item/access_token/invalidate: a new token that works, and the old one dead at once', async () => {
      const { access_token, item_id } = await linkedItem();
      const rotated = await call('/item/access_token/invalidate', { access_token });
      const fresh = String(rotated.body.new_access_token);
      expect(fresh).toMatch(/^access-sandbox-/);
      expect(fresh).not.toBe(access_token);
      expect((await call('/item/get', { access_token: fresh })).body.item).toMatchObject({ item_id });
      await expectError('/item/get', { access_token }, 400, 'INVALID_ACCESS_TOKEN');
      await expectError('/item/access_token/invalidate', { access_token }, 400, 'INVALID_ACCESS_TOKEN');
      await expectError('/item/access_token/invalidate', {}, 400, 'MISSING_FIELDS', 'invalid');
    });

    it('item and institution states: login required, institution down, Capital One ranges', async () => {
      const { access_token } = await linkedItem();
      await call('/sandbox/item/reset_login', { access_token });
      await expectError('/accounts/balance/get', { access_token }, 400, 'ITEM_LOGIN_REQUIRED');
      await expectError('/accounts/get', { access_token }, 400, 'ITEM_LOGIN_REQUIRED');
      const down = await linkedItem('ins_132361');
      await expectError('/accounts/balance/get', { access_token: down.access_token }, 400, 'INSTITUTION_DOWN');
      const capitalOne = await linkedItem('ins_128026');
      await expectError('/accounts/balance/get', { access_token: capitalOne.access_token }, 400, 'INVALID_FIELD');
      await expectError('/accounts/balance/get', { access_token: capitalOne.access_token, options: { min_last_updated_datetime: '2999-01-01T00:00:00Z' } }, 400, 'LAST_UPDATED_DATETIME_OUT_OF_RANGE');
      await expectError('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'], options: { override_password: 'error_ITEM_LOCKED' } }, 400, 'ITEM_LOCKED');
    });

    it('rate limits answer 429 RATE_LIMIT_EXCEEDED', async () => {
      const limited = await startEmulator({ rateLimits: { perItem: 2, perClient: 3 } });
      try {
        const post = async (path: string, body: unknown) => {
          const res = await fetch(`${limited.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': spec.apiVersion }, body: JSON.stringify(body) });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        const item = async () => {
          const created = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
          return String((await post('/item/public_token/exchange', { public_token: created.body.public_token })).body.access_token);
        };
        const [a, b] = [await item(), await item()];
        await post('/accounts/balance/get', { access_token: a });
        await post('/accounts/balance/get', { access_token: a });
        const perItem = await post('/accounts/balance/get', { access_token: a });
        await post('/accounts/balance/get', { access_token: b });
        const perClient = await post('/accounts/balance/get', { access_token: b });
        expect([perItem.status, perItem.body.error_code, perClient.status, perClient.body.error_code]).toEqual([429, 'BALANCE_LIMIT', 429, 'ACCOUNTS_BALANCE_GET_LIMIT']);
        expect(contractViolations(spec, limited.requests)).toEqual([]);
      } finally {
        await limited.close();
      }
    });

    it('an unknown path is Plaid-shaped 404 NOT_FOUND', async () => {
      const res = await fetch(`${plaid.url}/accounts/balances/get`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET }, body: '{}' });
      const json = (await res.json()) as Record<string, unknown>;
      expect([res.status, json.error_code, json.error_type]).toEqual([404, 'NOT_FOUND', 'INVALID_REQUEST']);
      // Any endpoint's error schema is PlaidError.
      expect(spec.validateResponse('/item/get', res.status, json).errors).toEqual([]);
      expect(spec.hasPath('/accounts/balances/get')).toBe(false);
    });

    it.each(Object.keys(PLAID_ERRORS))('an injected %s fault is a valid PlaidError with its table status', async (code) => {
      plaid.inject({ path: '/item/get', error_code: code });
      const result = await call('/item/get', { access_token: 'access-sandbox-00000000-0000-4000-8000-000000000000' });
      expect({ status: result.status, code: result.body.error_code }).toEqual({ status: PLAID_ERRORS[code as keyof typeof PLAID_ERRORS].status, code });
    });
  });

  describe('the whole log', () => {
    it('drove every endpoint to a 200 and an error', () => {
      for (const path of Object.keys(ROUTES)) {
        const statuses = plaid.requests.filter((r) => r.path === path).map((r) => r.status);
        expect(statuses, path).toContain(200);
        expect(statuses.some((s) => s >= 400), path).toBe(true);
      }
    });

    it('every response in it conforms, and every request the client meant to be valid does too', () => {
      const wellFormed = plaid.requests.filter((r) => spec.hasPath(r.path) && typeof r.body === 'object' && spec.validateRequest(r.path, r.body).ok && r.headers['plaid-client-id'] && r.headers['plaid-secret']);
      expect(wellFormed.length).toBeGreaterThan(40);
      expect(contractViolations(spec, wellFormed)).toEqual([]);
      // And the checker does catch a non-conforming log.
      const broken = { ...wellFormed[0]!, response: { request_id: 'x' }, status: 200 };
      expect(contractViolations(spec, [broken]).length).toBeGreaterThan(0);
    });
  });
});
