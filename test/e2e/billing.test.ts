/**
 * What Plaid bills, in Production: a real-time balance call is never retried when Plaid may have
 * served (and billed) it; a link with a subscription product says so before Link opens (and asks
 * on a terminal); `items remove --local` warns that the item stays, and bills, at Plaid.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, hostedLinkInProduction, type World } from '../helpers/world.js';

let world: World;

/** `plaidbal link --hosted --env production …`, with the emulator playing the user who finishes Hosted Link. */
async function linkInProduction(alias: string, ...flags: string[]): Promise<{ code: number | null; stderr: string }> {
  const { code, stderr, linkToken } = await hostedLinkInProduction(world, alias, ...flags);
  expect(linkToken, stderr).not.toBeNull();
  return { code, stderr };
}

const balanceCalls = () => world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').length;

beforeAll(async () => {
  world = await createWorld({ environment: 'production' }, {}, { inProcess: true });
  const init = await world.init('passphrase', 'production');
  expect(init.code, init.stderr).toBe(0);
  const linked = await linkInProduction('live');
  expect(linked.code, linked.stderr).toBe(0);
}, 60_000);
afterAll(async () => world.close());
beforeEach(() => world.emulator.clearFaults());

describe('production balance calls: retried only when Plaid cannot have billed them', () => {
  async function balanceFailing(fault: Parameters<World['emulator']['inject']>[0], args: string[] = []): Promise<{ r: CliResult; made: number }> {
    world.emulator.inject({ ...fault, times: Infinity });
    const before = await world.store.snapshot();
    const start = balanceCalls();
    const r = await world.run(['balance', '--item', 'live', ...args]);
    expect(await world.store.snapshot()).toEqual(before);
    expect(r.stdout).toBe('');
    return { r, made: balanceCalls() - start };
  }

  const saysNotRetried = (r: CliResult) => expect(r.stderr.replace(/\s+/g, ' ')).toContain('plaidbal did not retry it: Plaid may have served it, and in Production Plaid bills every real-time balance call it serves.');

  it('a timeout: one call, exit 5, and it says why it was not retried', async () => {
    const { r, made } = await balanceFailing({ path: '/accounts/balance/get', kind: 'hang' }, ['--timeout', '1']);
    expect(r.code, r.stderr).toBe(5);
    expect(made).toBe(1);
    expect(r.stderr).toContain('timed out');
    saysNotRetried(r);
    expect(r.stderr).toContain('another billed call');
  }, 30_000);

  it('a connection reset after the request was sent: one call', async () => {
    const { r, made } = await balanceFailing({ path: '/accounts/balance/get', kind: 'reset' });
    expect(r.code, r.stderr).toBe(5);
    expect(made).toBe(1);
    saysNotRetried(r);
  }, 30_000);

  it("a proxy's 502 page (no Plaid error object): one call", async () => {
    const { r, made } = await balanceFailing({ path: '/accounts/balance/get', kind: 'wrong-content-type' });
    expect(r.code, r.stderr).toBe(5);
    expect(made).toBe(1);
    saysNotRetried(r);
  }, 30_000);

  it('a 5xx with a Plaid error object, and a 429: retried (Plaid bills only successful calls)', async () => {
    const server = await balanceFailing({ path: '/accounts/balance/get', error_code: 'INTERNAL_SERVER_ERROR' });
    expect(server.r.code, server.r.stderr).toBe(5);
    expect(server.made).toBe(4);
    world.emulator.clearFaults();
    const limited = await balanceFailing({ path: '/accounts/balance/get', error_code: 'BALANCE_LIMIT' });
    expect(limited.r.code, limited.r.stderr).toBe(5);
    expect(limited.made).toBe(4);
  }, 30_000);

  it('a refused connection (nothing sent): retried', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const before = await world.store.snapshot();
    const r = await world.run(['--debug', 'balance', '--item', 'live'], { extraEnv: { PLAIDBAL_BASE_URL: `http://127.0.0.1:${port}` } });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr.match(/attempt \d failed; retrying/g)).toHaveLength(3);
    expect(r.stderr).not.toContain('Plaid may have served it');
    expect(await world.store.snapshot()).toEqual(before);
  }, 30_000);
});

describe('link products and what they cost', () => {
  const linkTokenCreates = () => world.emulator.requests.filter((q) => q.path === '/link/token/create');

  it('the default product is auth (a one-time fee), and linking with it asks nothing', async () => {
    const start = linkTokenCreates().length;
    const r = await linkInProduction('plain');
    expect(r.code, r.stderr).toBe(0);
    expect(linkTokenCreates()[start]!.body).toMatchObject({ products: ['auth'] });
    expect(r.stderr).not.toContain('subscription');
  }, 30_000);

  it('a subscription product without a terminal: says so on stderr, and proceeds', async () => {
    const r = await linkInProduction('subscribed', '--products', 'transactions');
    expect(r.code, r.stderr).toBe(0);
    const text = r.stderr.replace(/\s+/g, ' ');
    expect(text).toContain('transactions is a subscription product: Plaid bills the new item for it every month');
    expect(text).toContain('No terminal to ask on: linking with these products anyway');
    // The notice comes before Link opens.
    expect(r.stderr.indexOf('subscription product')).toBeLessThan(r.stderr.indexOf('http'));
  }, 30_000);

  it('--yes: the notice, but no question and no "no terminal" line', async () => {
    const r = await linkInProduction('subscribed-yes', '--products', 'auth,liabilities', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('liabilities is a subscription product');
    expect(r.stderr).not.toContain('No terminal');
  }, 30_000);

  it('on a terminal it asks; "no" exits 8 before any link token is created, and the store is unchanged', async () => {
    const env = { ...world.env };
    delete env.CI;
    const before = await world.store.snapshot();
    const start = linkTokenCreates().length;
    const r = await runInTerminal(['link', '--env', 'production', '--no-browser', '--products', 'transactions'], env, [{ expect: /billed monthly/, send: 'n\r' }]);
    expect(r.code, r.screen).toBe(8);
    expect(stripAnsi(r.screen)).toContain('Nothing was linked.');
    expect(linkTokenCreates().length).toBe(start);
    expect(await world.store.snapshot()).toEqual(before);
  }, 30_000);

  it('link --help states each product\'s billing model, and that balance calls are billed per call', async () => {
    const r = await world.run(['link', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/auth \(default\), identity\s+one-time fee per item/);
    expect(r.stdout).toMatch(/transactions, investments, liabilities\s+subscription: monthly per item/);
    expect(r.stdout).toMatch(/balance \(not a Link product\)\s+per call/);
  });
});

describe('items remove --local in production', () => {
  it('warns that the item stays, and bills, at Plaid, and says how to remove it there', async () => {
    expect((await linkInProduction('billed', '--products', 'transactions', '--yes')).code).toBe(0);
    const removes = () => world.emulator.requests.filter((q) => q.path === '/item/remove').length;
    const start = removes();
    const r = await world.run(['items', 'remove', 'billed', '--local', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stderr.replace(/\s+/g, ' ');
    expect(text).toMatch(/"billed" \(item_id [A-Za-z0-9]{37}\) stays at Plaid after --local: Plaid keeps billing it \(transactions: every month\) until it is removed there/);
    expect(text).toContain('`plaidbal items remove billed` without --local removes it at Plaid first');
    expect(text).toContain('only Plaid Support can remove it');
    expect(removes()).toBe(start);
    const listed = await world.run(['items', '--json']);
    expect(listed.stdout).not.toContain('"billed"');
  }, 30_000);
});
