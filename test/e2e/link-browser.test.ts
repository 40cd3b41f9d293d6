/**
 * `plaidbal link` end to end: the built CLI, spawned with --no-browser, prints the local
 * page's URL; headless Chromium opens it; Plaid's script is the stand-in from
 * test/helpers/browser.ts, handed a public token the emulator really issued
 * (Emulator.completeLinkSession on the link token the CLI created).
 */
import type { LightChild } from '../helpers/spawner.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIRST_PLATYPUS, SANDBOX_ACCOUNTS, SharedContext, launchChromium, routePlaidLinkStandIn, standInRecord, waitForLinkOpen, waitInPage, type PlaidLinkBehaviour, type StandInTraffic } from '../helpers/browser.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, PASSPHRASE, printed, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

const PAGE_URL = /http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}\//;
const STAND_IN_SESSION = '79e772be-547d-4c9c-8b76-4ac4ed4c441a';
const STAND_IN_REQUEST_ID = 'Xq1Jk7Vn3LpZ8sQ';

let world: World;
let launching: Promise<Browser> | undefined;
let sharing: Promise<SharedContext> | undefined;
/** The page of the current test: every test ends with zero CSP violations and zero page errors. */
let opened: { page: Page; pageErrors: string[] } | undefined;
const running: LightChild[] = [];

declare const window: Record<string, unknown>;
declare const document: {
  addEventListener(type: 'securitypolicyviolation', listener: (e: { effectiveDirective: string; blockedURI: string }) => void): void;
  querySelector(selectors: string): { textContent: string | null } | null;
};

// Launched on first use: a missing Chromium fails every test with the install hint.
const browser = (): Promise<Browser> => (launching ??= launchChromium());
// One context for the file, a page per test (SharedContext says why and what that changes).
const shared = (): Promise<SharedContext> => (sharing ??= browser().then((b) => SharedContext.start(b)));

beforeEach(async () => {
  world = await createWorld();
  expect((await world.init('passphrase')).code).toBe(0);
});
afterEach(async () => {
  const checked = opened;
  opened = undefined;
  if (checked) {
    if (!checked.page.isClosed()) expect(await checked.page.evaluate(() => window.__violations)).toEqual([]);
    expect(checked.pageErrors).toEqual([]);
  }
  await sharing?.then((c) => c.closePages(), () => {});
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await world.close();
});
afterAll(async () => {
  await launching?.then((b) => b.close(), () => {});
});

/** Spawns `plaidbal link …`; its `url` is the local page's, once the whole banner is out. */
function startLink(args: string[], extraEnv: NodeJS.ProcessEnv = {}): RunningCli {
  const run = startCli(['link', ...args], { ...world.env, ...extraEnv }, { url: PAGE_URL, after: 'Waiting for Plaid Link', what: 'a page URL' });
  running.push(run.child);
  return run;
}

/** The link token of the latest successful /link/token/create, as the emulator answered it. */
function latestLinkToken(): { linkToken: string; body: Record<string, unknown> } {
  const created = world.emulator.requests.filter((q) => q.path === '/link/token/create' && q.status === 200).at(-1);
  if (!created) throw new Error('no /link/token/create in the emulator log');
  return { linkToken: (created.response as { link_token: string }).link_token, body: created.body as Record<string, unknown> };
}

/** Opens the CLI's page in Chromium with the stand-in for Plaid's script; nothing else may leave 127.0.0.1. */
async function openPage(url: string, behaviour: PlaidLinkBehaviour): Promise<{ page: Page; external: string[]; traffic: StandInTraffic; html: string }> {
  const { page, external } = await (await shared()).newPage(['127.0.0.1']);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.addInitScript(() => {
    const seen: Array<{ directive: string; blocked: string }> = [];
    window.__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  });
  const traffic = await routePlaidLinkStandIn(page, behaviour);
  opened = { page, pageErrors };
  // The page as the server sent it. Only this browser may fetch it: the first client to open the
  // page claims the session (src/link/server.ts), so the test does not fetch it on its own first.
  const response = await page.goto(url);
  return { page, external, traffic, html: (await response?.text()) ?? '' };
}

async function pageState(page: Page, state: string): Promise<string> {
  const main = await waitInPage(page, (wanted) => document.querySelector(`main[data-state="${wanted}"]`) !== null && { text: document.querySelector('main')!.textContent ?? '' }, state);
  return main.text;
}

/** Resolves once nothing listens at `url` any more. */
async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

/** Secrets found in `text`: the Plaid secret, the passphrase and every access token. */
function secretsIn(text: string): string[] {
  const tokens = world.emulator.items().map((i) => i.access_token);
  return [TEST_SECRET, PASSPHRASE, ...tokens].filter((s) => text.includes(s));
}

