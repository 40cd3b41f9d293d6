/**
 * `plaidbal link --hosted`: Plaid Hosted Link, for machines without a local browser. The
 * link token is created with `hosted_link: {}`; the user opens the returned URL on any
 * device; plaidbal polls /link/token/get until a session reports a public token or an exit
 * (in update mode: until a session has finished without an exit error; see hostedOutcome).
 */
import type { LinkTokenGetSessionsResponse } from 'plaid';
import type { Ctx } from '../../context.js';
import { CliError, ExitCode, isCliError } from '../../errors.js';
import type { LinkOutcome } from '../../link/callback.js';
import { escapeControls, stripControls } from '../../text.js';
import type { LinkOptions } from './index.js';
import { createLinkToken, environmentLabel, finishLink, interrupted, linkWait, pause, planLink, waitEnded, waitingLine } from './flow.js';

/**
 * How often /link/token/get is polled. A person takes tens of seconds to get through Link,
 * so 2 s adds little delay and keeps the calls few (about 300 in the default 10 minutes).
 */
export const HOSTED_POLL_INTERVAL_MS = 2_000;
/** The longest pause between polls while they fail. */
export const HOSTED_POLL_MAX_INTERVAL_MS = 30_000;
/** A poll's own timeout: the client's default (DEFAULT_TIMEOUT_MS in src/plaid/client.ts), or the time left to wait, whichever is less (but never under the minimum). */
const HOSTED_POLL_TIMEOUT_MS = 15_000;
const HOSTED_POLL_MIN_TIMEOUT_MS = 1_000;

// Text from Plaid ends up on the terminal: no control characters.
const strippedText = (value: unknown): string => (typeof value === 'string' ? stripControls(value) : '');
const nullableStrippedText = (value: unknown): string | null => (typeof value === 'string' ? stripControls(value) : null);

function institutionOf(value: { name?: string | null; institution_id?: string | null } | null | undefined) {
  return value && typeof value.name === 'string' && typeof value.institution_id === 'string'
    ? { name: strippedText(value.name), institution_id: strippedText(value.institution_id) }
    : null;
}

/**
 * The first finished session: a public token wins over exits (the user may have left one
 * session and finished another); `on_success`/`on_exit` are the deprecated spellings.
 * Sessions still in progress (`finished_at: null`, no exit, nothing added) are listed too, and an
 * exit does not end the wait while one is: the user left one session and is going through
 * another from the same URL.
 *
 * Update mode adds no Item, so Plaid does not promise a public token in `item_add_results`
 * (docs: Hosted Link, update mode): there a session that has finished (`finished_at` set)
 * with no exit is a success. Its outcome carries no public token; finishLink confirms the
 * repair with /item/get instead, as it does for the local page.
 */
export function hostedOutcome(sessions: readonly LinkTokenGetSessionsResponse[], opts: { update?: boolean } = {}): LinkOutcome | null {
  for (const session of sessions) {
    const added = session.results?.item_add_results?.find((r) => typeof r.public_token === 'string' && r.public_token !== '');
    const publicToken = added?.public_token ?? session.on_success?.public_token;
    if (publicToken) {
      return {
        kind: 'success',
        public_token: publicToken,
        metadata: {
          institution: institutionOf(added?.institution ?? session.on_success?.metadata?.institution),
          accounts: [],
          link_session_id: strippedText(session.link_session_id),
        },
      };
    }
  }
  if (opts.update) {
    const finished = sessions.find((session) => typeof session.finished_at === 'string' && session.finished_at !== '' && !(session.exit ?? session.on_exit));
    if (finished) {
      return {
        kind: 'success',
        public_token: null,
        metadata: { institution: null, accounts: [], link_session_id: strippedText(finished.link_session_id) },
      };
    }
  }
  const inProgress = sessions.some((session) => !(session.exit ?? session.on_exit) && !(typeof session.finished_at === 'string' && session.finished_at !== ''));
  if (inProgress) return null;
  for (const session of sessions) {
    const exit = session.exit ?? session.on_exit;
    if (!exit) continue;
    const error = exit.error;
    return {
      kind: 'exit',
      error: error
        ? {
            error_type: strippedText(error.error_type),
            error_code: strippedText(error.error_code),
            error_message: strippedText(error.error_message),
            display_message: nullableStrippedText(error.display_message),
          }
        : null,
      metadata: {
        institution: institutionOf(exit.metadata?.institution),
        status: nullableStrippedText(exit.metadata?.status),
        link_session_id: nullableStrippedText(exit.metadata?.link_session_id ?? session.link_session_id),
        request_id: nullableStrippedText(exit.metadata?.request_id ?? error?.request_id),
      },
    };
  }
  return null;
}

