/**
 * The emulator's HTTP behaviour: listening, credentials, bodies, routing, the request log,
 * latency and fault injection.
 */
import { Agent, request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { callPlaid, createSandboxItem, startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator, type RecordedRequest } from '../emulator/index.js';

let plaid: Emulator;
beforeEach(async () => {
  plaid = await startEmulator();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await plaid.close();
});

const NO_SUCH_TOKEN = 'access-sandbox-00000000-0000-4000-8000-000000000000';

describe('listening', () => {
  it('listens on 127.0.0.1 on a port the OS picked', () => {
    expect(plaid.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(plaid.url).port)).toBeGreaterThan(0);
  });

  it('listens on the port asked for, and close() frees it and is idempotent', async () => {
    const port = Number(new URL(plaid.url).port);
    await plaid.close();
    const again = await startEmulator({ port });
    expect(again.url).toBe(`http://127.0.0.1:${port}`);
    await again.close();
    await again.close();
    await expect(fetch(`${again.url}/item/get`, { method: 'POST' })).rejects.toThrow();
  });
});

describe('credentials', () => {
  it('accepts them in the PLAID-CLIENT-ID / PLAID-SECRET headers', async () => {
    const res = await callPlaid(plaid.url, '/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });
    expect(res.status).toBe(200);
  });

  it('accepts them as client_id / secret in the body', async () => {
    const res = await callPlaid(plaid.url, '/institutions/get_by_id', { client_id: TEST_CLIENT_ID, secret: TEST_SECRET, institution_id: 'ins_109508', country_codes: ['US'] }, { credentials: false });
    expect(res.status).toBe(200);
  });

  it('answers missing credentials with INVALID_REQUEST MISSING_FIELDS naming them', async () => {
    const none = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN }, { credentials: false });
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'MISSING_FIELDS', error_message: 'the following required fields are missing: client_id, secret', display_message: null });
    const noSecret = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN }, { credentials: false, headers: { 'PLAID-CLIENT-ID': TEST_CLIENT_ID } });
    expect(noSecret.body.error_message).toBe('the following required fields are missing: secret');
  });

  it.each([
    ['a wrong secret', { 'PLAID-SECRET': 'wrong' }],
    ['a wrong client id', { 'PLAID-CLIENT-ID': 'wrong' }],
  ])('answers %s with 400 INVALID_INPUT INVALID_API_KEYS', async (_, headers) => {
    const res = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN }, { headers });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_type: 'INVALID_INPUT', error_code: 'INVALID_API_KEYS', error_message: 'invalid client_id or secret provided' });
  });

  it('uses the credentials it was started with', async () => {
    const custom = await startEmulator({ clientId: 'abc', secret: 'xyz' });
    try {
      const body = { institution_id: 'ins_109508', country_codes: ['US'] };
      expect((await callPlaid(custom.url, '/institutions/get_by_id', body)).body.error_code).toBe('INVALID_API_KEYS');
      expect((await callPlaid(custom.url, '/institutions/get_by_id', body, { headers: { 'PLAID-CLIENT-ID': 'abc', 'PLAID-SECRET': 'xyz' } })).status).toBe(200);
    } finally {
      await custom.close();
    }
  });
});

