/**
 * The HTML page that runs Plaid Link, as a string: the CLI is bundled, so there are no
 * asset files. Data reaches the page only as one JSON object inside the nonce'd script,
 * and the script renders everything with textContent.
 */
import type { Environment } from '../types.js';

/**
 * Plaid requires Link to be loaded from its CDN on every page, never bundled or
 * self-hosted. Deliberately a constant with no override: tests intercept this exact URL
 * at the browser's network layer instead.
 */
export const PLAID_LINK_SCRIPT_URL = 'https://cdn.plaid.com/link/v2/stable/link-initialize.js';

export type LinkPageMode = 'new' | 'update';

export interface LinkPageContent {
  nonce: string;
  linkToken: string;
  environment: Environment;
  title: string;
  mode: LinkPageMode;
}

/**
 * The Plaid API host Link's own script talks to from the page (its `/link/heartbeat`), by
 * environment. Always Plaid's real host: Link in the browser never goes through
 * PLAIDBAL_BASE_URL, whatever plaidbal's own calls do.
 */
export const LINK_API_HOSTS: Readonly<Record<Environment, string>> = {
  sandbox: 'https://sandbox.plaid.com',
  production: 'https://production.plaid.com',
};

/**
 * Exactly what Plaid documents Link needs, on a `default-src 'none'` base. Sources:
 * - plaid.com/docs/link/web/#csp-directives, nonce variant: script-src the nonce and
 *   link-initialize.js; style-src and style-src-elem the nonce; style-src-attr
 *   'unsafe-inline'; frame-src https://cdn.plaid.com/; connect-src the environment's API host;
 * - github.com/plaid/react-plaid-link README, "Content Security Policy nonce": the nonce goes
 *   on the Link script tag (`cspNonce` sets only that), "Link still requires
 *   `style-src-attr 'unsafe-inline'` today".
 * Link's initializer adds a `<style>` element carrying its own script tag's nonce and styles
 * its iframes inline; both are blocked without the style directives above.
 * What plaidbal adds for its own page, and nothing else: connect-src 'self' (the callback
 * and the presence stream), img-src data: (the empty favicon), and the lock-down directives.
 * Plaid's example starts from `default-src https://cdn.plaid.com/`; we keep `'none'`, since
 * every fetch directive Link uses is named.
 */