export async function runHostedLink(ctx: Ctx, opts: LinkOptions): Promise<number> {
  const plan = await planLink(ctx, opts);
  const e = ctx.io.err;
  const created = await createLinkToken(plan, { hosted: true });
  const url = created.hosted_link_url;
  if (!url) {
    throw new CliError('Plaid did not return a hosted_link_url, so Hosted Link is not available to this client.', {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: 'Ask Plaid to enable Hosted Link for your client, or run `plaidbal link` without --hosted on a machine with a browser.',
    });
  }

  const what = plan.update ? `reconnect "${plan.update.item.alias}"` : 'link an account';
  const wait = linkWait(plan, created, Date.now());
  // Printed, never opened here: opening it would put it on a browser's command line, where every
  // local user can read it (/proc/<pid>/cmdline), and anyone with it can finish Link.
  ctx.info(`Open this Plaid Hosted Link URL on any device to ${what} (${environmentLabel(plan.environment)}):`);
  ctx.info(`  ${e.bold(escapeControls(url))}`);
  ctx.info(e.dim(`  Anyone with this URL can use it until it expires (${new Date(wait.expiresAt).toISOString()}); do not share it.`));
  ctx.info(e.dim(waitingLine(wait)));

  const deadline = Date.now() + wait.timeoutMs;
  let warned = false;
  /** Polls failed in a row, and the last failure: the next poll waits longer after each. */
  let failures = 0;
  let lastFailure = '';
  for (;;) {
    let outcome: LinkOutcome | null = null;
    try {
      // No poll outlives the wait: its timeout is at most the time left (retries aside).
      const left = Math.max(deadline - Date.now(), HOSTED_POLL_MIN_TIMEOUT_MS);
      const got = await plan.plaid.call('linkTokenGet', { link_token: created.link_token }, { timeoutMs: Math.min(left, HOSTED_POLL_TIMEOUT_MS) });
      outcome = hostedOutcome(got.link_sessions ?? [], { update: plan.update !== null });
      failures = 0;
    } catch (error) {
      // A network blip, a 5xx or a 429 (already retried) should not end a session the user is
      // still working through; anything else (a bad link token, bad keys) should.
      if (ctx.signal.aborted) throw interrupted(); // Ctrl-C during a poll, not only between polls
      if (!isCliError(error) || error.exitCode !== ExitCode.PLAID_FAILURE) throw error;
      failures += 1;
      lastFailure = escapeControls(error.message).replace(/\.$/, '');
      if (!warned) ctx.info(e.yellow(`! Checking on Link failed (${lastFailure}); still trying, less often while it fails.`));
      warned = true;
    }
    if (outcome) return finishLink(ctx, plan, outcome);
    const left = deadline - Date.now();
    if (left <= 0) {
      const why = failures > 0 ? ` The last ${failures === 1 ? 'check' : `${failures} checks`} on Link failed (${lastFailure}).` : '';
      throw waitEnded(plan, wait, `${why} Anything finished at the Hosted Link URL from now on is not saved.`);
    }
    await pause(Math.min(pollInterval(failures), left), ctx.signal);
  }
}

/**
 * The pause before the next poll: HOSTED_POLL_INTERVAL_MS, doubled after each failed poll in a row
 * up to HOSTED_POLL_MAX_INTERVAL_MS. A rate limit (429) clears only with fewer calls, and an
 * outage is not shortened by asking more often (plaid.com/docs/errors/rate-limit-exceeded).
 */
export function pollInterval(failures: number): number {
  return Math.min(HOSTED_POLL_INTERVAL_MS * 2 ** Math.min(failures, 10), HOSTED_POLL_MAX_INTERVAL_MS);
}
