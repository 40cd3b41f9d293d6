/**
 * Real headless Chromium for the Link page tests, and a stand-in for Plaid's
 * link-initialize.js served at the browser's network layer.
 *
 * The stand-in follows Link's documented web API: `Plaid.create(config)` returns
 * `{ open, exit, destroy }`; Link loads asynchronously and calls `onLoad`; `open()` calls
 * made before that are queued; an opened Link emits events through `onEvent` and ends with
 * `onSuccess(public_token, metadata)` or `onExit(error, metadata)`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
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
      accounts?: LinkAccount[];
      /** Ignore open() calls made without user activation, like a blocked pop-up. */
      requireUserActivation?: boolean;
    }
  | { kind: 'exit'; error: LinkExitError | null; institution?: LinkInstitution | null; status?: string }
  /** The CDN request fails (offline, blocked). */
  | { kind: 'unreachable' };

/** What the stand-in saw, readable with `standInRecord(page)`. */
export interface StandInRecord {
  created: number;
  token: string | null;
  configKeys: string[];
  openCalls: number;
  events: string[];
}

function standInScript(behaviour: Exclude<PlaidLinkBehaviour, { kind: 'unreachable' }>): string {
  // Runs in the page; the behaviour arrives as JSON.
  return `(function () {
  'use strict';
  var behaviour = ${JSON.stringify(behaviour)};
  var record = { created: 0, token: null, configKeys: [], openCalls: 0, events: [] };
  window.__plaidStandIn = record;
  var sessionId = '79e772be-547d-4c9c-8b76-4ac4ed4c441a';
  var requestId = 'Xq1Jk7Vn3LpZ8sQ';

  function later(fn) { setTimeout(fn, 10); }

  window.Plaid = {
    version: 'stand-in',
    create: function (config) {
      if (!config || typeof config.token !== 'string') throw new Error('Plaid.create: token is required');
      if (typeof config.onSuccess !== 'function') throw new Error('Plaid.create: onSuccess is required');
      record.created += 1;
      record.token = config.token;
      record.configKeys = Object.keys(config).sort();
      var loaded = false, queued = false, opened = false, destroyed = false;

      function emit(name, extra) {
        record.events.push(name);
        var metadata = {
          view_name: extra && extra.view_name || null,
          institution_id: behaviour.institution ? behaviour.institution.institution_id : null,
          institution_name: behaviour.institution ? behaviour.institution.name : null,
          link_session_id: sessionId,
          request_id: requestId,
          timestamp: new Date().toISOString()
        };
        if (config.onEvent) config.onEvent(name, metadata);
      }

      function run() {
        if (opened || destroyed) return;
        opened = true;
        emit('OPEN', { view_name: 'CONSENT' });
        later(function () {
          if (destroyed) return;
          if (behaviour.kind === 'success') {
            emit('SELECT_INSTITUTION');
            emit('SUBMIT_CREDENTIALS');
            emit('HANDOFF');
            config.onSuccess(behaviour.publicToken, {
              institution: behaviour.institution === undefined ? ${JSON.stringify({ name: 'First Platypus Bank', institution_id: 'ins_109508' })} : behaviour.institution,
              accounts: behaviour.accounts || [],
              link_session_id: sessionId,
              // Real Link sends more than the documented fields; the page must drop them.
              transfer_status: null,
              account: { id: null, name: null }
            });
          } else {
            if (behaviour.error) emit('ERROR', { view_name: 'ERROR' });
            emit('EXIT');
            if (config.onExit) config.onExit(behaviour.error, {
              institution: behaviour.institution === undefined ? null : behaviour.institution,
              status: behaviour.status || null,
              link_session_id: sessionId,
              request_id: requestId
            });
          }
        });
      }

      later(function () {
        loaded = true;
        if (config.onLoad) config.onLoad();
        if (queued) run();
      });

      return {
        open: function () {
          record.openCalls += 1;
          if (behaviour.requireUserActivation && !(navigator.userActivation && navigator.userActivation.isActive)) return;
          if (loaded) run(); else queued = true;
        },
        exit: function () {
          if (opened && !destroyed && config.onExit) config.onExit(null, { institution: null, status: null, link_session_id: sessionId, request_id: requestId });
        },
        destroy: function () { destroyed = true; }
      };
    }
  };
})();
`;
}

/**
 * Answers the page's request for Plaid's Link script with the stand-in (or a network
 * failure), at the network layer: the page itself still names Plaid's real URL.
 */
export async function routePlaidLinkStandIn(page: Page, behaviour: PlaidLinkBehaviour): Promise<void> {
  await page.route(PLAID_LINK_SCRIPT_URL, async (route) => {
    if (behaviour.kind === 'unreachable') {
      await route.abort('internetdisconnected');
      return;
    }
    await route.fulfill({
      status: 200,
      contentType: 'application/javascript; charset=utf-8',
      headers: { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' },
      body: standInScript(behaviour),
    });
  });
}

export function standInRecord(page: Page): Promise<StandInRecord | null> {
  // A string expression: the project compiles without the DOM lib.
  return page.evaluate<StandInRecord | null>('window.__plaidStandIn ?? null');
}