export function linkPageCsp(nonce: string, plaidOrigin: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' ${PLAID_LINK_SCRIPT_URL}`,
    `style-src 'nonce-${nonce}'`,
    `style-src-elem 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    'frame-src https://cdn.plaid.com/',
    `connect-src 'self' ${plaidOrigin}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element: it can never close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --card: #ffffff; --text: #111827; --muted: #4b5563; --border: #e5e7eb;
  --accent: #1d4ed8; --accent-text: #ffffff; --ok: #047857; --ok-bg: #d1fae5;
  --err: #b91c1c; --err-bg: #fee2e2; --idle-bg: #e5e7eb;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --card: #181b21; --text: #e5e7eb; --muted: #9ca3af; --border: #2a2f38;
    --accent: #93b4ff; --accent-text: #0b1220; --ok: #6ee7b7; --ok-bg: #064e3b;
    --err: #fca5a5; --err-bg: #7f1d1d; --idle-bg: #2a2f38;
  }
}
*, *::before { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; }
body {
  margin: 0; padding: 24px; display: grid; place-items: center;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main {
  width: 100%; max-width: 30rem; padding: 32px; text-align: center;
  background: var(--card); border: 1px solid var(--border); border-radius: 16px;
  box-shadow: 0 1px 2px rgb(0 0 0 / 4%), 0 12px 32px rgb(0 0 0 / 8%);
}
.eyebrow { margin: 0 0 20px; font-size: 13px; color: var(--muted); letter-spacing: .02em; }
.env { display: inline-block; margin-left: 6px; padding: 1px 8px; border-radius: 999px;
  background: var(--idle-bg); color: var(--text); font-weight: 600; }
.env[data-env="production"] { background: var(--err-bg); color: var(--err); }
.icon {
  width: 56px; height: 56px; margin: 0 auto 16px; border-radius: 50%;
  display: grid; place-items: center; font-size: 28px; font-weight: 700; line-height: 1;
  background: var(--idle-bg); color: var(--muted);
}
main[data-state="loading"] .icon, main[data-state="sending"] .icon {
  background: transparent; border: 4px solid var(--idle-bg); border-top-color: var(--accent);
  animation: spin 1s linear infinite;
}
main[data-state="success"] .icon { background: var(--ok-bg); color: var(--ok); }
main[data-state="success"] .icon::before { content: "\\2713"; }
main[data-state="error"] .icon { background: var(--err-bg); color: var(--err); }
main[data-state="error"] .icon::before { content: "!"; }
main[data-state="closed"] .icon::before { content: "\\00d7"; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .icon { animation: none !important; } }
h1 { margin: 0 0 8px; font-size: 22px; line-height: 1.3; }
#status { margin: 0; color: var(--text); }
.detail { margin: 12px 0 0; font-size: 14px; color: var(--muted); overflow-wrap: anywhere; }
ul.accounts { list-style: none; margin: 16px 0 0; padding: 0; font-size: 14px; color: var(--muted);
  border-top: 1px solid var(--border); }
ul.accounts li { display: flex; justify-content: space-between; gap: 16px; padding: 8px 0;
  border-bottom: 1px solid var(--border); text-align: left; }
ul.accounts .mask { font-variant-numeric: tabular-nums; white-space: nowrap; }
button {
  margin-top: 24px; padding: 10px 22px; border: 0; border-radius: 10px; cursor: pointer;
  font: inherit; font-weight: 600; background: var(--accent); color: var(--accent-text);
}
button:disabled { opacity: .55; cursor: default; }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; }
.note { margin: 24px 0 0; font-size: 13px; color: var(--muted); }
`;

/*
 * Runs in the browser. Plain ES2017 without a build step. `open()` is called right
 * after create: Link queues it until loaded. The button is the fallback for when that
 * first opening did not show Link (for example a blocked pop-up).
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('link-config').textContent);
  var card = document.getElementById('card');
  var heading = document.getElementById('heading');
  var statusLine = document.getElementById('status');
  var detail = document.getElementById('detail');
  var accountList = document.getElementById('accounts');
  var openButton = document.getElementById('open');
  var updating = config.mode === 'update';
  var finished = false;

  function show(state, title, message, extra) {
    card.setAttribute('data-state', state);
    heading.textContent = title;
    statusLine.textContent = message;
    detail.textContent = extra || '';
    detail.hidden = !extra;
    if (state !== 'loading' && state !== 'ready') document.title = title + ' \u2014 plaidbal';
  }

  function str(value) { return typeof value === 'string' ? value : null; }
  function institution(value) {
    return value && typeof value === 'object'
      ? { name: value.name, institution_id: value.institution_id }
      : null;
  }
  function account(value) {
    value = value || {};
    return {
      id: value.id, name: value.name, mask: str(value.mask), type: value.type,
      subtype: str(value.subtype), verification_status: str(value.verification_status)
    };
  }

  function report(payload) {
    return fetch('callback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'error'
    }).then(function (response) {
      if (response.ok) return null;
      if (response.status === 409) return 'This Link session has already finished. Return to the terminal.';
      return response.text().then(function (text) {
        var reason = /^Invalid callback: /.test(text) ? text.replace(/^Invalid callback: /, '').trim() : 'HTTP ' + response.status;
        return 'plaidbal could not accept what Plaid Link sent (' + reason + ') and has stopped waiting. ' +
          'Return to the terminal for what to do next.';
      }, function () {
        return 'plaidbal did not accept the result (HTTP ' + response.status + ') and has stopped waiting. Return to the terminal.';
      });
    }, function () {
      return 'Could not reach plaidbal. Is it still running in your terminal?';
    });
  }

  function finish(payload, done) {
    finished = true;
    openButton.hidden = true;
    show('sending', 'Finishing\u2026', 'Handing the result to plaidbal.');
    report(payload).then(function (problem) {
      if (problem) show('error', 'Something went wrong', problem);
      else done();
    });
  }

  function showAccounts(accounts) {
    var shown = accounts.slice(0, 8);
    shown.forEach(function (a) {
      var item = document.createElement('li');
      var name = document.createElement('span');
      name.textContent = a.name;
      item.appendChild(name);
      if (a.mask) {
        var mask = document.createElement('span');
        mask.className = 'mask';
        mask.textContent = '\u2022\u2022' + a.mask;
        item.appendChild(mask);
      }
      accountList.appendChild(item);
    });
    if (accounts.length > shown.length) {
      var more = document.createElement('li');
      more.textContent = 'and ' + (accounts.length - shown.length) + ' more';
      accountList.appendChild(more);
    }
    accountList.hidden = shown.length === 0;
  }

  function onSuccess(publicToken, metadata) {
    if (finished) return;
    metadata = metadata || {};
    var payload = {
      type: 'success',
      public_token: publicToken,
      metadata: {
        institution: institution(metadata.institution),
        accounts: Array.isArray(metadata.accounts) ? metadata.accounts.map(account) : [],
        link_session_id: metadata.link_session_id
      }
    };
    finish(payload, function () {
      var bank = payload.metadata.institution && typeof payload.metadata.institution.name === 'string'
        ? payload.metadata.institution.name : 'your account';
      show('success', updating ? 'Account reconnected' : 'Account linked',
        (updating ? 'Reconnected ' : 'Linked ') + bank + '. You can close this tab and return to the terminal.');
      showAccounts(payload.metadata.accounts);
    });
  }

  function onExit(error, metadata) {
    if (finished) return;
    metadata = metadata || {};
    var payload = {
      type: 'exit',
      error: error ? {
        error_type: error.error_type,
        error_code: error.error_code,
        error_message: str(error.error_message) || '',
        display_message: str(error.display_message)
      } : null,
      metadata: {
        institution: institution(metadata.institution),
        status: str(metadata.status),
        link_session_id: str(metadata.link_session_id),
        request_id: str(metadata.request_id)
      }
    };
    finish(payload, function () {
      if (payload.error) {
        show('error', 'Link failed',
          (payload.error.display_message || payload.error.error_message || 'Plaid Link reported an error.') +
            ' Return to the terminal for details.',
          payload.error.error_code + ' (' + payload.error.error_type + ')');
      } else {
        show('closed', 'Link was closed',
          'No account was ' + (updating ? 'reconnected' : 'linked') + '. You can close this tab and return to the terminal.');
      }
    });
  }

  // Presence: plaidbal notices when this tab goes away (Plaid's onExit does not fire then),
  // and this page notices when plaidbal stopped waiting (timeout, Ctrl-C, a refused result).
  if (typeof EventSource === 'function') {
    var presence = new EventSource('events');
    presence.addEventListener('finished', function () {
      presence.close();
      if (finished) return;
      finished = true;
      openButton.hidden = true;
      show('error', 'Something went wrong', 'This Link session has already finished. Return to the terminal.');
    });
    presence.onerror = function () {
      presence.close();
      if (finished) return;
      finished = true;
      openButton.hidden = true;
      show('error', 'plaidbal stopped waiting',
        'plaidbal is no longer waiting for this page (it gave up, was stopped, or the link token expired). ' +
          'Return to the terminal; nothing from this page will be saved.');
    };
  }

  if (!window.Plaid || typeof window.Plaid.create !== 'function') {
    show('error', 'Couldn\u2019t load Plaid Link',
      'The Plaid Link script could not be loaded from cdn.plaid.com. Check your internet connection, ' +
        'firewall or content blocker, then reload this page.');
    openButton.hidden = true;
    return;
  }

  var handler;
  try {
    handler = window.Plaid.create({
      token: config.token,
      onSuccess: onSuccess,
      onExit: onExit,
      onEvent: function (eventName) {
        if (eventName === 'OPEN' && !finished) {
          show('ready', heading.textContent, 'Plaid Link is open. Finish there; this page will update.');
        }
      },
      onLoad: function () {
        if (!finished) openButton.disabled = false;
      }
    });
  } catch (e) {
    show('error', 'Couldn\u2019t start Plaid Link', String(e && e.message ? e.message : e));
    openButton.hidden = true;
    return;
  }
  openButton.addEventListener('click', function () { if (!finished) handler.open(); });
  handler.open();
})();
`;

