/**
 * `plaidbal link --hosted` end to end: the built CLI creates a Hosted Link token, prints
 * the hosted_link_url, and polls /link/token/get; the "user" finishes (or leaves) Link
 * through Emulator.completeLinkSession, or through the emulator's Hosted Link form.
 */
import type { LightChild } from '../helpers/spawner.js';
import { readFile } from 'node:fs/promises';
import { it as base, describe } from 'vitest';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { createWorld, PASSPHRASE, printed, TEST_SECRET, type World } from '../helpers/world.js';

/**
 * Each test has a world of its own (an emulator and a store with `config init` done) and the
 * `plaidbal link --hosted` processes it started (`running`, killed after it), and the tests run
 * concurrently (describe.concurrent): this file mostly waits for polls, timeouts and spawned
 * processes. A concurrent test asserts with its own `expect`.
 */
const it = base.extend<{ world: World; running: LightChild[] }>({
  world: async ({ task }, use) => {
    // The test's own expect (a fixture cannot name `expect` among its dependencies): this assertion counts as the test's.
    const { expect } = task.context;
    const world = await createWorld();
    try {
      expect((await world.init('passphrase')).code).toBe(0);
      await use(world);
    } finally {
      await world.close();
    }
  },
  // Set up after the world and torn down before it: the processes go first, then the world.
  running: async ({ world: _world }, use) => {
    const running: LightChild[] = [];
    try {
      await use(running);
    } finally {
      killLeftovers(running);
    }
  },
});

