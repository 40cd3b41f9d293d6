/**
 * Support-staff scale: --all and repeated --item through a bounded pool, 429s retried,
 * one failing item never losing the others, --cached, ndjson and CSV, totals, the JSON
 * Schema in docs/schema, and --min-last-updated.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, type World } from '../helpers/world.js';

const schema = JSON.parse(readFileSync(new URL('../../docs/schema/balance.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

describe('many items', () => {
  let world: World;
  const aliases = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10'];
  beforeAll(async () => {
    world = await createWorld({ rateLimits: { perClient: 1000, perItem: 1000 } }, {}, { inProcess: true });
    expect((await world.init('passphrase')).code).toBe(0);
    for (const alias of aliases) await world.link(alias);
  }, 120_000);
  afterAll(async () => world.close());

  it('--all fetches every item through a pool of --concurrency at a time', async () => {
    world.emulator.setLatency(600, '/accounts/balance/get');
    const before = world.emulator.requests.length;
    const r = await world.run(['balance', '--all', '--json', '--concurrency', '4']);
    world.emulator.setLatency(0, '/accounts/balance/get');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.items.map((i: { name: string }) => i.name)).toEqual(aliases);
    const calls = world.emulator.requests.slice(before).filter((q) => q.path === '/accounts/balance/get');
    expect(calls).toHaveLength(10);
    // As the emulator saw them, every call slowed: at most 4 unanswered at once, and 4 reached.
    expect(Math.max(...calls.map((q) => q.concurrent))).toBe(4);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it('--concurrency 1 is sequential', async () => {
    world.emulator.setLatency(300, '/accounts/balance/get');
    const before = world.emulator.requests.length;
    const r = await world.run(['balance', '--item', 'a1', '--item', 'a2', '--item', 'a3', '--json', '--concurrency', '1']);
    world.emulator.setLatency(0, '/accounts/balance/get');
    expect(r.code).toBe(0);
    // Each call sent after the one before it was answered.
    const calls = world.emulator.requests.slice(before).filter((q) => q.path === '/accounts/balance/get');
    expect(calls.map((q) => q.concurrent)).toEqual([1, 1, 1]);
  });

  it('one failing item (login required, network failure) never loses the others: error rows, error objects, exit 6', async () => {
    expect((await world.run(['sandbox', 'reset-login', 'a2'])).code).toBe(0);
    const json = await world.run(['balance', '--all', '--json']);
    expect(json.code).toBe(6);
    const doc = JSON.parse(json.stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const a2 = doc.items.find((i: { name: string }) => i.name === 'a2');
    expect(a2.error.error_code).toBe('ITEM_LOGIN_REQUIRED');
    expect(doc.items.filter((i: { error: unknown }) => i.error === null)).toHaveLength(9);
    expect(json.stderr).toContain('1 of 10 items failed');

    const table = await world.run(['balance', '--all']);
    expect(table.code).toBe(6);
    expect(table.stdout).toContain('ITEM_LOGIN_REQUIRED');
    expect(table.stdout.match(/Plaid Checking ••0000/g)).toHaveLength(9);

    // A call that hangs until its timeout is that item's failure, not the run's.
    world.emulator.inject({ path: '/accounts/balance/get', kind: 'hang', times: 4 });
    const hung = await world.run(['balance', '--item', 'a1', '--item', 'a3', '--json', '--timeout', '0.5', '--concurrency', '1']);
    expect(hung.code).toBe(6);
    const items = JSON.parse(hung.stdout).items;
    expect(items[0].error).toMatchObject({ error_type: 'PLAIDBAL_NETWORK_ERROR', error_code: 'NETWORK_FAILURE' });
    expect(items[1].error).toBeNull();
  });

  it('429s are retried with backoff', async () => {
    world.emulator.inject({ path: '/accounts/balance/get', status: 429, error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'ACCOUNTS_BALANCE_GET_LIMIT', times: 3 });
    const before = world.emulator.requests.length;
    const r = await world.run(['balance', '--item', 'a1', '--item', 'a3', '--item', 'a4', '--json']);
    expect(r.code).toBe(0);
    const statuses = world.emulator.requests.slice(before).map((q) => q.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
  });

  it('--cached uses the free /accounts/get and says so', async () => {
    const before = world.emulator.requests.length;
    const r = await world.run(['balance', '--item', 'a1', '--cached', '--json']);
    expect(r.code).toBe(0);
    const paths = world.emulator.requests.slice(before).map((q) => q.path);
    expect(paths).toEqual(['/accounts/get']);
    const doc = JSON.parse(r.stdout);
    expect(doc.items[0].balance_source).toBe('cached');
    expect(validate(doc)).toBe(true);
    const table = await world.run(['balance', '--item', 'a1', '--cached']);
    expect(table.stdout).toContain('cached balances');
  });

  it('ndjson: one line per account carrying its item\'s fields', async () => {
    const r = await world.run(['balance', '--item', 'a1', '--item', 'a2', '--format', 'ndjson']);
    expect(r.code).toBe(6);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(10); // 9 accounts of a1, one error line for a2
    expect(lines[0]).toMatchObject({ environment: 'sandbox', item_name: 'a1', institution_name: 'First Platypus Bank', balance_source: 'realtime', account_name: 'Plaid Checking', mask: '0000', available: 100, current: 110, limit: null, iso_currency_code: 'USD', error: null });
    expect(lines[6]).toMatchObject({ account_name: 'Plaid 401k', current: 23631.9805 });
    expect(lines[9]).toMatchObject({ item_name: 'a2', account_id: null, error: { error_code: 'ITEM_LOGIN_REQUIRED' } });
  });

  it('csv follows RFC 4180, with a header row', async () => {
    expect((await world.run(['items', 'rename', 'a3', 'ops,"team"'])).code).toBe(0);
    const r = await world.run(['balance', '--item', 'ops,"team"', '--format', 'csv']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\r\n');
    expect(lines[0]).toBe('environment,fetched_at,item_id,item_name,institution_id,institution_name,request_id,balance_source,account_id,account_name,official_name,mask,type,subtype,available,current,limit,iso_currency_code,unofficial_currency_code,last_updated_datetime,error_code,error_message');
    expect(lines).toHaveLength(11); // header, 9 rows, and the final CRLF
    expect(lines[10]).toBe('');
    expect(lines[1]).toContain(',"ops,""team""",');
    expect(lines[7]).toMatch(/,Plaid 401k,.*,,23631\.9805,,USD,,/);
    expect(r.stdout.replace(/\r\n/g, '')).not.toContain('\n');
    expect((await world.run(['items', 'rename', 'ops,"team"', 'a3'])).code).toBe(0);
  });

  it('the table ends with totals per currency that mean something, summed exactly', async () => {
    const r = await world.run(['balance', '--item', 'a1']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const start = lines.findIndex((l) => /^│ Totals\s+│\s+USD │$/.test(l));
    expect(start, r.stdout).toBeGreaterThan(0);
    const row = (label: string) => lines.slice(start).find((l) => l.startsWith(`│ ${label} `)) ?? `(no ${label} row)`;
    // First Platypus Bank's Sandbox accounts (PLAID-NOTES.md). Cash available: depository available,
    // 100 + 200 + 43200 (the CD's is null). Assets: depository and investment current, 110 + 210 +
    // 1000 + 43200 + 320.76 + 23631.9805. Liabilities: credit and loan current, 410 + 65262 +
    // 56302.06. Net: 68472.7405 − 121974.06. Available credit: the card's limit − current, 2000 − 410.
    expect(row('Cash available')).toMatch(/│\s+\$43,500\.00 │$/);
    expect(row('Assets')).toMatch(/│\s+\$68,472\.7405 │$/);
    expect(row('Liabilities')).toMatch(/│\s+\$121,974\.06 │$/);
    expect(row('Net')).toMatch(/│\s+-\$53,501\.3195 │$/);
    expect(row('Credit limit')).toMatch(/│\s+\$2,000\.00 │$/);
    expect(row('Available credit')).toMatch(/│\s+\$1,590\.00 │$/);
    expect(row('Accounts')).toMatch(/│\s+9 │$/);
    expect(r.stdout).toContain('USD: no figure from Plaid, so left out (not counted as 0): cash available 1 account.');
    // The old meaningless sum of every current balance is gone.
    expect(r.stdout).not.toContain('190,446');
  });

  it('--json and --format must agree; --account needs one item; --all and --item exclude each other', async () => {
    for (const args of [['--json', '--format', 'csv'], ['--all', '--account', 'x'], ['--all', '--item', 'a1'], ['--format', 'xml'], ['--concurrency', '0'], ['--min-last-updated', 'yesterday'], ['--cached', '--min-last-updated', '2026-01-01T00:00:00Z']]) {
      const r = await world.run(['balance', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
  });

  it('shows progress on a terminal only, on stderr', async () => {
    const piped = await world.run(['balance', '--all', '--json']);
    expect(piped.stderr).not.toContain('Fetching balances');
    const env = { ...world.env };
    delete env.CI;
    const tty = await runInTerminal(['balance', '--item', 'a1', '--item', 'a3', '--format', 'ndjson'], env);
    expect(stripAnsi(tty.screen)).toContain('Fetching balances');
  });
});

describe('--min-last-updated (Capital One)', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({}, {}, { inProcess: true });
    expect((await world.init('passphrase')).code).toBe(0);
    await world.link('capone', '--institution', 'ins_128026');
  });
  afterAll(async () => world.close());

  it('passes options.min_last_updated_datetime, normalised to UTC', async () => {
    const r = await world.run(['balance', '--item', 'capone', '--json', '--min-last-updated', '2020-01-01T00:00:00+01:00']);
    expect(r.code, r.stderr).toBe(0);
    expect(world.emulator.requests.at(-1)!.body).toMatchObject({ options: { min_last_updated_datetime: '2019-12-31T23:00:00Z' } });
  });

  it('a date-time that does not exist is refused (exit 2, no call), not moved to one that does', async () => {
    const calls = world.emulator.requests.length;
    for (const bad of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-04-31T12:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:60:00Z', '2026-01-01T00:00:00+24:00']) {
      const r = await world.run(['balance', '--item', 'capone', '--min-last-updated', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`--min-last-updated needs an ISO-8601 date-time with a time zone, such as 2026-11-23T09:00:00Z (got "${bad}").`);
    }
    expect(world.emulator.requests.length).toBe(calls);
    // A leap day that exists is taken.
    const leap = await world.run(['balance', '--item', 'capone', '--json', '--min-last-updated', '2024-02-29T00:00:00Z']);
    expect(leap.code, leap.stderr).toBe(0);
    expect(world.emulator.requests.at(-1)!.body).toMatchObject({ options: { min_last_updated_datetime: '2024-02-29T00:00:00Z' } });
  });

  it('explains LAST_UPDATED_DATETIME_OUT_OF_RANGE', async () => {
    const r = await world.run(['balance', '--item', 'capone', '--min-last-updated', '2999-01-01T00:00:00Z']);
    expect(r.stderr).toContain('LAST_UPDATED_DATETIME_OUT_OF_RANGE');
    expect(r.stderr).toContain('--min-last-updated');
    expect(r.code).toBe(5);
  });
});