describe('bodies and routes', () => {
  it.each([
    ['malformed JSON', '{"access_token":', 'application/json'],
    ['a JSON array', '[]', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['a form body', 'access_token=x', 'application/x-www-form-urlencoded'],
  ])('answers %s with INVALID_BODY', async (_, raw, contentType) => {
    const res = await callPlaid(plaid.url, '/item/get', undefined, { raw, headers: { 'Content-Type': contentType } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'INVALID_BODY', error_message: 'body could not be parsed as JSON' });
  });

  it('answers fields the endpoint does not know with UNKNOWN_FIELDS', async () => {
    const res = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN, acess_token: 'typo', extra: 1 });
    expect(res.body).toMatchObject({ error_code: 'UNKNOWN_FIELDS', error_message: 'the following fields are not recognized by this endpoint: acess_token, extra' });
  });

  it('answers an unknown path with 404 INVALID_REQUEST NOT_FOUND, loudly in the log', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const res = await callPlaid(plaid.url, '/accounts/balances/get', { access_token: NO_SUCH_TOKEN });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error_type: 'INVALID_REQUEST', error_code: 'NOT_FOUND', error_message: 'not found', display_message: null });
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('UNKNOWN ENDPOINT POST /accounts/balances/get');
    expect(plaid.requests.at(-1)).toMatchObject({ path: '/accounts/balances/get', status: 404 });
  });

  it('serves only POST', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const res = await fetch(`${plaid.url}/item/get`);
    expect(res.status).toBe(404);
  });

  it('gives every response its own 15-character alphanumeric request_id', async () => {
    const ok = await callPlaid(plaid.url, '/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });
    const error = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN });
    for (const res of [ok, error]) expect(res.body.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
    expect(ok.body.request_id).not.toBe(error.body.request_id);
  });

  it('sends Plaid error objects with documentation_url and suggested_action, and no webhook-only fields', async () => {
    const res = await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN });
    expect(Object.keys(res.body).sort()).toEqual(['display_message', 'documentation_url', 'error_code', 'error_message', 'error_type', 'request_id', 'suggested_action']);
    expect(res.body.documentation_url).toBe('https://plaid.com/docs/errors/invalid-input/#invalid_access_token');
  });

  it("sends a Date header, as Plaid does, from the emulator's clock", async () => {
    const post = (url: string) => fetch(`${url}/item/get`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    const date = (await post(plaid.url)).headers.get('date')!;
    expect(date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(5_000);
    const skewed = await startEmulator({ clock: () => Date.parse('2031-02-03T04:05:06.789Z') });
    try {
      const res = await post(skewed.url);
      expect(res.status).toBe(400);
      expect(res.headers.get('date')).toBe('Mon, 03 Feb 2031 04:05:06 GMT');
    } finally {
      await skewed.close();
    }
  });

  it('warns once on stderr when Plaid-Version is missing', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const body = { institution_id: 'ins_109508', country_codes: ['US'] };
    await callPlaid(plaid.url, '/institutions/get_by_id', body, { headers: { 'Plaid-Version': '' } });
    await callPlaid(plaid.url, '/institutions/get_by_id', body, { headers: { 'Plaid-Version': '' } });
    await callPlaid(plaid.url, '/institutions/get_by_id', body);
    expect(stderr.mock.calls.filter((c) => String(c[0]).includes('Plaid-Version'))).toHaveLength(1);
  });
});

describe('the request log', () => {
  it('records method, path, headers, parsed body, status, response and time, in order', async () => {
    const before = Date.now();
    await callPlaid(plaid.url, '/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });
    await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN });
    expect(plaid.requests.map((r) => [r.path, r.status])).toEqual([
      ['/institutions/get_by_id', 200],
      ['/item/get', 400],
    ]);
    const [first, second] = plaid.requests as [RecordedRequest, RecordedRequest];
    expect(first.method).toBe('POST');
    expect(first.headers['plaid-client-id']).toBe(TEST_CLIENT_ID);
    expect(first.headers['plaid-version']).toBe('2020-09-14');
    expect(first.body).toEqual({ institution_id: 'ins_109508', country_codes: ['US'] });
    expect(first.response).toMatchObject({ institution: { name: 'First Platypus Bank' } });
    expect(second.response).toMatchObject({ error_code: 'INVALID_ACCESS_TOKEN' });
    expect(first.at).toBeGreaterThanOrEqual(before);
    expect(second.at).toBeGreaterThanOrEqual(first.at);
    expect(first.fault).toBeUndefined();
  });

  it('keeps a body that is not JSON as text', async () => {
    await callPlaid(plaid.url, '/item/get', undefined, { raw: 'not json' });
    expect(plaid.requests[0]?.body).toBe('not json');
  });

  it('counts, per path, the requests still unanswered when each arrives (itself included), a hang among them', async () => {
    const institution = { institution_id: 'ins_109508', country_codes: ['US'] };
    const get = (signal?: AbortSignal) => callPlaid(plaid.url, '/institutions/get_by_id', institution, { signal });
    const held = plaid.holdNext('/institutions/get_by_id');
    const first = get();
    await held.arrived;
    await get(); // answered while the first is held
    await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN }); // another path: a count of its own
    held.release();
    await first;
    await get(); // nothing left unanswered
    plaid.inject({ path: '/institutions/get_by_id', kind: 'hang' });
    const hangArrived = plaid.holdNext('/institutions/get_by_id'); // a hold also tells when a hang arrived
    const giveUp = new AbortController();
    const hanging = get(giveUp.signal);
    await hangArrived.arrived;
    hangArrived.release(); // still unanswered: a hang
    await get(); // while the hang is unanswered
    giveUp.abort();
    await expect(hanging).rejects.toThrow();
    expect(plaid.requests.map((q) => [q.path, q.concurrent])).toEqual([
      ['/institutions/get_by_id', 1],
      ['/institutions/get_by_id', 2],
      ['/item/get', 1],
      ['/institutions/get_by_id', 1],
      ['/institutions/get_by_id', 1],
      ['/institutions/get_by_id', 2],
    ]);
  });

  it('calls onRequest once per request, after the response', async () => {
    const seen: RecordedRequest[] = [];
    const watched = await startEmulator({ onRequest: (r) => seen.push(r) });
    try {
      await callPlaid(watched.url, '/item/get', { access_token: NO_SUCH_TOKEN });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ path: '/item/get', status: 400 });
    } finally {
      await watched.close();
    }
  });
});

