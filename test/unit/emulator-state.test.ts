/**
 * The emulator's state machine: tokens and items, Link (plain, hosted, update mode), Sandbox
 * users, environments, institutions and /item/get.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { callPlaid, createSandboxItem, startEmulator, type Emulator } from '../emulator/index.js';

const START = Date.parse('2025-03-01T12:00:00Z');
const MINUTE = 60_000;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

let now: number;
let plaid: Emulator;
beforeEach(async () => {
  now = START;
  plaid = await startEmulator({ clock: () => now });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await plaid.close();
});

const post = (path: string, body: unknown) => callPlaid(plaid.url, path, body);
const linkTokenBody = { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'u-1' }, products: ['transactions'] };

describe('public tokens, access tokens, items', () => {
  it('creates a Sandbox item in Plaid formats and exchanges its public token exactly once', async () => {
    const created = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['transactions'] });
    expect(created.status).toBe(200);
    expect(created.body.public_token).toMatch(new RegExp(`^public-sandbox-${UUID}$`));
    const exchanged = await post('/item/public_token/exchange', { public_token: created.body.public_token });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body.access_token).toMatch(new RegExp(`^access-sandbox-${UUID}$`));
    expect(exchanged.body.item_id).toMatch(/^[A-Za-z0-9]{37}$/);
    const again = await post('/item/public_token/exchange', { public_token: created.body.public_token });
    expect([again.status, again.body.error_type, again.body.error_code, again.body.error_message]).toEqual([400, 'INVALID_INPUT', 'INVALID_PUBLIC_TOKEN', 'could not find matching public token']);

    const [item] = plaid.items();
    expect(item).toMatchObject({ item_id: exchanged.body.item_id, access_token: exchanged.body.access_token, institution_id: 'ins_109508', institution_name: 'First Platypus Bank', products: ['transactions'], login_required: false, removed: false, username: 'user_good' });
    expect(item!.accounts.map((a) => a.account_id)).toSatisfy((ids: string[]) => ids.every((id) => /^[A-Za-z0-9]{37}$/.test(id)) && new Set(ids).size === 9);
  });

  it('lets a public token live 30 minutes', async () => {
    const early = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
    const late = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
    now += 29 * MINUTE;
    expect((await post('/item/public_token/exchange', { public_token: early.body.public_token })).status).toBe(200);
    now += 2 * MINUTE;
    const expired = await post('/item/public_token/exchange', { public_token: late.body.public_token });
    expect(expired.body).toMatchObject({ error_code: 'INVALID_PUBLIC_TOKEN', error_message: expect.stringContaining('expired') });
  });

  it('/item/remove makes the access token ITEM_NOT_FOUND everywhere, a second removal included; a rotated-out token is INVALID_ACCESS_TOKEN', async () => {
    const { access_token, item_id } = await createSandboxItem(plaid);
    const removed = await post('/item/remove', { access_token });
    expect(removed.status).toBe(200);
    expect(Object.keys(removed.body)).toEqual(['request_id']);
    for (const path of ['/accounts/get', '/accounts/balance/get', '/item/get', '/item/remove', '/sandbox/item/reset_login']) {
      const res = await post(path, { access_token });
      expect([path, res.status, res.body.error_type, res.body.error_code]).toEqual([path, 400, 'ITEM_ERROR', 'ITEM_NOT_FOUND']);
    }
    expect(plaid.items()).toMatchObject([{ item_id, removed: true }]);
    const other = await createSandboxItem(plaid);
    expect((await post('/item/access_token/invalidate', { access_token: other.access_token })).status).toBe(200);
    const old = await post('/item/get', { access_token: other.access_token });
    expect([old.status, old.body.error_code]).toEqual([400, 'INVALID_ACCESS_TOKEN']);
  });

  it('validates /item/remove reason codes', async () => {
    const { access_token } = await createSandboxItem(plaid);
    expect((await post('/item/remove', { access_token, reason_code: 'BORED' })).body.error_code).toBe('INVALID_FIELD');
    expect((await post('/item/remove', { access_token, reason_code: 'OTHER', reason_note: 'cleanup' })).status).toBe(200);
  });

  it('/item/get describes the item and its products', async () => {
    const { access_token, item_id } = await createSandboxItem(plaid, { initial_products: ['transactions'], options: { webhook: 'https://example.com/hook' } });
    const res = await post('/item/get', { access_token });
    expect(res.status).toBe(200);
    expect(res.body.item).toMatchObject({
      item_id,
      institution_id: 'ins_109508',
      institution_name: 'First Platypus Bank',
      webhook: 'https://example.com/hook',
      error: null,
      products: ['transactions'],
      billed_products: ['transactions'],
      consent_expiration_time: null,
      update_type: 'background',
      created_at: '2025-03-01T12:00:00Z',
    });
    expect(res.body.item.available_products).toContain('balance');
    expect(res.body.item.available_products).not.toContain('transactions');
    expect(res.body.status.transactions).toEqual({ last_successful_update: '2025-03-01T12:00:00Z', last_failed_update: null });
  });
});

describe('validation of /sandbox/public_token/create', () => {
  it.each([
    [{ initial_products: ['auth'] }, 'the following required fields are missing: institution_id'],
    [{}, 'the following required fields are missing: institution_id, initial_products'],
  ])('names missing fields (%j)', async (body, message) => {
    const res = await post('/sandbox/public_token/create', body);
    expect(res.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'MISSING_FIELDS', error_message: message });
  });

  it('rejects balance as an initial product, and an empty product list', async () => {
    const balance = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth', 'balance'] });
    expect(balance.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'INVALID_FIELD', error_message: expect.stringContaining('balance is not a valid product') });
    const none = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: [] });
    expect(none.body).toMatchObject({ error_code: 'INVALID_FIELD', error_message: 'must provide at least one product' });
  });

  it('rejects an institution Sandbox does not have', async () => {
    const res = await post('/sandbox/public_token/create', { institution_id: 'ins_1', initial_products: ['auth'] });
    expect(res.body).toMatchObject({ error_type: 'INVALID_INPUT', error_code: 'INVALID_INSTITUTION' });
  });
});

describe('Sandbox users', () => {
  const create = (options: Record<string, unknown>, institution_id = 'ins_109508') =>
    post('/sandbox/public_token/create', { institution_id, initial_products: ['auth'], options });

  it('a password error_<CODE> fails item creation with that Plaid error', async () => {
    const locked = await create({ override_username: 'user_good', override_password: 'error_ITEM_LOCKED' });
    expect(locked.status).toBe(400);
    expect(locked.body).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', display_message: expect.any(String) });
    const down = await create({ override_password: 'error_INSTITUTION_NOT_RESPONDING' });
    expect(down.body).toMatchObject({ error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_NOT_RESPONDING' });
    expect(plaid.items()).toEqual([]);
  });

  it('error_<CODE> does nothing at an OAuth institution', async () => {
    expect((await create({ override_password: 'error_ITEM_LOCKED' }, 'ins_127287')).status).toBe(200);
  });

  it('a wrong password, or an error code Plaid has no such error for, is INVALID_CREDENTIALS', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect((await create({ override_password: 'pass_bad' })).body.error_code).toBe('INVALID_CREDENTIALS');
    expect((await create({ override_password: 'error_NOT_A_REAL_CODE' })).body.error_code).toBe('INVALID_CREDENTIALS');
  });

  it('user_custom creates the accounts its JSON password describes', async () => {
    const config = {
      override_accounts: [
        { type: 'depository', subtype: 'checking', starting_balance: -42.5, currency: 'EUR', meta: { name: 'Overdrawn', official_name: 'Overdrawn Current Account', mask: '4242' } },
        { type: 'other', subtype: null, starting_balance: 0.25, currency: 'BTC', meta: { name: 'Coins', mask: '01' } },
        { type: 'credit', subtype: 'credit card', starting_balance: 300, meta: { name: 'Card', limit: 1000 } },
        { type: 'depository', subtype: 'savings', starting_balance: 500, force_available_balance: 450 },
        { type: 'loan', subtype: 'student', starting_balance: 9000, has_null_available_balance: true },
      ],
    };
    const { access_token } = await createSandboxItem(plaid, { institution_id: 'ins_109509', options: { override_username: 'user_custom', override_password: JSON.stringify(config) } });
    const res = await post('/accounts/get', { access_token });
    expect(res.body.accounts.map((a: { name: string; mask: string | null; type: string; subtype: string | null; official_name: string | null; balances: unknown }) => [a.name, a.mask, a.type, a.subtype, a.official_name, a.balances])).toEqual([
      ['Overdrawn', '4242', 'depository', 'checking', 'Overdrawn Current Account', { available: -42.5, current: -42.5, limit: null, iso_currency_code: 'EUR', unofficial_currency_code: null }],
      ['Coins', '01', 'other', null, null, { available: null, current: 0.25, limit: null, iso_currency_code: null, unofficial_currency_code: 'BTC' }],
      ['Card', '2222', 'credit', 'credit card', null, { available: 700, current: 300, limit: 1000, iso_currency_code: 'USD', unofficial_currency_code: null }],
      ['Plaid Savings', '3333', 'depository', 'savings', null, { available: 450, current: 500, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null }],
      ['Plaid Student', '4444', 'loan', 'student', null, { available: null, current: 9000, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null }],
    ]);
  });

  it('user_custom honours force_error, and a password that is not JSON is wrong credentials', async () => {
    expect((await create({ override_username: 'user_custom', override_password: JSON.stringify({ force_error: 'ITEM_LOGIN_REQUIRED' }) })).body.error_code).toBe('ITEM_LOGIN_REQUIRED');
    expect((await create({ override_username: 'user_custom', override_password: '{oops' })).body.error_code).toBe('INVALID_CREDENTIALS');
  });
});

describe('/link/token/create and /link/token/get', () => {
  it('creates a link-sandbox token that expires in 4 hours', async () => {
    const res = await post('/link/token/create', linkTokenBody);
    expect(res.status).toBe(200);
    expect(res.body.link_token).toMatch(new RegExp(`^link-sandbox-${UUID}$`));
    expect(res.body.expiration).toBe('2025-03-01T16:00:00Z');
    expect(res.body.hosted_link_url).toBeUndefined();
    const got = await post('/link/token/get', { link_token: res.body.link_token });
    expect(got.body).toMatchObject({
      link_token: res.body.link_token,
      created_at: '2025-03-01T12:00:00Z',
      expiration: '2025-03-01T16:00:00Z',
      link_sessions: [],
      metadata: { initial_products: ['transactions'], country_codes: ['US'], language: 'en', client_name: 'plaidbal', webhook: null, redirect_uri: null },
    });
  });

  it('answers hosted_link with a hosted_link_url on its own origin that lasts 30 minutes (or url_lifetime_seconds)', async () => {
    const hosted = await post('/link/token/create', { ...linkTokenBody, hosted_link: {} });
    expect(hosted.body.hosted_link_url).toMatch(new RegExp(`^${plaid.url}/hl/${UUID}$`));
    expect(hosted.body.expiration).toBe('2025-03-01T12:30:00Z');
    const longer = await post('/link/token/create', { ...linkTokenBody, hosted_link: { url_lifetime_seconds: 3600 } });
    expect(longer.body.expiration).toBe('2025-03-01T13:00:00Z');
  });

  it('names missing required fields, user.client_user_id included', async () => {
    const none = await post('/link/token/create', {});
    expect(none.body).toMatchObject({ error_code: 'MISSING_FIELDS', error_message: 'the following required fields are missing: client_name, language, country_codes, user' });
    const noUserId = await post('/link/token/create', { ...linkTokenBody, user: {} });
    expect(noUserId.body.error_message).toBe('the following required fields are missing: user.client_user_id');
  });

  it.each([
    [{ products: ['balance'] }, /balance is not a valid product/],
    [{ products: [] }, /^must provide at least one product$/],
    [{ products: undefined }, /^must provide at least one product$/],
    [{ products: ['nonsense'] }, /invalid products: nonsense/],
    [{ country_codes: [] }, /country_codes/],
    [{ country_codes: ['XX'] }, /country_codes/],
    [{ language: 'klingon' }, /language/],
    [{ redirect_uri: 'http://example.com/oauth' }, /redirect URI must be configured/],
  ])('answers %j with INVALID_FIELD', async (change, message) => {
    const res = await post('/link/token/create', { ...linkTokenBody, ...change });
    expect([res.status, res.body.error_type, res.body.error_code]).toEqual([400, 'INVALID_REQUEST', 'INVALID_FIELD']);
    expect(res.body.error_message).toMatch(message);
  });

  it('accepts an https or loopback http redirect_uri, or only the registered ones when configured', async () => {
    expect((await post('/link/token/create', { ...linkTokenBody, redirect_uri: 'https://example.com/oauth' })).status).toBe(200);
    expect((await post('/link/token/create', { ...linkTokenBody, redirect_uri: 'http://localhost:8080/oauth' })).status).toBe(200);
    const strict = await startEmulator({ redirectUris: ['https://app.example.com/oauth'] });
    try {
      expect((await callPlaid(strict.url, '/link/token/create', { ...linkTokenBody, redirect_uri: 'https://example.com/oauth' })).body.error_code).toBe('INVALID_FIELD');
      expect((await callPlaid(strict.url, '/link/token/create', { ...linkTokenBody, redirect_uri: 'https://app.example.com/oauth' })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('reports a completed session with its public token, institution and accounts', async () => {
    const { body } = await post('/link/token/create', { ...linkTokenBody, hosted_link: {} });
    const publicToken = plaid.completeLinkSession(body.link_token, { institution_id: 'ins_109511' });
    expect(publicToken).toMatch(/^public-sandbox-/);
    const got = await post('/link/token/get', { link_token: body.link_token });
    const [session] = got.body.link_sessions;
    expect(session.link_session_id).toMatch(new RegExp(`^${UUID}$`));
    expect(session.finished_at).toBe('2025-03-01T12:00:00Z');
    const [result] = session.results.item_add_results;
    expect(result.public_token).toBe(publicToken);
    expect(result.institution).toEqual({ name: 'Tartan Bank', institution_id: 'ins_109511' });
    expect(result.accounts[0]).toMatchObject({ name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking' });
    const exchanged = await post('/item/public_token/exchange', { public_token: publicToken });
    expect(plaid.items()).toMatchObject([{ item_id: exchanged.body.item_id, products: ['transactions'], institution_id: 'ins_109511' }]);
  });

  it('reports sessions that ended in an exit, with or without an error', async () => {
    const { body } = await post('/link/token/create', linkTokenBody);
    expect(plaid.completeLinkSession(body.link_token, { exit: {} })).toBeUndefined();
    expect(plaid.completeLinkSession(body.link_token, { password: 'error_INVALID_CREDENTIALS' })).toBeUndefined();
    expect(plaid.completeLinkSession(body.link_token, { exit: { error_code: 'INSTITUTION_DOWN', institution_id: 'ins_132361' } })).toBeUndefined();
    const sessions = (await post('/link/token/get', { link_token: body.link_token })).body.link_sessions;
    expect(sessions.map((s: { exit: { error: { error_code: string } | null } }) => s.exit.error?.error_code ?? null)).toEqual([null, 'INVALID_CREDENTIALS', 'INSTITUTION_DOWN']);
    expect(sessions[2].exit.metadata.institution).toEqual({ name: 'Unhealthy Platypus Bank – Down', institution_id: 'ins_132361' });
    expect(sessions.every((s: { results: unknown }) => s.results === null)).toBe(true);
    expect(plaid.items()).toEqual([]);
  });

  it("Link with auth lets only checking, savings and cash management accounts into the item; without auth, all; sandbox/public_token/create is not Link", async () => {
    const subtypes = async (publicToken: string) => {
      const exchanged = await post('/item/public_token/exchange', { public_token: publicToken });
      const accounts = (await post('/accounts/get', { access_token: exchanged.body.access_token })).body.accounts as { type: string; subtype: string }[];
      return accounts.map((a) => `${a.type}/${a.subtype}`);
    };
    const auth = await post('/link/token/create', { ...linkTokenBody, products: ['auth'] });
    expect(await subtypes(plaid.completeLinkSession(auth.body.link_token)!)).toEqual(['depository/checking', 'depository/savings']);
    const transactions = await post('/link/token/create', linkTokenBody);
    const all = await subtypes(plaid.completeLinkSession(transactions.body.link_token)!);
    expect(all).toHaveLength(9);
    expect(all).toContain('credit/credit card');
    const created = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
    expect(await subtypes(created.body.public_token)).toEqual(all);
  });

  it('completeLinkSession refuses unknown and expired link tokens', async () => {
    expect(() => plaid.completeLinkSession('link-sandbox-00000000-0000-4000-8000-000000000000')).toThrow(/no link token/);
    const { body } = await post('/link/token/create', linkTokenBody);
    now += 4 * 60 * MINUTE + 1;
    expect(() => plaid.completeLinkSession(body.link_token)).toThrow(/expired/);
  });

  it('answers an unknown link token with INVALID_LINK_TOKEN', async () => {
    const res = await post('/link/token/get', { link_token: 'link-sandbox-00000000-0000-4000-8000-000000000000' });
    expect(res.body).toMatchObject({ error_type: 'INVALID_INPUT', error_code: 'INVALID_LINK_TOKEN' });
  });

  it('serves a Hosted Link page whose form finishes the session', async () => {
    const { body } = await post('/link/token/create', { ...linkTokenBody, hosted_link: {} });
    const page = await fetch(body.hosted_link_url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
    const submitted = await fetch(body.hosted_link_url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'institution_id=ins_109508&username=user_good&password=pass_good&action=submit' });
    expect(await submitted.text()).toContain('data-status="success"');
    const got = await post('/link/token/get', { link_token: body.link_token });
    expect(got.body.link_sessions[0].results.item_add_results[0].public_token).toMatch(/^public-sandbox-/);
    expect(plaid.requests.some((r) => r.path.startsWith('/hl/'))).toBe(false);
  });
});

describe('Link sessions on /link/token/get', () => {
  it('lists a session while the user is in Link (finished_at null), and keeps results six hours after it ends', async () => {
    const created = await post('/link/token/create', { ...linkTokenBody, hosted_link: {} });
    const token = created.body.link_token as string;
    const id = plaid.startLinkSession(token);
    now += 5 * MINUTE;
    let got = await post('/link/token/get', { link_token: token });
    expect(got.body.link_sessions).toEqual([expect.objectContaining({ link_session_id: id, started_at: '2025-03-01T12:00:00Z', finished_at: null, results: null, exit: null })]);

    const publicToken = plaid.completeLinkSession(token);
    got = await post('/link/token/get', { link_token: token });
    expect(got.body.link_sessions).toEqual([expect.objectContaining({ link_session_id: id, finished_at: '2025-03-01T12:05:00Z' })]);
    expect(got.body.link_sessions[0].results.item_add_results[0].public_token).toBe(publicToken);

    now += 6 * 60 * MINUTE; // exactly six hours after it ended: still there
    expect((await post('/link/token/get', { link_token: token })).body.link_sessions).toHaveLength(1);
    now += 1_000;
    expect((await post('/link/token/get', { link_token: token })).body.link_sessions).toEqual([]);
  });

  it('opening the Hosted Link URL starts a session', async () => {
    const created = await post('/link/token/create', { ...linkTokenBody, hosted_link: {} });
    const page = await fetch(created.body.hosted_link_url as string);
    expect(page.status).toBe(200);
    const got = await post('/link/token/get', { link_token: created.body.link_token });
    expect(got.body.link_sessions).toEqual([expect.objectContaining({ finished_at: null })]);
  });
});

describe('reset_login and update mode', () => {
  it('ITEM_LOGIN_REQUIRED until a completed update-mode session repairs the same item', async () => {
    const { access_token, item_id } = await createSandboxItem(plaid);
    const reset = await post('/sandbox/item/reset_login', { access_token });
    expect(reset.body.reset_login).toBe(true);

    for (const path of ['/accounts/get', '/accounts/balance/get']) {
      const res = await post(path, { access_token });
      expect([path, res.status, res.body.error_type, res.body.error_code]).toEqual([path, 400, 'ITEM_ERROR', 'ITEM_LOGIN_REQUIRED']);
      expect(res.body.error_message).toContain("use Link's update mode");
    }
    const item = await post('/item/get', { access_token });
    expect(item.status).toBe(200);
    expect(item.body.item.error).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', status: 400 });
    expect(plaid.items()[0]!.login_required).toBe(true);

    const update = await post('/link/token/create', { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'u-1' }, access_token });
    expect(update.status).toBe(200);
    expect(update.body.expiration).toBe('2025-03-01T12:30:00Z');
    const publicToken = plaid.completeLinkSession(update.body.link_token);
    expect(publicToken).toMatch(/^public-sandbox-/);
    const got = await post('/link/token/get', { link_token: update.body.link_token });
    // Update mode adds no Item, so /link/token/get lists no Item add: the session is finished, with no exit.
    expect(got.body.link_sessions).toEqual([expect.objectContaining({ finished_at: '2025-03-01T12:00:00Z', exit: null, results: expect.objectContaining({ item_add_results: [] }) })]);
    expect(got.body.metadata.initial_products).toEqual([]);

    expect((await post('/accounts/balance/get', { access_token })).status).toBe(200);
    expect((await post('/item/get', { access_token })).body.item.error).toBeNull();
    expect(plaid.items()).toMatchObject([{ item_id, access_token, login_required: false }]);
    // Exchanging the update-mode public token is optional and yields the same item.
    expect((await post('/item/public_token/exchange', { public_token: publicToken })).body).toMatchObject({ access_token, item_id });
  });

  it('update mode needs a valid access token', async () => {
    const res = await post('/link/token/create', { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'u-1' }, access_token: 'access-sandbox-00000000-0000-4000-8000-000000000000' });
    expect(res.body.error_code).toBe('INVALID_ACCESS_TOKEN');
  });

  it('a failed update-mode session leaves the item needing login', async () => {
    const { access_token } = await createSandboxItem(plaid);
    await post('/sandbox/item/reset_login', { access_token });
    const update = await post('/link/token/create', { client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'u-1' }, access_token });
    expect(plaid.completeLinkSession(update.body.link_token, { password: 'error_INVALID_CREDENTIALS' })).toBeUndefined();
    expect((await post('/accounts/get', { access_token })).body.error_code).toBe('ITEM_LOGIN_REQUIRED');
  });
});

describe('environments', () => {
  it('answers tokens of another environment, or malformed ones, with the environment in the message', async () => {
    const production = await post('/accounts/get', { access_token: 'access-production-00000000-0000-4000-8000-000000000000' });
    expect(production.body).toMatchObject({ error_code: 'INVALID_ACCESS_TOKEN', error_message: 'provided access token is for the wrong Plaid environment. expected "sandbox", got "production"' });
    const publicToken = await post('/item/public_token/exchange', { public_token: 'public-development-00000000-0000-4000-8000-000000000000' });
    expect(publicToken.body).toMatchObject({ error_code: 'INVALID_PUBLIC_TOKEN', error_message: expect.stringContaining('expected "sandbox", got "development"') });
    const malformed = await post('/accounts/get', { access_token: 'not-a-token' });
    expect(malformed.body).toMatchObject({ error_code: 'INVALID_ACCESS_TOKEN', error_message: expect.stringContaining('invalid format') });
  });

  it('a production emulator hands out -production- tokens and has no /sandbox/* endpoints', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const prod = await startEmulator({ environment: 'production' });
    try {
      const sandboxOnly = await callPlaid(prod.url, '/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
      expect([sandboxOnly.status, sandboxOnly.body.error_code]).toEqual([404, 'NOT_FOUND']);
      const link = await callPlaid(prod.url, '/link/token/create', linkTokenBody);
      expect(link.body.link_token).toMatch(/^link-production-/);
      const publicToken = prod.completeLinkSession(link.body.link_token)!;
      expect(publicToken).toMatch(/^public-production-/);
      const exchanged = await callPlaid(prod.url, '/item/public_token/exchange', { public_token: publicToken });
      expect(exchanged.body.access_token).toMatch(/^access-production-/);
      const sandboxToken = await callPlaid(prod.url, '/accounts/get', { access_token: 'access-sandbox-00000000-0000-4000-8000-000000000000' });
      expect(sandboxToken.body.error_message).toBe('provided access token is for the wrong Plaid environment. expected "production", got "sandbox"');
    } finally {
      await prod.close();
    }
  });
});

describe('/institutions/get_by_id', () => {
  it('describes a Sandbox institution', async () => {
    const res = await post('/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });
    expect(res.body.institution).toMatchObject({ institution_id: 'ins_109508', name: 'First Platypus Bank', country_codes: ['US'], oauth: false, url: null, logo: null });
    expect(res.body.institution.products).toContain('balance');
    expect(res.body.institution.routing_numbers).toEqual(expect.any(Array));
    expect(res.body.institution.status).toBeUndefined();
  });

  it('knows OAuth, Canadian and unhealthy institutions, with status and metadata on request', async () => {
    expect((await post('/institutions/get_by_id', { institution_id: 'ins_127287', country_codes: ['US'] })).body.institution.oauth).toBe(true);
    expect((await post('/institutions/get_by_id', { institution_id: 'ins_43', country_codes: ['CA'] })).body.institution.name).toBe('Tartan-Dominion Bank of Canada');
    const degraded = await post('/institutions/get_by_id', { institution_id: 'ins_132363', country_codes: ['US'], options: { include_status: true, include_optional_metadata: true } });
    expect(degraded.body.institution.status.item_logins.status).toBe('DEGRADED');
    expect(degraded.body.institution.url).toEqual(expect.any(String));
  });

  it('needs country_codes, and an institution in one of them', async () => {
    expect((await post('/institutions/get_by_id', { institution_id: 'ins_109508' })).body).toMatchObject({ error_code: 'MISSING_FIELDS', error_message: 'the following required fields are missing: country_codes' });
    expect((await post('/institutions/get_by_id', { institution_id: 'ins_43', country_codes: ['US'] })).body.error_code).toBe('INVALID_INSTITUTION');
    expect((await post('/institutions/get_by_id', { institution_id: 'ins_0', country_codes: ['US'] })).body.error_code).toBe('INVALID_INSTITUTION');
  });
});
