/**
 * Production: items linked there (through Hosted Link, as a Production item must be linked
 * by its owner), the cost guard before several billed balance calls, and items never
 * crossing environments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, hostedLinkInProduction, type World } from '../helpers/world.js';

let world: World;

/** `plaidbal link --hosted --env production`, with the emulator playing the user who finishes Hosted Link. */
async function linkInProduction(alias: string): Promise<void> {
  const { code, stderr, linkToken, publicToken } = await hostedLinkInProduction(world, alias);
  expect(linkToken, stderr).toMatch(/^link-production-/);
  expect(publicToken).toMatch(/^public-production-/);
  expect(code, stderr).toBe(0);
}

describe('production', () => {
  beforeAll(async () => {
    world = await createWorld({ environment: 'production' });
    const init = await world.init('passphrase', 'production');
    expect(init.code, init.stderr).toBe(0);
    await linkInProduction('live1');
    await linkInProduction('live2');
  }, 90_000);
  afterAll(async () => world.close());

  const balanceCalls = () => world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').length;

  it('link --sandbox is refused in production', async () => {
    const r = await world.run(['link', '--sandbox', '--env', 'production']);
    expect(r.code).toBe(2);
  });

  it('on a terminal, asks before several billed calls; "no" fetches nothing and exits 8', async () => {
    const env = { ...world.env };
    delete env.CI;
    const before = balanceCalls();
    const r = await runInTerminal(['balance', '--all'], env, [{ expect: /2 real-time balance calls in production, each billed by Plaid/, send: 'n\r' }]);
    expect(r.code).toBe(8);
    expect(stripAnsi(r.screen)).toContain('Nothing was fetched');
    expect(balanceCalls()).toBe(before);
  });

  it('"yes" on the terminal, or --yes, fetches', async () => {
    const env = { ...world.env };
    delete env.CI;
    const before = balanceCalls();
    const r = await runInTerminal(['balance', '--all'], env, [{ expect: /billed by Plaid/, send: 'y\r' }]);
    expect(r.code).toBe(0);
    expect(balanceCalls()).toBe(before + 2);
    const flagged = await runInTerminal(['balance', '--all', '--yes'], env);
    expect(flagged.code).toBe(0);
    expect(stripAnsi(flagged.screen)).not.toContain('billed by Plaid');
    expect(balanceCalls()).toBe(before + 4);
  });

  it('without a terminal it proceeds, so scripts work; --cached and a single item never ask', async () => {
    const before = balanceCalls();
    const r = await world.run(['balance', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).environment).toBe('production');
    expect(balanceCalls()).toBe(before + 2);
    const env = { ...world.env };
    delete env.CI;
    const single = await runInTerminal(['balance', '--item', 'live1'], env);
    expect(single.code).toBe(0);
    const cached = await runInTerminal(['balance', '--all', '--cached'], env);
    expect(cached.code).toBe(0);
    expect(stripAnsi(cached.screen)).not.toContain('billed by Plaid');
  });

  it('a production item is never sent to Sandbox: --env sandbox finds no such item', async () => {
    const r = await world.run(['balance', '--item', 'live1', '--env', 'sandbox']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"live1" is linked in production, not in sandbox.');
    const status = await world.run(['sandbox', 'reset-login', 'live1']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('exists only in Sandbox');
  });
});