export function renderLinkPage(content: LinkPageContent): string {
  const { nonce, linkToken, environment, title, mode } = content;
  const heading = mode === 'update' ? 'Reconnect your account' : 'Link an account';
  const environmentLabel = environment === 'production' ? 'Production' : 'Sandbox';
  // JSON in a non-executable script element: read by the nonce'd script, never executed.
  const config = scriptJson({ token: linkToken, environment, mode });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main id="card" data-state="loading" aria-labelledby="heading">
  <p class="eyebrow">plaidbal<span class="env" data-env="${environment}">${environmentLabel}</span></p>
  <div class="icon" aria-hidden="true"></div>
  <h1 id="heading">${heading}</h1>
  <p id="status" role="status" aria-live="polite">Opening Plaid Link\u2026 If it doesn\u2019t appear, select Open Link.</p>
  <p id="detail" class="detail" hidden></p>
  <ul id="accounts" class="accounts" aria-label="Accounts" hidden></ul>
  <button id="open" type="button" disabled>Open Link</button>
  <noscript><p class="detail">Plaid Link needs JavaScript. Enable it for this page, then reload.</p></noscript>
  <p class="note">Served by plaidbal on this computer. Your bank login goes to Plaid, never to plaidbal.</p>
</main>
<script id="link-config" type="application/json">${config}</script>
<script nonce="${nonce}" src="${PLAID_LINK_SCRIPT_URL}"></script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