describe('error faults', () => {
  const get = () => callPlaid(plaid.url, '/institutions/get_by_id', { institution_id: 'ins_109508', country_codes: ['US'] });

  it('answer the next call with the table defaults for the error_code, then stop', async () => {
    plaid.inject({ path: '/institutions/get_by_id', error_code: 'ITEM_LOCKED' });
    const faulted = await get();
    expect(faulted.status).toBe(400);
    expect(faulted.body).toMatchObject({
      error_type: 'ITEM_ERROR',
      error_code: 'ITEM_LOCKED',
      error_message: "the account is locked. prompt the user to visit the institution's site and unlock their account",
      display_message: expect.stringContaining('locked'),
      documentation_url: 'https://plaid.com/docs/errors/item/#item_locked',
    });
    expect(faulted.body.request_id).toMatch(/^[A-Za-z0-9]{15}$/);
    expect((await get()).status).toBe(200);
    expect(plaid.requests.map((r) => r.fault)).toEqual(['error', undefined]);
  });

  it.each([
    [500, 'INTERNAL_SERVER_ERROR', 'API_ERROR'],
    [503, 'PLANNED_MAINTENANCE', 'API_ERROR'],
    [429, 'RATE_LIMIT', 'RATE_LIMIT_EXCEEDED'],
  ])('with only status %i answer %s', async (status, code, type) => {
    plaid.inject({ path: '/institutions/get_by_id', status });
    const res = await get();
    expect([res.status, res.body.error_code, res.body.error_type]).toEqual([status, code, type]);
  });

  it.each([
    ['RATE_LIMIT_EXCEEDED', 'BALANCE_LIMIT', 429],
    ['INSTITUTION_ERROR', 'INSTITUTION_NOT_RESPONDING', 400],
    ['INVALID_RESULT', 'LAST_UPDATED_DATETIME_OUT_OF_RANGE', 400],
    ['ITEM_ERROR', 'ITEM_LOGIN_REQUIRED', 400],
  ])('use the table status for %s %s (%i)', async (type, code, status) => {
    plaid.inject({ path: '/institutions/get_by_id', error_code: code });
    const res = await get();
    expect([res.status, res.body.error_type, res.body.error_code]).toEqual([status, type, code]);
  });

  it('take overrides, and codes outside the table when error_type is given', async () => {
    plaid.inject({ path: '/institutions/get_by_id', error_code: 'INTERNAL_SERVER_ERROR', status: 502, error_message: 'boom', display_message: 'Try later' });
    plaid.inject({ path: '/institutions/get_by_id', error_code: 'BRAND_NEW_CODE', error_type: 'API_ERROR', status: 500 });
    expect((await get()).body).toMatchObject({ error_code: 'INTERNAL_SERVER_ERROR', error_message: 'boom', display_message: 'Try later' });
    expect(plaid.requests.at(-1)?.status).toBe(502);
    expect((await get()).body).toMatchObject({ error_type: 'API_ERROR', error_code: 'BRAND_NEW_CODE' });
  });

  it('refuse, at inject time, a code outside the table without an error_type', () => {
    expect(() => plaid.inject({ path: '/institutions/get_by_id', error_code: 'NO_SUCH_CODE' })).toThrow(/unknown error_code NO_SUCH_CODE/);
    expect(() => plaid.inject({ path: '/institutions/get_by_id', times: 0 })).toThrow(/times/);
  });

  it('count times per path, run in order, allow Infinity and clear', async () => {
    plaid.inject({ path: '/institutions/get_by_id', status: 500, times: 2 });
    plaid.inject({ path: '/institutions/get_by_id', status: 503 });
    plaid.inject({ path: '/item/get', status: 500, times: Infinity });
    expect([(await get()).status, (await get()).status, (await get()).status, (await get()).status]).toEqual([500, 500, 503, 200]);
    for (let i = 0; i < 5; i++) expect((await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN })).status).toBe(500);
    plaid.clearFaults();
    expect((await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN })).body.error_code).toBe('INVALID_ACCESS_TOKEN');
  });

  it('answer before the endpoint runs, so they change no state', async () => {
    const created = await callPlaid(plaid.url, '/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
    plaid.inject({ path: '/item/public_token/exchange', status: 500 });
    expect((await callPlaid(plaid.url, '/item/public_token/exchange', { public_token: created.body.public_token })).status).toBe(500);
    expect((await callPlaid(plaid.url, '/item/public_token/exchange', { public_token: created.body.public_token })).status).toBe(200);
  });
});