/** Kills the test's `link --hosted` processes that are still running. */
function killLeftovers(running: LightChild[]): void {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Spawns `plaidbal link --hosted …` (recorded in `running`); its `url` is the hosted_link_url, once the CLI is waiting. */
function startHosted(world: World, running: LightChild[], args: string[]): RunningCli {
  const hostedUrl = new RegExp(`${world.emulator.url.replace(/[.]/g, '\\.')}/hl/[0-9a-f-]{36}`);
  const run = startCli(['link', '--hosted', ...args], world.env, { url: hostedUrl, after: 'Waiting for Plaid Link', what: 'a Hosted Link URL' });
  running.push(run.child);
  return run;
}

function hostedCreate(world: World): { linkToken: string; hostedUrl: string; body: Record<string, unknown> } {
  const created = world.emulator.requests.filter((q) => q.path === '/link/token/create' && q.status === 200).at(-1);
  if (!created) throw new Error('no /link/token/create in the emulator log');
  const response = created.response as { link_token: string; hosted_link_url: string };
  return { linkToken: response.link_token, hostedUrl: response.hosted_link_url, body: created.body as Record<string, unknown> };
}

const polls = (world: World, linkToken: string) => world.emulator.requests.filter((q) => q.path === '/link/token/get' && (q.body as { link_token?: string }).link_token === linkToken);
const paths = (world: World) => world.emulator.requests.map((q) => q.path);

function secretsIn(world: World, text: string): string[] {
  const tokens = world.emulator.items().map((i) => i.access_token);
  return [TEST_SECRET, PASSPHRASE, ...tokens].filter((s) => text.includes(s));
}

describe.concurrent('plaidbal link --hosted', () => {
  it('prints the hosted_link_url, polls /link/token/get, then exchanges and saves (--json)', async ({ world, running, expect }) => {
    const run = startHosted(world, running, ['--no-browser', '--name', 'hosted', '--json']);
    const url = await run.url;
    const { linkToken, hostedUrl, body } = hostedCreate(world);
    expect(url).toBe(hostedUrl);
    expect(body).toMatchObject({ hosted_link: {}, products: ['auth'] });
    expect(run.stderr()).toContain('Open this Plaid Hosted Link URL on any device to link an account (Sandbox)');

    // Let it poll at least once with nothing to report, then "finish Link".
    await expect.poll(() => polls(world, linkToken).length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    const publicToken = world.emulator.completeLinkSession(linkToken, { institution_id: 'ins_109511' })!;
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);

    const json = JSON.parse(r.stdout);
    expect(json.item).toMatchObject({ alias: 'hosted', environment: 'sandbox', institution_id: 'ins_109511', institution_name: 'Tartan Bank' });
    expect(json.accounts.map((a: { name: string }) => a.name)).toContain('Plaid Checking');
    expect(json.item).not.toHaveProperty('access_token');
    expect(world.emulator.requests.find((q) => q.path === '/item/public_token/exchange')?.body).toMatchObject({ public_token: publicToken });
    expect(polls(world, linkToken).length).toBeGreaterThanOrEqual(2);
    // Every poll carries the link token only.
    for (const poll of polls(world, linkToken)) expect(Object.keys(poll.body as object)).toEqual(['link_token']);
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    expect(doc.items.map((i: { alias: string }) => i.alias)).toEqual(['hosted']);
    expect(secretsIn(world, printed(r))).toEqual([]);
  });

  it('works through the Hosted Link page itself (a real form post, no test hook)', async ({ world, running, expect }) => {
    const run = startHosted(world, running, ['--no-browser']);
    const url = await run.url;
    const form = await fetch(url);
    expect(await form.text()).toContain('Continue');
    const submitted = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'institution_id=ins_109508&username=user_good&password=pass_good&action=submit' });
    expect(await submitted.text()).toContain('data-status="success"');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Linked First Platypus Bank as "first-platypus-bank"');
  });

  it('an exit with an error prints Plaid\'s fields and link_session_id, exits 4, saves nothing', async ({ world, running, expect }) => {
    const before = await world.store.snapshot();
    const run = startHosted(world, running, ['--no-browser']);
    await run.url;
    const { linkToken } = hostedCreate(world);
    world.emulator.completeLinkSession(linkToken, { password: 'error_ITEM_LOCKED' });
    const r = await run.done;
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error_code:      ITEM_LOCKED');
    expect(r.stderr).toContain('error_type:      ITEM_ERROR');
    expect(r.stderr).toMatch(/error_message:\s+\S/);
    expect(r.stderr).toMatch(/request_id:\s+[A-Za-z0-9]{15}/);
    expect(r.stderr).toMatch(/link_session_id [0-9a-f-]{36}/);
    expect(await world.store.snapshot()).toEqual(before);
    expect(paths(world)).not.toContain('/item/public_token/exchange');
  });

  it('the user leaving Link exits 8', async ({ world, running, expect }) => {
    const before = await world.store.snapshot();
    const run = startHosted(world, running, ['--no-browser']);
    await run.url;
    world.emulator.completeLinkSession(hostedCreate(world).linkToken, { exit: {} });
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('Plaid Link was closed before an account was linked');
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('--timeout gives up with exit 8 after polling, and saves nothing', async ({ world, running, expect }) => {
    const before = await world.store.snapshot();
    const started = Date.now();
    const run = startHosted(world, running, ['--no-browser', '--timeout', '3']);
    await run.url;
    const { linkToken } = hostedCreate(world);
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(r.stderr).toContain('Gave up waiting for Plaid Link after 3 s. Nothing was saved.');
    // Polled at the start, every 2 s, and once more at the deadline.
    expect(polls(world, linkToken).length).toBeGreaterThanOrEqual(2);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('polls that fail (429) come less often, and the wait still ends at --timeout as a timeout (exit 8), naming the failure', async ({ world, running, expect }) => {
    const before = await world.store.snapshot();
    const started = Date.now();
    const run = startHosted(world, running, ['--no-browser', '--timeout', '12']);
    await run.url;
    const { linkToken } = hostedCreate(world);
    // Plaid's rate limit on every poll from now on (RATE_LIMIT_EXCEEDED / RATE_LIMIT, HTTP 429).
    world.emulator.inject({ path: '/link/token/get', status: 429, times: Infinity });
    const r = await run.done;
    world.emulator.clearFaults();
    expect(r.code, r.stderr).toBe(8);
    expect(Date.now() - started).toBeGreaterThanOrEqual(12_000);
    expect(r.stderr).toContain('Gave up waiting for Plaid Link after 12 s. Nothing was saved.');
    expect(r.stderr).toMatch(/The last \d+ checks on Link failed \([^)]*RATE_LIMIT/);
    expect(r.stderr).toContain('still trying, less often while it fails');
    // Every 2 s, they would be 6 or 7; each pause after a failure is twice the one before (4 s,
    // 8 s), except the last, which the deadline cuts short: the wait ends with one more check.
    const failed = polls(world, linkToken).filter((q) => q.status === 429);
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.length).toBeLessThanOrEqual(4);
    const gaps = failed.slice(1).map((q, n) => q.at - failed[n]!.at);
    for (const [n, gap] of gaps.slice(0, -1).entries()) expect(gap).toBeGreaterThanOrEqual(2 ** (n + 2) * 1000 - 200);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('a Hosted Link URL that expires ends the wait as expired (exit 8), with the command to start again', async ({ world: usual, running, expect }) => {
    await usual.close();
    // The emulator's clock runs 30 min less 3 s behind: the Hosted Link URL expires 3 s from now.
    const world = await createWorld({ clock: () => Date.now() - (30 * 60_000 - 3_000) });
    try {
      expect((await world.init('passphrase')).code).toBe(0);
      const before = await world.store.snapshot();
      const run = startHosted(world, running, ['--no-browser']);
      await run.url;
      expect(run.stderr()).toMatch(/gives up after \d s, when the link token expires\)/);
      const r = await run.done;
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(/The link token expired at \S+Z: Plaid Link can no longer finish this session\. Nothing was saved\. Anything finished at the Hosted Link URL from now on is not saved\./);
      expect(r.stderr).toContain('Start again with `plaidbal link --hosted`.');
      expect(await world.store.snapshot()).toEqual(before);
    } finally {
      // As the fixture does after each test: the processes first, then the world. (It closes the usual
      // world again, which does nothing the second time: Emulator.close and TempStore.cleanup are idempotent.)
      killLeftovers(running);
      await world.close();
    }
  });

  it('--timeout cannot outlive a Hosted Link URL: capped at its 30 minutes, and says so', async ({ world, running, expect }) => {
    const run = startHosted(world, running, ['--no-browser', '--timeout', '3600']);
    await run.url;
    expect(run.stderr()).toMatch(/gives up after (30 min|29 min 59 s), when the link token expires\)/);
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
  });

  it('Ctrl-C stops polling with exit 130, also in the middle of a poll', async ({ world, running, expect }) => {
    const before = await world.store.snapshot();
    // A slow /link/token/get makes the SIGINT land while a poll is in flight.
    world.emulator.setLatency(1_500, '/link/token/get');
    const run = startHosted(world, running, ['--no-browser']);
    await run.url;
    run.child.kill('SIGINT');
    const r = await run.done;
    world.emulator.setLatency(0, '/link/token/get');
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Interrupted. Nothing was saved.');
    const count = world.emulator.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(world.emulator.requests.length).toBe(count);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('--update works with Hosted Link: done when the session finishes with no exit, even with no public token; /item/get confirms', async ({ world, running, expect }) => {
    await world.link('demo');
    // A balance records when it was fetched (in the store's balance log, not in store.json).
    expect((await world.runInProcess(['balance', '--item', 'demo'])).code).toBe(0);
    expect((await world.run(['sandbox', 'reset-login', 'demo'])).code).toBe(0);
    const before = await world.store.snapshot();
    const [item] = world.emulator.items();
    const run = startHosted(world, running, ['--update', 'demo', '--no-browser', '--json', '--timeout', '30']);
    await run.url;
    const { linkToken, body } = hostedCreate(world);
    expect(body).toMatchObject({ hosted_link: {}, access_token: item!.access_token });
    expect(body).not.toHaveProperty('products');
    // The user opens the URL: the session is listed in progress, which counts for nothing yet.
    world.emulator.startLinkSession(linkToken);
    const seen = polls(world, linkToken).length;
    while (polls(world, linkToken).length < seen + 2) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(run.child.exitCode).toBeNull();
    // Update mode finishes with no public token listed (the emulator lists no Item add, as Plaid may not).
    world.emulator.completeLinkSession(linkToken);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ item: { alias: 'demo', item_id: item!.item_id, environment: 'sandbox' }, updated: true, item_error: null });
    // The item as `items --json` gives it, last_balance_at included.
    const listed = JSON.parse((await world.runInProcess(['items', '--json'])).stdout).items[0];
    expect(listed.last_balance_at).toEqual(expect.any(String));
    expect(JSON.parse(r.stdout).item).toEqual(listed);
    expect(r.stdout).not.toContain('access_token');
    expect(r.stderr).toContain('to reconnect "demo"');
    expect(paths(world)).toContain('/item/get');
    expect(paths(world).filter((p) => p === '/item/public_token/exchange')).toHaveLength(1); // only link --sandbox's
    expect(await world.store.snapshot()).toEqual(before);
    expect((await world.run(['balance', '--item', 'demo'])).code).toBe(0);
    expect(secretsIn(world, printed(r))).toEqual([]);
  });
});
