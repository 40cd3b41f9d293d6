/**
 * Real headless Chromium for the Link page tests, and a stand-in for Plaid's Link, served at
 * the browser's network layer, that behaves like Plaid's real `link-initialize.js` on the
 * page (see ../shared/PLAID-NOTES.md, "What real Plaid does that an emulator easily misses",
 * and the react-plaid-link README's Content Security Policy section):
 * - the initializer appends a `<style>` element (with its own script tag's nonce, as the
 *   nonce-based CSP of plaid.com/docs/link/web/#csp-directives expects) and gives its
 *   iframes inline style attributes (what `style-src-attr 'unsafe-inline'` is for), then
 *   shows and hides them through the CSSOM;
 * - `Plaid.create(config)` creates a hidden iframe at
 *   `https://cdn.plaid.com/link/v2/stable/link.html?…&uniqueId=N&origin=…&token=…`, and
 *   `open()` a short-lived second one, `link-open.html`;
 * - page and iframe talk by postMessage with JSON strings: the iframe sends
 *   `{"action":"plaid_link-<uniqueId>::ready"}`, `::event`, `::connected` (with
 *   `metadata.public_token`) and `::exit`; the page sends `plaid_link::open` / `::exit`;
 * - once ready, the page POSTs a heartbeat to the environment's API host (`/link/heartbeat`).
 * The API stays Link's documented one: `Plaid.create` returns `{ open, exit, destroy }`,
 * `onLoad` fires when the iframe is ready, `open()` before that is queued.
 * The iframe is answered by the route below with a stand-in page that plays `behaviour`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { LinkAccount, LinkExitError, LinkInstitution } from '../../src/link/server.js';
import { PLAID_LINK_SCRIPT_URL } from '../../src/link/server.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Fails (never skips) when Chromium is missing, saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}; the browser tests need it. ` +
        'Install it (as root, Debian/Ubuntu) with: apt-get update && apt-get install -y chromium ' +
        '— `npx playwright install` cannot download browsers here.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * One browser context for a test file, and a new page in it for each test: what Chromium costs a
 * browser test is mostly the renderer processes it starts, not the page.
 *
 * A page in a new context always gets new renderer processes (contexts never share one), and
 * on these machines starting and ending them was most of a browser test's CPU: a third as much
 * in one context with this keeper page open (docs/benchmarks.md, "Figures behind the code").
 * The keeper is a page on 127.0.0.1 with a frame on cdn.plaid.com, both answered here and never
 * touched by a test: while it is open, Chromium gives a test's page on 127.0.0.1, and Link's frame
 * on cdn.plaid.com, the processes it already has for those sites, as it does for a user's tabs:
 * one new renderer process a page remains, where a new context started two or more. Site
 * isolation is as before: Link's frame is still in a process of its own, apart from the page's
 * (an out-of-process iframe in CDP's list of targets).
 *
 * What a new context gave each test and a page does not: cookies, storage and cache of its own.
 * The Link page and the stand-in use none of them, each test's page is on its own port (its own
 * origin), and a context with routes has no HTTP cache. Requests to any host but `allowed`'s are
 * refused and listed in the test's `external`, from a route on the context, so a popup's requests
 * are caught as well as the page's.
 */
export class SharedContext {
  /** The current test's: what its pages may reach, and what they tried to reach beyond that. */
  private allowed: ReadonlySet<string> = new Set();
  private external: string[] = [];
  private keeper: Page | undefined;

  private constructor(private readonly context: BrowserContext) {}