describe('transport faults', () => {
  const target = '/institutions/get_by_id';
  const body = JSON.stringify({ institution_id: 'ins_109508', country_codes: ['US'] });
  const request = (signal?: AbortSignal) =>
    fetch(`${plaid.url}${target}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' }, body, signal });

  it('malformed-json: a 200 application/json body that does not parse', async () => {
    plaid.inject({ path: target, kind: 'malformed-json' });
    const res = await request();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    await expect(res.json()).rejects.toThrow(SyntaxError);
    expect(plaid.requests[0]).toMatchObject({ fault: 'malformed-json', status: 200 });
  });

  it('truncated: the connection drops halfway through the promised body', async () => {
    plaid.inject({ path: target, kind: 'truncated' });
    const res = await request();
    await expect(res.text()).rejects.toThrow();
  });

  it('wrong-content-type: an HTML gateway page', async () => {
    plaid.inject({ path: target, kind: 'wrong-content-type' });
    const res = await request();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('Bad Gateway');
  });

  it('hang: no answer at all, until the client gives up; close() still returns', async () => {
    plaid.inject({ path: target, kind: 'hang' });
    await expect(request(AbortSignal.timeout(300))).rejects.toThrow();
    expect(plaid.requests[0]).toMatchObject({ fault: 'hang', status: 0, response: undefined });
  });

  it('reset: the connection is reset', async () => {
    plaid.inject({ path: target, kind: 'reset' });
    await expect(request()).rejects.toThrow();
    expect((await request()).status).toBe(200);
  });

  describe('keep-alive-race: a kept-alive connection closed by the server as the next request arrives', () => {
    /** One POST through `agent` with node:http, which says whether it reused a connection. */
    const post = (agent: Agent, path: string, payload: unknown) =>
      new Promise<{ status: number | null; code: string | null; reused: boolean; body: Record<string, unknown> | null }>((resolve) => {
        const req = httpRequest(`${plaid.url}${path}`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? null, code: null, reused: req.reusedSocket, body: JSON.parse(text) }));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: null, code: error.code ?? null, reused: req.reusedSocket, body: null }));
        req.end(JSON.stringify(payload));
      });
    const institution = { institution_id: 'ins_109508', country_codes: ['US'] };
    let agent: Agent;
    beforeEach(() => {
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
    });
    afterEach(() => agent.destroy());

    it('resets a request on a reused connection unread, and serves one on a new connection', async () => {
      expect(await post(agent, target, institution)).toMatchObject({ status: 200, reused: false });
      plaid.inject({ path: target, kind: 'keep-alive-race', times: 2 });
      expect(await post(agent, target, institution)).toMatchObject({ status: null, code: 'ECONNRESET', reused: true });
      // The reset connection is gone, so the agent opens a new one: no race there.
      expect(await post(agent, target, institution)).toMatchObject({ status: 200, reused: false });
      expect(plaid.requests.map((q) => [q.reusedConnection, q.fault, q.status])).toEqual([
        [false, undefined, 200],
        [true, 'keep-alive-race', 0],
        [false, undefined, 200],
      ]);
    });

    it('Plaid never read the reset request: a public token sent so can still be exchanged', async () => {
      const created = await post(agent, '/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] });
      expect(created).toMatchObject({ status: 200, reused: false });
      plaid.inject({ path: '/item/public_token/exchange', kind: 'keep-alive-race' });
      const exchange = { public_token: created.body!.public_token };
      expect(await post(agent, '/item/public_token/exchange', exchange)).toMatchObject({ code: 'ECONNRESET', reused: true });
      const again = await post(agent, '/item/public_token/exchange', exchange);
      expect(again).toMatchObject({ status: 200, reused: false });
      expect(again.body!.access_token).toMatch(/^access-sandbox-/);
    });
  });
});

describe('latency', () => {
  const timed = async (path: string, body: unknown) => {
    const started = performance.now();
    await callPlaid(plaid.url, path, body);
    return performance.now() - started;
  };
  const institution = { institution_id: 'ins_109508', country_codes: ['US'] };

  it('latencyMs delays every response', async () => {
    const slow = await startEmulator({ latencyMs: 150 });
    try {
      const started = performance.now();
      await callPlaid(slow.url, '/institutions/get_by_id', institution);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    } finally {
      await slow.close();
    }
  });

  it('setLatency delays one path, or all of them', async () => {
    plaid.setLatency(200, '/institutions/get_by_id');
    expect(await timed('/institutions/get_by_id', institution)).toBeGreaterThanOrEqual(190);
    // Another path is not delayed: far less than that path's latency, made long so that only a
    // delay, not a busy machine, could take it that long.
    plaid.setLatency(10_000, '/institutions/get_by_id');
    expect(await timed('/item/get', { access_token: NO_SUCH_TOKEN })).toBeLessThan(5_000);
    plaid.setLatency(0, '/institutions/get_by_id');
    plaid.setLatency(150);
    expect(await timed('/item/get', { access_token: NO_SUCH_TOKEN })).toBeGreaterThanOrEqual(140);
  });

  it('a fault can carry its own latency', async () => {
    plaid.inject({ path: '/item/get', status: 500, latencyMs: 200 });
    expect(await timed('/item/get', { access_token: NO_SUCH_TOKEN })).toBeGreaterThanOrEqual(190);
  });

  it('holdNext holds the next answer on one path until released, answered and recorded as usual; the others pass', async () => {
    const hold = plaid.holdNext('/institutions/get_by_id');
    let answered = false;
    const held = callPlaid(plaid.url, '/institutions/get_by_id', institution).then((r) => {
      answered = true;
      return r;
    });
    const arrived = await hold.arrived;
    expect(arrived).toMatchObject({ path: '/institutions/get_by_id', status: 200 });
    // Another path, and the next request on the held one, are not held.
    expect((await callPlaid(plaid.url, '/item/get', { access_token: NO_SUCH_TOKEN })).status).toBe(400);
    expect((await callPlaid(plaid.url, '/institutions/get_by_id', institution)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    hold.release();
    expect((await held).body).toMatchObject({ institution: { name: 'First Platypus Bank' } });
  });

  it('close() releases a held answer', async () => {
    const own = await startEmulator();
    own.holdNext('/item/get');
    const held = callPlaid(own.url, '/item/get', { access_token: NO_SUCH_TOKEN }).then(
      () => 'answered',
      () => 'connection closed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await own.close();
    expect(['answered', 'connection closed']).toContain(await held);
  });
});

describe('test helpers', () => {
  it('items() returns copies', async () => {
    const { item_id } = await createSandboxItem(plaid);
    const [copy] = plaid.items();
    copy!.login_required = true;
    copy!.accounts.length = 0;
    expect(plaid.items()[0]).toMatchObject({ item_id, login_required: false });
    expect(plaid.items()[0]!.accounts).toHaveLength(9);
  });

  it('setAccounts and setBalances refuse items and accounts that do not exist', async () => {
    const { item_id } = await createSandboxItem(plaid);
    expect(() => plaid.setAccounts('nope', [])).toThrow(/no item/);
    expect(() => plaid.setBalances(item_id, 'nope', { current: 1 })).toThrow(/no account/);
  });
});