/** The page additionally must not carry the client id (the store keeps it in the clear, by design). */
const credentialsInPage = (html: string) => [...secretsIn(html), ...(html.includes(TEST_CLIENT_ID) ? [TEST_CLIENT_ID] : [])];

const paths = () => world.emulator.requests.map((q) => q.path);

describe('plaidbal link with the local page in Chromium', () => {
  it('links an account: exchange, sealed save, summary, exit 0; the page carries only the link token', async () => {
    const run = startLink(['--no-browser', '--name', 'checking']);
    const url = await run.url;
    expect(run.stderr()).toContain('Open this URL in a browser on this computer to link an account (Sandbox)');
    expect(run.stderr()).toContain('Waiting for Plaid Link… (Ctrl-C to cancel; gives up after 10 min)');

    const { linkToken, body } = latestLinkToken();
    expect(body).toMatchObject({ client_name: 'plaidbal', language: 'en', country_codes: ['US'], products: ['auth'] });
    expect((body.user as { client_user_id: string }).client_user_id).toMatch(/^plaidbal-[0-9a-f]{32}$/);
    expect(body).not.toHaveProperty('redirect_uri');
    expect(body).not.toHaveProperty('access_token');
    expect(body).not.toHaveProperty('hosted_link');

    const publicToken = world.emulator.completeLinkSession(linkToken)!;
    const { page, external, html } = await openPage(url, { kind: 'success', publicToken, institution: FIRST_PLATYPUS, accounts: SANDBOX_ACCOUNTS });
    // What the browser gets: the link token, and nothing secret.
    expect(html).toContain(linkToken);
    expect(credentialsInPage(html)).toEqual([]);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Linked First Platypus Bank as "checking"');
    expect(r.stdout).toContain('Plaid Checking ••0000');
    expect(r.stdout).toContain('Next: plaidbal balance --item checking');
    expect(await pageState(page, 'success')).toContain('Account linked');
    expect(await standInRecord(page)).toMatchObject({ token: linkToken, created: 1 });
    expect(external).toEqual([]);

    const exchange = world.emulator.requests.find((q) => q.path === '/item/public_token/exchange');
    expect(exchange?.body).toMatchObject({ public_token: publicToken });
    expect(paths()).not.toContain('/accounts/balance/get');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    const [item] = world.emulator.items();
    expect(doc.items).toHaveLength(1);
    expect(doc.items[0]).toMatchObject({ alias: 'checking', item_id: item!.item_id, environment: 'sandbox', institution_id: 'ins_109508', institution_name: 'First Platypus Bank', products: ['auth'] });
    expect(doc.items[0].access_token).toMatch(/^v1\./);
    expect(secretsIn(await readFile(world.store.file, 'utf8'))).toEqual([]);
    expect(secretsIn(printed(r))).toEqual([]);
    expect(await refused(url)).toBe(true);

    const balance = await world.run(['balance', '--item', 'checking']);
    expect(balance.code).toBe(0);
    expect(balance.stdout).toContain('Plaid Checking');
  });

  it('an exit with an error prints Plaid\'s fields and link_session_id, exits by the error type, saves nothing', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    const error = {
      error_type: 'ITEM_ERROR',
      error_code: 'INVALID_CREDENTIALS',
      error_message: 'the provided credentials were not correct',
      display_message: 'The provided credentials were not correct. Please try again.',
    };
    const { page } = await openPage(url, { kind: 'exit', error, institution: FIRST_PLATYPUS, status: 'requires_credentials' });
    const r = await run.done;
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Plaid Link ended with INVALID_CREDENTIALS at First Platypus Bank');
    expect(r.stderr).toContain('error_type:      ITEM_ERROR');
    expect(r.stderr).toContain('error_code:      INVALID_CREDENTIALS');
    expect(r.stderr).toContain('error_message:   the provided credentials were not correct');
    expect(r.stderr).toContain('display_message: The provided credentials were not correct. Please try again.');
    expect(r.stderr).toContain(`request_id:      ${STAND_IN_REQUEST_ID}`);
    expect(r.stderr).toContain(`link_session_id ${STAND_IN_SESSION}`);
    expect(await pageState(page, 'error')).toContain('INVALID_CREDENTIALS');
    expect(await world.store.snapshot()).toEqual(before);
    expect(paths()).not.toContain('/item/public_token/exchange');
    expect(await refused(url)).toBe(true);
  });

  it('an institution error exits 5', async () => {
    const run = startLink(['--no-browser']);
    const error = { error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN', error_message: 'this institution is not currently responding to this request. please try again soon', display_message: null };
    await openPage(await run.url, { kind: 'exit', error, institution: FIRST_PLATYPUS });
    const r = await run.done;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('error_code:      INSTITUTION_DOWN');
    expect(r.stderr).toContain('try `plaidbal link` again later');
  });

  it('the user closing Link exits 8 and leaves the store byte-identical', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    const { page } = await openPage(url, { kind: 'exit', error: null, status: 'institution_not_found' });
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('Plaid Link was closed before an account was linked (Link status: institution_not_found). Nothing was saved.');
    expect(r.stderr).toContain('Run `plaidbal link` again when ready.');
    expect(await pageState(page, 'closed')).toContain('Link was closed');
    expect(await world.store.snapshot()).toEqual(before);
    expect(paths()).not.toContain('/item/public_token/exchange');
  });

  it("another program that read the page's URL and opened it first cannot finish Link: the browser arriving ends the session (exit 8), nothing is exchanged or saved", async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    // Any local user can read the URL on the browser's command line while it starts (xdg-open).
    const thief = await fetch(url);
    expect(thief.status).toBe(200);
    const { html } = await openPage(url, { kind: 'pending' });
    expect(html).toContain('open the page in one browser');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(8);
    expect(r.stderr).toContain('The Link page was opened by a second browser or program, without the cookie the first one got, so plaidbal ended the session: nobody can finish Link through it. Nothing was saved.');
    expect(r.stderr).toContain("another program on this computer had the page's address");
    // A forged result from the thief comes too late: the page server is gone.
    expect(await refused(url)).toBe(true);
    expect(await world.store.snapshot()).toEqual(before);
    expect(paths()).not.toContain('/item/public_token/exchange');
  });

  it('on a terminal, starts the browser with the page URL, and with none of the secrets in its environment', async () => {
    // A stand-in for xdg-open (the `open` package runs the one on PATH): it writes down what it was given.
    const bin = await mkdtemp(join(tmpdir(), 'plaidbal-xdg-open-'));
    try {
      const seen = join(bin, 'seen');
      writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\n{ printf 'arg %s\\n' "$@"; env; } > '${seen}'\n`, { mode: 0o755 });
      const env = { ...world.env, PATH: `${bin}:${process.env.PATH}`, PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET, PLAIDBAL_NEW_PASSPHRASE: 'a new passphrase, secret too' };
      const r = await runInTerminal(['link', '--timeout', '2'], env);
      expect(r.code, stripAnsi(r.screen)).toBe(8);
      expect(stripAnsi(r.screen)).toContain('Opened Plaid Link in your browser to link an account (Sandbox)');
      const launched = readFileSync(seen, 'utf8');
      expect(launched).toMatch(new RegExp(`^arg ${PAGE_URL.source}$`, 'm'));
      // The browser gets the rest of the environment (its display, its locale)…
      expect(launched).toContain(`PLAIDBAL_CONFIG_DIR=${world.env.PLAIDBAL_CONFIG_DIR}`);
      // …and no secret: a browser started here can run for hours, and hands its environment on.
      for (const name of ['PLAID_SECRET', 'PLAIDBAL_PASSPHRASE', 'PLAIDBAL_NEW_PASSPHRASE']) expect(launched).not.toMatch(new RegExp(`^${name}=`, 'm'));
      for (const secret of [TEST_SECRET, PASSPHRASE, env.PLAIDBAL_NEW_PASSPHRASE]) expect(launched).not.toContain(secret);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('--timeout gives up with exit 8, shuts the page down and saves nothing', async () => {
    const before = await world.store.snapshot();
    const started = Date.now();
    const run = startLink(['--no-browser', '--timeout', '2']);
    const url = await run.url;
    expect(run.stderr()).toContain('gives up after 2 s');
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(r.stderr).toContain('Gave up waiting for Plaid Link after 2 s. Nothing was saved. The Link page has been shut down.');
    expect(r.stderr).toContain('--timeout');
    expect(await refused(url)).toBe(true);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('Ctrl-C exits 130, shuts the page down and saves nothing', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    expect(await refused(url)).toBe(false);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Interrupted. Nothing was saved.');
    expect(await refused(url)).toBe(true);
    expect(await world.store.snapshot()).toEqual(before);
    expect(paths()).not.toContain('/item/public_token/exchange');
  });

  it('refuses a public token of another environment at once: exit 5, nothing is exchanged or saved, the page says why', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']); // the default 10-minute wait: the refusal must not wait it out
    const url = await run.url;
    const { page } = await openPage(url, { kind: 'success', publicToken: 'public-production-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b', institution: FIRST_PLATYPUS, accounts: [] });
    const r = await run.done;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('Plaid Link finished, but the page sent a result plaidbal cannot accept (public_token is not a sandbox public token). Nothing was saved.');
    expect(r.stderr).toContain('Run `plaidbal link` again');
    expect(await pageState(page, 'error')).toContain('plaidbal could not accept what Plaid Link sent (public_token is not a sandbox public token) and has stopped waiting.');
    expect(paths()).not.toContain('/item/public_token/exchange');
    expect(await world.store.snapshot()).toEqual(before);
    expect(secretsIn(printed(r))).toEqual([]);
  });

  it('a result of a shape plaidbal does not expect ends at once with exit 5 and names the field', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    const publicToken = world.emulator.completeLinkSession(latestLinkToken().linkToken)!;
    const { page } = await openPage(url, { kind: 'success', publicToken, institution: FIRST_PLATYPUS, accounts: [{ id: 'acc1', name: 'Checking', type: 7 }] });
    const r = await run.done;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('cannot accept (metadata.accounts[0].type must be a string). Nothing was saved.');
    expect(await pageState(page, 'error')).toContain('metadata.accounts[0].type must be a string');
    expect(r.stderr).not.toContain(publicToken);
    expect(paths()).not.toContain('/item/public_token/exchange');
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('accepts what Plaid documents as optional: no institution, accounts without mask or subtype', async () => {
    const run = startLink(['--no-browser', '--name', 'bare']);
    const url = await run.url;
    const publicToken = world.emulator.completeLinkSession(latestLinkToken().linkToken)!;
    await openPage(url, { kind: 'success', publicToken, institution: null, accounts: [{ id: 'acc1', name: 'Checking', type: 'depository', mask: null }] });
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('as "bare"');
    expect(paths()).toContain('/item/public_token/exchange');
  });

  it('closing the tab ends the wait with exit 8 and says how to open Link again', async () => {
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser']);
    const url = await run.url;
    const { page } = await openPage(url, { kind: 'pending' });
    await waitForLinkOpen(page);
    await page.close();
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('The Link page was closed before Plaid Link finished. Nothing was saved.');
    expect(r.stderr).toContain('To open Link again, run `plaidbal link`');
    expect(await refused(url)).toBe(true);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('--timeout cannot outlive the link token: update mode waits at most its 30 minutes, and says so', async () => {
    await world.link('demo');
    const run = startLink(['--update', 'demo', '--no-browser', '--timeout', '3600']);
    await run.url;
    expect(run.stderr()).toMatch(/gives up after (30 min|29 min 59 s), when the link token expires\)/);
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
  });

  it('a link token that expires ends the wait as expired (exit 8, not a usage error), with the command to start again', async () => {
    await world.close();
    // The emulator's clock runs 4 h less 3 s behind, so the link token it issues expires 3 s from now.
    world = await createWorld({ clock: () => Date.now() - (4 * 3_600_000 - 3_000) });
    expect((await world.init('passphrase')).code).toBe(0);
    const before = await world.store.snapshot();
    const run = startLink(['--no-browser', '--timeout', '600']);
    const url = await run.url;
    expect(run.stderr()).toMatch(/gives up after \d s, when the link token expires\)/);
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/The link token expired at \d{4}-\d\d-\d\dT[\d:.]+Z: Plaid Link can no longer finish this session\. Nothing was saved\. The Link page has been shut down\./);
    expect(r.stderr).toContain('Start again with `plaidbal link`. Update-mode link tokens and Hosted Link URLs last 30 minutes, other link tokens 4 hours.');
    expect(await refused(url)).toBe(true);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('Link reporting INVALID_LINK_TOKEN is an expired token (exit 8), not a usage error', async () => {
    const run = startLink(['--no-browser']);
    const error = { error_type: 'INVALID_INPUT', error_code: 'INVALID_LINK_TOKEN', error_message: 'link token has expired', display_message: null };
    await openPage(await run.url, { kind: 'exit', error });
    const r = await run.done;
    expect(r.code).toBe(8);
    expect(r.stderr.replace(/\s+/g, ' ')).toContain('Plaid Link refused the link token (INVALID_LINK_TOKEN, link_session_id');
    expect(r.stderr.replace(/\s+/g, ' ')).toContain('it expired, or it was used up (too many failed logins, or, outside Sandbox, a second Link session on it, such as a reloaded page). Nothing was saved.');
    expect(r.stderr).toContain('Start again with `plaidbal link`');
  });

  it('--update repairs ITEM_LOGIN_REQUIRED: same item, same sealed token, no exchange, balance works again', async () => {
    await world.link('demo');
    expect((await world.run(['sandbox', 'reset-login', 'demo'])).code).toBe(0);
    const broken = await world.run(['balance', '--item', 'demo']);
    expect(broken.code).toBe(4);
    expect(broken.stderr).toContain('plaidbal link --update demo');

    const before = await world.store.snapshot();
    const [item] = world.emulator.items();
    const firstCreate = world.emulator.requests.length;
    const run = startLink(['--update', 'demo', '--no-browser']);
    const url = await run.url;
    expect(run.stderr()).toContain('to reconnect "demo"');
    const { linkToken, body } = latestLinkToken();
    expect(body).toMatchObject({ access_token: item!.access_token });
    expect(body).not.toHaveProperty('products');

    const publicToken = world.emulator.completeLinkSession(linkToken)!;
    const { page, html } = await openPage(url, { kind: 'success', publicToken, institution: FIRST_PLATYPUS, accounts: [] });
    // The page of an update session still carries only the link token, never the access token.
    expect(html).toContain(linkToken);
    expect(credentialsInPage(html)).toEqual([]);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Reconnected First Platypus Bank as "demo"');
    expect(r.stdout).toContain('Plaid reports no error on the item');
    expect(await pageState(page, 'success')).toContain('Account reconnected');
    expect(secretsIn(printed(r))).toEqual([]);

    const during = world.emulator.requests.slice(firstCreate).map((q) => q.path);
    expect(during).toEqual(['/link/token/create', '/item/get']);
    expect(world.emulator.items()).toHaveLength(1);
    // Same item_id, same sealed access token: the store did not change at all.
    expect(await world.store.snapshot()).toEqual(before);

    const fixed = await world.run(['balance', '--item', 'demo']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('Plaid Checking');
    const used = world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').at(-1);
    expect(used?.body).toMatchObject({ access_token: item!.access_token });
  });

  it('uses the same pseudonymous client_user_id for every link from one store', async () => {
    await world.link('demo');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const run = startLink(['--no-browser']);
      await openPage(await run.url, { kind: 'exit', error: null });
      expect((await run.done).code).toBe(8);
      ids.push((latestLinkToken().body.user as { client_user_id: string }).client_user_id);
    }
    const storeId = JSON.parse(await readFile(world.store.file, 'utf8')).store_id as string;
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).not.toContain(storeId);
  });

  it('flags are checked before Plaid is called', async () => {
    await world.link('demo');
    const before = await world.store.snapshot();
    const count = world.emulator.requests.length;
    const cases: Array<[string[], string]> = [
      [['--products', 'balance'], '"balance" is not a Link product'],
      [['--update', 'demo', '--env', 'production'], '"demo" is a sandbox item, but --env says production'],
      [['--update', 'demo', '--products', 'auth'], '--products cannot be used with --update'],
      [['--update', 'nope'], 'No linked item is called "nope"'],
      [['--name', 'demo'], 'already used'],
      [['--country', 'USA'], 'Not ISO-3166 alpha-2 country codes: USA'],
      [['--redirect-uri', 'https://example.com/cb?x=1'], 'must not contain a query'],
      [['--redirect-uri', 'http://example.com/cb'], 'must be an https URL: Plaid takes http only for localhost, and only in Sandbox'],
      [['--redirect-uri', 'https://example.com/cb?'], 'must not contain a query'],
      [['--env', 'production', '--redirect-uri', 'http://localhost:3000/cb'], 'works only in Sandbox; in production it must be an https URL'],
      [['--sandbox-password', 'error_ITEM_LOCKED'], 'only apply with --sandbox'],
    ];
    for (const [args, message] of cases) {
      const r = await world.run(['link', '--no-browser', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    // Before the store is unlocked, in update mode too: a wrong passphrase is not what it says.
    const update = await world.run(['link', '--no-browser', '--update', 'demo', '--redirect-uri', 'ftp://example.com/cb'], { extraEnv: { PLAIDBAL_PASSPHRASE: 'not the passphrase' } });
    expect(update.code, update.stderr).toBe(2);
    expect(update.stderr).toContain('--redirect-uri must be an https URL');
    expect(world.emulator.requests.length).toBe(count);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('--country, --language and --redirect-uri reach /link/token/create', async () => {
    const run = startLink(['--no-browser', '--country', 'us,ca', '--language', 'fr', '--redirect-uri', 'https://example.com/oauth', '--timeout', '1']);
    await run.url;
    expect(latestLinkToken().body).toMatchObject({ country_codes: ['US', 'CA'], language: 'fr', redirect_uri: 'https://example.com/oauth' });
    expect((await run.done).code).toBe(8);
  });
});
