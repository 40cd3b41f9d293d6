/**
 * A stand-in for Plaid's Hosted Link page at the `hosted_link_url` the emulator hands out
 * (`<origin>/hl/<id>`): a form to "log in" with Sandbox credentials, or to leave. It lets a
 * developer (or a browser-driven test) finish Link by hand; tests usually call
 * Emulator.completeLinkSession instead.
 */
import { SANDBOX_INSTITUTIONS } from './fixtures.js';
import { completeLinkSession, startLinkSession } from './routes.js';
import type { EmulatorState } from './state.js';

const HOSTED_LINK_PATH = /^\/hl\/([0-9a-f-]{36})$/;

export const isHostedLinkPath = (path: string): boolean => HOSTED_LINK_PATH.test(path);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, content: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${content}</body></html>`;

export function hostedLinkPage(state: EmulatorState, method: string, path: string, rawBody: string): { status: number; html: string } {
  const id = HOSTED_LINK_PATH.exec(path)?.[1] ?? '';
  const token = state.linkTokensByHostedId.get(id);
  if (!token) return { status: 404, html: page('Link not found', '<p>This Hosted Link URL is unknown.</p>') };
  if (state.clock() > token.expiresAt) return { status: 410, html: page('Link expired', '<p>This Hosted Link URL has expired.</p>') };

  if (method === 'POST') {
    const form = new URLSearchParams(rawBody);
    if (form.get('action') === 'exit') {
      completeLinkSession(state, token.link_token, { exit: {} });
      return { status: 200, html: page('You left Link', '<p>You can close this window.</p>') };
    }
    const publicToken = completeLinkSession(state, token.link_token, {
      institution_id: form.get('institution_id') ?? undefined,
      username: form.get('username') ?? undefined,
      password: form.get('password') ?? undefined,
    });
    return publicToken
      ? { status: 200, html: page('Success', '<p id="status" data-status="success">Your account was linked. You can close this window.</p>') }
      : { status: 200, html: page('Link failed', '<p id="status" data-status="exit">The login failed. You can close this window.</p>') };
  }

  // Opening the URL starts a session: /link/token/get lists it in progress until the form is sent.
  if (!token.sessions.some((s) => s.finishedAt === null)) startLinkSession(state, token.link_token);
  const options = [...SANDBOX_INSTITUTIONS.values()]
    .map((ins) => `<option value="${escapeHtml(ins.institution_id)}">${escapeHtml(ins.name)}</option>`)
    .join('');
  const institutionField = token.update_item_id ? '' : `<label>Institution <select name="institution_id">${options}</select></label><br>`;
  return {
    status: 200,
    html: page(
      `${escapeHtml(token.client_name)} uses Plaid (emulated)`,
      `<form method="post">${institutionField}<label>Username <input name="username" value="user_good"></label><br>` +
        `<label>Password <input name="password" value="pass_good"></label><br>` +
        `<button type="submit" name="action" value="submit">Continue</button> <button type="submit" name="action" value="exit">Exit</button></form>`,
    ),
  };
}