  static async start(browser: Browser, options: BrowserContextOptions = {}): Promise<SharedContext> {
    const shared = new SharedContext(await browser.newContext(options));
    await shared.context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (shared.allowed.has(url.hostname)) return route.continue();
      shared.external.push(url.href);
      return route.abort('blockedbyclient');
    });
    // The keeper's own routes answer it: page routes come before the context's.
    const keeper = await shared.context.newPage();
    await keeper.route(KEEPER_URL, (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>keeper</title><iframe src="${KEEPER_FRAME_URL}"></iframe>` }));
    await keeper.route(KEEPER_FRAME_URL, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>keeper frame</title>' }));
    await keeper.goto(KEEPER_URL);
    await keeper.frameLocator('iframe').locator('title').waitFor({ state: 'attached' });
    shared.keeper = keeper;
    return shared;
  }

  /** A new page for a test; `external` lists what its pages tried to reach beyond `allowed`. */
  async newPage(allowed: readonly string[]): Promise<{ page: Page; external: string[] }> {
    this.allowed = new Set(allowed);
    this.external = [];
    const external = this.external;
    return { page: await this.context.newPage(), external };
  }

  /** Closes every page but the keeper: the test's, and any it opened. */
  async closePages(): Promise<void> {
    await Promise.all(this.context.pages().filter((page) => page !== this.keeper).map((page) => page.close()));
  }
}

/** Where the keeper page lives: answered by its own route, so nothing listens there. */
const KEEPER_URL = 'http://127.0.0.1:9/plaidbal-test-keeper';
const KEEPER_FRAME_URL = 'https://cdn.plaid.com/link/v2/stable/plaidbal-test-keeper.html';

export const FIRST_PLATYPUS: LinkInstitution = { name: 'First Platypus Bank', institution_id: 'ins_109508' };

export const SANDBOX_ACCOUNTS: LinkAccount[] = [
  { id: 'BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp', name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking', verification_status: null },
  { id: 'dVzbVMLjrxTnLjX4G66XUp5GLklm4oiZy88yK', name: 'Plaid Saving', mask: '1111', type: 'depository', subtype: 'savings', verification_status: null },
  { id: 'Pp1Vpkl9w8sajvK6oEEKtr7vZxBnGpf7LxxLE', name: 'Plaid Credit Card', mask: '3333', type: 'credit', subtype: 'credit card', verification_status: null },
];

export type PlaidLinkBehaviour =
  | {
      kind: 'success';
      publicToken: string;
      institution?: LinkInstitution | null;
      /** As Link sends them: fields may be missing or null (Plaid documents which may). */
      accounts?: Array<Partial<LinkAccount> | Record<string, unknown>>;
      /** Ignore open() calls made without user activation, like a blocked pop-up. */
      requireUserActivation?: boolean;
    }
  | { kind: 'exit'; error: LinkExitError | null; institution?: LinkInstitution | null; status?: string }
  /** Link opens and the user is still in it: no result ever comes. */
  | { kind: 'pending' }
  /** The CDN request fails (offline, blocked). */
  | { kind: 'unreachable' };

export const LINK_FRAME_URL = 'https://cdn.plaid.com/link/v2/stable/link.html';
export const LINK_OPEN_FRAME_URL = 'https://cdn.plaid.com/link/v2/stable/link-open.html';
const PLAID_CDN_ORIGIN = 'https://cdn.plaid.com';
export const STAND_IN_SESSION_ID = '79e772be-547d-4c9c-8b76-4ac4ed4c441a';
export const STAND_IN_REQUEST_ID = 'Xq1Jk7Vn3LpZ8sQ';

/** What the stand-in saw in the page, readable with `standInRecord(page)`. */
export interface StandInRecord {
  created: number;
  token: string | null;
  configKeys: string[];
  openCalls: number;
  events: string[];
  /** The `<style>` element took effect (a CSP that blocks it leaves it without a sheet). */
  styleApplied: boolean;
  /** The iframe's inline style took effect (style-src-attr). */
  inlineStyleApplied: boolean;
  /** Heartbeats the page could send: 'ok' or the error. */
  heartbeats: string[];
  /** Messages received from the Link iframe, by action suffix. */
  messages: string[];
}

/** What crossed the network layer, recorded by the routes. */
export interface StandInTraffic {
  /** URLs of the Link iframes requested (link.html, link-open.html). */
  frames: string[];
  /** `<origin>/link/heartbeat` POSTs: the URL and body. */
  heartbeats: Array<{ url: string; body: string }>;
}

/** The initializer: runs in the page, under the page's CSP. */
function initializerScript(requireUserActivation: boolean): string {
  return `(function () {
  'use strict';
  var requireUserActivation = ${JSON.stringify(requireUserActivation)};
  var CDN = ${JSON.stringify(PLAID_CDN_ORIGIN)};
  var FRAME = ${JSON.stringify(LINK_FRAME_URL)};
  var OPEN_FRAME = ${JSON.stringify(LINK_OPEN_FRAME_URL)};
  var API_HOSTS = { sandbox: 'https://sandbox.plaid.com', production: 'https://production.plaid.com' };
  var me = document.currentScript;
  var nonce = (me && me.nonce) || '';
  var record = { created: 0, token: null, configKeys: [], openCalls: 0, events: [], styleApplied: false, inlineStyleApplied: false, heartbeats: [], messages: [] };
  window.__plaidStandIn = record;
  var nextId = 0;

  // Like the real script: one stylesheet for Link's iframes, appended to the page.
  var style = document.createElement('style');
  if (nonce) style.nonce = nonce;
  style.textContent = 'iframe.plaid-link-iframe { color-scheme: normal; }';
  (document.head || document.documentElement).appendChild(style);
  record.styleApplied = !!(style.sheet && style.sheet.cssRules.length === 1);

  // Plaid documents that Link needs style-src-attr 'unsafe-inline': its iframes carry inline
  // style attributes. (The CSSOM's property setters, used below to show and hide the frame,
  // are not governed by CSP in any browser; a written style attribute is.)
  function inlineStyle(frame, css) {
    frame.setAttribute('style', css);
    return frame.style.position === 'fixed';
  }

  window.Plaid = {
    version: 'stand-in',
    create: function (config) {
      if (!config || typeof config.token !== 'string') throw new Error('Plaid.create: token is required');
      if (typeof config.onSuccess !== 'function') throw new Error('Plaid.create: onSuccess is required');
      record.created += 1;
      record.token = config.token;
      record.configKeys = Object.keys(config).sort();
      var uniqueId = ++nextId;
      var prefix = 'plaid_link-' + uniqueId + '::';
      var env = /^link-(sandbox|production)-/.exec(config.token);
      var apiHost = API_HOSTS[env ? env[1] : 'production'];
      var loaded = false, queued = false, opened = false, destroyed = false;

      var frame = document.createElement('iframe');
      frame.className = 'plaid-link-iframe';
      frame.id = 'plaid-link-iframe-' + uniqueId;
      frame.title = 'Plaid Link';
      record.inlineStyleApplied = inlineStyle(frame,
        'position: fixed; top: 0; left: 0; width: 100%; height: 100%; z-index: 9999; border: 0; display: none;');
      frame.src = FRAME + '?isLinkInitialize=true&token=' + encodeURIComponent(config.token) +
        '&uniqueId=' + uniqueId + '&origin=' + encodeURIComponent(location.origin) + '&version=2.0.0';
      document.body.appendChild(frame);

      function post(action) {
        if (frame.contentWindow) frame.contentWindow.postMessage(JSON.stringify({ action: action }), CDN);
      }

      function heartbeat() {
        fetch(apiHost + '/link/heartbeat', {
          method: 'POST',
          body: JSON.stringify({ link_token: config.token, unique_id: uniqueId }),
          credentials: 'omit'
        }).then(function (r) { record.heartbeats.push(r.ok ? 'ok' : 'HTTP ' + r.status); },
          function (e) { record.heartbeats.push(String(e)); });
      }

      function run() {
        if (opened || destroyed) return;
        opened = true;
        frame.style.display = 'block';
        var opener = document.createElement('iframe');
        inlineStyle(opener, 'position: fixed; width: 0; height: 0; border: 0; display: none;');
        opener.src = OPEN_FRAME + '?uniqueId=' + uniqueId;
        opener.addEventListener('load', function () { opener.remove(); });
        document.body.appendChild(opener);
        post('plaid_link::open');
      }

      function close() { frame.style.display = 'none'; }

      window.addEventListener('message', function (e) {
        if (e.origin !== CDN || e.source !== frame.contentWindow) return;
        var message;
        try { message = JSON.parse(e.data); } catch (err) { return; }
        if (!message || typeof message.action !== 'string' || message.action.indexOf(prefix) !== 0) return;
        var action = message.action.slice(prefix.length);
        record.messages.push(action);
        if (destroyed) return;
        if (action === 'ready') {
          loaded = true;
          heartbeat();
          if (config.onLoad) config.onLoad();
          if (queued) run();
        } else if (action === 'event') {
          record.events.push(message.eventName);
          if (config.onEvent) config.onEvent(message.eventName, message.metadata);
        } else if (action === 'connected') {
          close();
          config.onSuccess(message.metadata.public_token, message.metadata);
        } else if (action === 'exit') {
          close();
          if (config.onExit) config.onExit(message.error || null, message.metadata);
        }
      });

      return {
        open: function () {
          record.openCalls += 1;
          if (requireUserActivation && !(navigator.userActivation && navigator.userActivation.isActive)) return;
          if (loaded) run(); else queued = true;
        },
        exit: function () { post('plaid_link::exit'); },
        destroy: function () { destroyed = true; frame.remove(); }
      };
    }
  };
})();
`;
}

/** The Link iframe's document, on https://cdn.plaid.com: plays `behaviour` when opened. */
function linkFrameHtml(behaviour: Exclude<PlaidLinkBehaviour, { kind: 'unreachable' }>): string {
  const script = `(function () {
  'use strict';
  var behaviour = ${JSON.stringify(behaviour).replace(/</g, '\\u003c')};
  var params = new URLSearchParams(location.search);
  var uniqueId = params.get('uniqueId');
  var origin = params.get('origin');
  var sessionId = ${JSON.stringify(STAND_IN_SESSION_ID)};
  var requestId = ${JSON.stringify(STAND_IN_REQUEST_ID)};
  var opened = false;
  function send(action, extra) {
    var message = { action: 'plaid_link-' + uniqueId + '::' + action };
    for (var key in extra || {}) message[key] = extra[key];
    parent.postMessage(JSON.stringify(message), origin);
  }
  function event(name, viewName) {
    send('event', { eventName: name, metadata: {
      view_name: viewName || null,
      institution_id: behaviour.institution ? behaviour.institution.institution_id : null,
      institution_name: behaviour.institution ? behaviour.institution.name : null,
      link_session_id: sessionId, request_id: requestId, timestamp: new Date().toISOString()
    } });
  }
  function later(fn) { setTimeout(fn, 10); }
  function run() {
    if (opened) return;
    opened = true;
    event('OPEN', 'CONSENT');
    if (behaviour.kind === 'pending') return;
    later(function () {
      if (behaviour.kind === 'success') {
        event('SELECT_INSTITUTION');
        event('SUBMIT_CREDENTIALS');
        event('HANDOFF');
        send('connected', { metadata: {
          public_token: behaviour.publicToken,
          institution: behaviour.institution === undefined ? ${JSON.stringify({ name: 'First Platypus Bank', institution_id: 'ins_109508' })} : behaviour.institution,
          accounts: behaviour.accounts || [],
          link_session_id: sessionId,
          // Real Link sends more than the documented fields; the page must drop them.
          transfer_status: null,
          account: { id: null, name: null }
        } });
      } else {
        if (behaviour.error) event('ERROR', 'ERROR');
        event('EXIT');
        send('exit', { error: behaviour.error, metadata: {
          institution: behaviour.institution === undefined ? null : behaviour.institution,
          status: behaviour.status || null,
          link_session_id: sessionId,
          request_id: requestId
        } });
      }
    });
  }
  window.addEventListener('message', function (e) {
    if (e.origin !== origin || e.source !== parent) return;
    var message;
    try { message = JSON.parse(e.data); } catch (err) { return; }
    if (message.action === 'plaid_link::open') run();
    if (message.action === 'plaid_link::exit' && opened) {
      send('exit', { error: null, metadata: { institution: null, status: null, link_session_id: sessionId, request_id: requestId } });
    }
  });
  later(function () { send('ready'); });
})();`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Plaid Link (stand-in)</title></head><body><script>${script}</script></body></html>`;
}

const CORS = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' };

/**
 * Answers, at the network layer, the page's request for Plaid's Link script (the
 * initializer, or a network failure), the Link iframes on cdn.plaid.com, and the heartbeat
 * on any host. The page itself still names Plaid's real URLs.
 */
export async function routePlaidLinkStandIn(page: Page, behaviour: PlaidLinkBehaviour): Promise<StandInTraffic> {
  const traffic: StandInTraffic = { frames: [], heartbeats: [] };
  await page.route(PLAID_LINK_SCRIPT_URL, async (route) => {
    if (behaviour.kind === 'unreachable') {
      await route.abort('internetdisconnected');
      return;
    }
    await route.fulfill({
      status: 200,
      contentType: 'application/javascript; charset=utf-8',
      headers: CORS,
      body: initializerScript(behaviour.kind === 'success' && behaviour.requireUserActivation === true),
    });
  });
  await page.route(`${LINK_FRAME_URL}?**`, async (route) => {
    traffic.frames.push(route.request().url());
    if (behaviour.kind === 'unreachable') return route.abort('internetdisconnected');
    await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', headers: CORS, body: linkFrameHtml(behaviour) });
  });
  await page.route(`${LINK_OPEN_FRAME_URL}?**`, async (route) => {
    traffic.frames.push(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', headers: CORS, body: '<!doctype html><title>Plaid Link</title>' });
  });
  await page.route('**/link/heartbeat', async (route) => {
    const request = route.request();
    if (request.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: CORS });
    traffic.heartbeats.push({ url: request.url(), body: request.postData() ?? '' });
    await route.fulfill({ status: 200, contentType: 'application/json', headers: CORS, body: '{}' });
  });
  return traffic;
}

/**
 * Runs `read` in the page every 50 ms until it returns something truthy, and returns that; a read
 * cut off by a navigation is tried again.
 *
 * The browser tests read their pages with page.evaluate, not with Playwright's selectors
 * (waitForSelector, locator, waitForFunction): the first of those on a page makes Playwright
 * inject its selector engine into the page, a cost paid again on every page (measured in
 * docs/benchmarks.md, "Figures behind the code"). The one test that clicks
 * a button as a user would still does it with a locator.
 */
export async function waitInPage<T>(page: Page, read: (arg: string) => T, arg = '', timeoutMs = 10_000): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await page.evaluate(read, arg);
    } catch (error) {
      if (page.isClosed() || !/Execution context was destroyed|navigat/i.test(String(error))) throw error;
    }
    if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() >= deadline) throw new Error(`not true in the page within ${timeoutMs} ms: ${String(read)} (${JSON.stringify(arg)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until Link (the stand-in) has opened in the page: its OPEN event has fired. */
export async function waitForLinkOpen(page: Page): Promise<void> {
  await waitInPage(page, () => (globalThis as { __plaidStandIn?: { events: string[] } }).__plaidStandIn?.events.includes('OPEN'));
}

export function standInRecord(page: Page): Promise<StandInRecord | null> {
  // A string expression: the project compiles without the DOM lib.
  return page.evaluate<StandInRecord | null>('window.__plaidStandIn ?? null');
}
