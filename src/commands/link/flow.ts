/**
 * What the two Plaid Link flows share (the local page in browser.ts, Hosted Link in
 * hosted.ts): checking the flags, creating the link token, waiting for the user with a
 * timeout and Ctrl-C, and turning Link's outcome into a saved item, a confirmed update,
 * or a CliError with an exit code.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { LinkTokenCreateRequest, LinkTokenCreateResponse } from 'plaid';
import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, configError, usageError } from '../../errors.js';
import { isPublicTokenFor, type LinkExitError, type LinkExitMetadata, type LinkOutcome } from '../../link/callback.js';
import type { PlaidClient } from '../../plaid/client.js';
import { errorRule, exitCodeForPlaidError, hintForPlaidError, plaidErrorJson } from '../../plaid/errors.js';
import type { Store } from '../../store/store.js';
import type { Environment } from '../../types.js';
import type { LinkOptions } from './index.js';
import { subscriptionProducts } from './products.js';
import { checkAliasFree, checkProducts, exchangeAndSave, linkedJson, linkedSummary } from './save.js';
import { confirmUpdated, resolveUpdateTarget, updatedJson, updatedSummary, type UpdateTarget } from './update.js';

/** How long plaidbal waits for the user to finish Link, unless --timeout says otherwise. */
export const DEFAULT_LINK_TIMEOUT_SECONDS = 600;

/**
 * How long a link token lives (Plaid's /link/token/create docs and Hosted Link docs): 4 hours,
 * but 30 minutes in update mode and for a Hosted Link URL. plaidbal never waits past the
 * earlier of this and the `expiration` Plaid returns.
 */
export const LINK_TOKEN_LIFETIME_MS = 4 * 60 * 60_000;
export const SHORT_LINK_TOKEN_LIFETIME_MS = 30 * 60_000;

/** Everything decided before Link opens. */
export interface LinkPlan {
  environment: Environment;
  store: Store;
  plaid: PlaidClient;
  /** Products for a new item; empty in update mode, where Plaid wants none. */
  products: string[];
  /** Set in update mode: the item being repaired and its (opened) access token. */
  update: UpdateTarget | null;
  alias?: string;
  countryCodes: string[];
  language: string;
  redirectUri?: string;
  timeoutMs: number;
  json: boolean;
  /** Hosted Link (`--hosted`) rather than the local page. */
  hosted: boolean;
}

/**
 * A stable pseudonymous id for Plaid's `user.client_user_id`: a hash of the store's random
 * store_id, so it never carries anything personal and is the same on every link from this
 * store. With no store yet there is nothing stable to derive it from, so it is random.
 */
export function clientUserId(storeId: string): string {
  const basis = storeId || randomBytes(16).toString('hex');
  return `plaidbal-${createHash('sha256').update(`plaidbal:client_user_id:v1:${basis}`).digest('hex').slice(0, 32)}`;
}

function checkCountryCodes(codes: string[] | undefined): string[] | undefined {
  if (!codes) return undefined;
  const upper = codes.map((c) => c.trim().toUpperCase());
  const bad = upper.filter((c) => !/^[A-Z]{2}$/.test(c));
  if (bad.length) throw usageError(`Not ISO-3166 alpha-2 country codes: ${bad.join(', ')}.`, 'Use e.g. --country US,CA.');
  return [...new Set(upper)];
}

function checkLanguage(language: string | undefined): string | undefined {
  if (language === undefined) return undefined;
  const lang = language.trim().toLowerCase();
  if (!/^[a-z]{2}$/.test(lang)) throw usageError(`"${language}" is not a two-letter language code.`, 'Use e.g. --language en.');
  return lang;
}

/**
 * PLAID-NOTES ("OAuth"): a redirect URI must be https, except http on localhost in Sandbox;
 * plaid/quickstart#144: an http localhost URI "works only in Sandbox". Checked at the door, before
 * the store is unlocked, as far as the URI alone tells (checkRedirectUriFor adds the environment).
 */
function checkRedirectUri(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw usageError(`--redirect-uri "${uri}" is not a URL.`);
  }
  if (url.protocol === 'http:') {
    if (!isLoopback(url)) throw usageError('--redirect-uri must be an https URL: Plaid takes http only for localhost, and only in Sandbox.');
  } else if (url.protocol !== 'https:') {
    throw usageError('--redirect-uri must be an https URL (http only for localhost in Sandbox).');
  }
  // The raw text: URL drops an empty query or fragment ("…/cb?"), which would still be sent.
  if (/[?#]/.test(uri)) throw usageError('--redirect-uri must not contain a query or fragment: Plaid refuses them.');
  return uri;
}

const isLoopback = (url: URL): boolean => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

/** The part of the rule that needs the environment: http on localhost is for Sandbox only. */
function checkRedirectUriFor(uri: string | undefined, environment: Environment): void {
  if (uri === undefined || environment === 'sandbox') return;
  const url = new URL(uri);
  if (url.protocol === 'http:') throw usageError(`--redirect-uri on http://${url.hostname} works only in Sandbox; in ${environment} it must be an https URL registered in the Plaid Dashboard.`);
}

/** Checks the flags at the door, before the store is unlocked or Plaid is called. */
function checkFlags(opts: LinkOptions): void {
  if (opts.sandboxUsername !== undefined || opts.sandboxPassword !== undefined) {
    throw usageError('--sandbox-username and --sandbox-password only apply with --sandbox.');
  }
  if (opts.update !== undefined) {
    if (opts.products) throw usageError('--products cannot be used with --update: update mode keeps the item\'s products.');
    if (opts.name) throw usageError('--name cannot be used with --update: the item keeps its alias.', 'Rename it with `plaidbal items rename`.');
  }
}

/** Resolves the flags, the store, the item (update mode) and the Plaid client. */
export async function planLink(ctx: Ctx, opts: LinkOptions): Promise<LinkPlan> {
  checkFlags(opts);
  const countryCodes = checkCountryCodes(opts.country);
  const language = checkLanguage(opts.language);
  const redirectUri = checkRedirectUri(opts.redirectUri);
  const products = opts.update === undefined ? checkProducts(opts.products) : [];
  const store = await ctx.store();

  let update: UpdateTarget | null = null;
  let environment: Environment;
  if (opts.update !== undefined) {
    // Update mode: the item's environment wins; opening its token also unlocks the store.
    update = await resolveUpdateTarget(store, opts.update, opts.env);
    environment = update.item.environment;
    checkRedirectUriFor(redirectUri, environment);
  } else {
    environment = resolveEnvironment(opts.env, ctx.env);
    checkRedirectUriFor(redirectUri, environment);
    if (opts.name) checkAliasFree(store, opts.name, environment);
    store.assertWritable();
    await confirmSubscription(ctx, environment, products, Boolean(opts.yes));
    // Unlock now, so a wrong passphrase or a missing keychain entry shows before the user
    // spends time in Link. A store without a key gets one when the item is saved.
    if (store.meta.key) await store.unlock();
  }

  const plaid = await ctx.plaid(environment);
  return {
    environment,
    store,
    plaid,
    products,
    update,
    alias: opts.name,
    countryCodes: countryCodes ?? plaid.profile.countryCodes,
    language: language ?? plaid.profile.language,
    redirectUri,
    timeoutMs: (opts.timeout ?? DEFAULT_LINK_TIMEOUT_SECONDS) * 1000,
    json: Boolean(opts.json),
    hosted: Boolean(opts.hosted),
  };
}

/**
 * In Production, a subscription product (Transactions, Investments, Liabilities) bills the new item
 * every month until it is removed (plaid.com/docs/account/billing). Say so before Link opens and ask
 * on a terminal; --yes skips the question; without a terminal, proceed and say so on stderr.
 */
async function confirmSubscription(ctx: Ctx, environment: Environment, products: string[], yes: boolean): Promise<void> {
  const subscriptions = subscriptionProducts(products);
  if (environment !== 'production' || subscriptions.length === 0) return;
  const e = ctx.io.err;
  const plural = subscriptions.length > 1;
  ctx.info(
    e.yellow(
      `! ${subscriptions.join(', ')} ${plural ? 'are subscription products' : 'is a subscription product'}: Plaid bills the new item for ${plural ? 'them' : 'it'} every month, even while the item is in an error state, until it is removed (\`plaidbal items remove <item>\`). --products auth is a one-time fee instead.`,
    ),
  );
  if (yes) return;
  if (!ctx.io.canPrompt) {
    ctx.info(e.yellow('! No terminal to ask on: linking with these products anyway (pass --yes to say so and silence this line).'));
    return;
  }
  const ok = await ctx.prompt.confirm(`Link a Production item with ${subscriptions.join(', ')} (billed monthly)?`, { default: false });
  if (!ok) throw new CliError('Nothing was linked.', { exitCode: ExitCode.LINK_CANCELLED, hint: 'For a one-time fee instead of a subscription, run `plaidbal link --products auth`.' });
}

/** /link/token/create for the plan; `hosted` adds `hosted_link: {}`. */
export async function createLinkToken(plan: LinkPlan, extra: { hosted?: boolean } = {}): Promise<LinkTokenCreateResponse> {
  const request: LinkTokenCreateRequest = {
    client_name: plan.plaid.profile.clientName,
    language: plan.language,
    country_codes: plan.countryCodes as never,
    user: { client_user_id: clientUserId(plan.store.meta.store_id) },
    // Update mode: the access token, and no products (Plaid: omit them).
    ...(plan.update ? { access_token: plan.update.accessToken } : { products: plan.products as never }),
    ...(plan.redirectUri ? { redirect_uri: plan.redirectUri } : {}),
    ...(extra.hosted ? { hosted_link: {} } : {}),
  };
  const secrets = plan.update ? [plan.update.accessToken] : [];
  const created = await plan.plaid.call('linkTokenCreate', request, { secrets, item: plan.update?.item.alias });
  if (!created.link_token.startsWith(`link-${plan.environment}-`)) {
    throw configError(`Plaid returned a link token that is not a ${plan.environment} token.`, 'Check PLAID_ENV / --env and PLAIDBAL_BASE_URL: they must point at the same environment.');
  }
  return created;
}

export function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes >= 120) {
    const m = minutes % 60;
    return m ? `${Math.floor(minutes / 60)} h ${m} min` : `${minutes / 60} h`;
  }
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

/** The command that starts this link over. */
export function retryCommand(plan: LinkPlan): string {
  const base = plan.update ? `plaidbal link --update ${plan.update.item.alias}` : `plaidbal link${plan.environment === 'production' ? ' --env production' : ''}`;
  return plan.hosted ? `${base} --hosted` : base;
}

/** How long to wait for the user: --timeout, but never past the link token's expiry. */
export interface LinkWait {
  timeoutMs: number;
  /** When the link token stops working (ms since the epoch). */
  expiresAt: number;
  /** The token's expiry, not --timeout, ends the wait. */
  byToken: boolean;
}

export function linkWait(plan: LinkPlan, created: Pick<LinkTokenCreateResponse, 'expiration'>, now: number): LinkWait {
  const documented = now + (plan.update || plan.hosted ? SHORT_LINK_TOKEN_LIFETIME_MS : LINK_TOKEN_LIFETIME_MS);
  const stated = Date.parse(created.expiration ?? '');
  const expiresAt = Number.isFinite(stated) ? Math.min(stated, documented) : documented;
  const left = Math.max(0, expiresAt - now);
  return plan.timeoutMs <= left ? { timeoutMs: plan.timeoutMs, expiresAt, byToken: false } : { timeoutMs: left, expiresAt, byToken: true };
}

/** The "Waiting for Plaid Link…" line. */
export function waitingLine(wait: LinkWait): string {
  return wait.byToken
    ? `Waiting for Plaid Link… (Ctrl-C to cancel; gives up after ${describeDuration(wait.timeoutMs)}, when the link token expires)`
    : `Waiting for Plaid Link… (Ctrl-C to cancel; gives up after ${describeDuration(wait.timeoutMs)})`;
}

export function timedOutError(plan: LinkPlan, extra = '', waitedMs = plan.timeoutMs): CliError {
  return new CliError(`Gave up waiting for Plaid Link after ${describeDuration(waitedMs)}. Nothing was ${plan.update ? 'changed' : 'saved'}.${extra}`, {
    exitCode: ExitCode.LINK_CANCELLED,
    hint: `Run \`${retryCommand(plan)}\` again when ready; --timeout SECONDS waits longer (default ${DEFAULT_LINK_TIMEOUT_SECONDS}), up to the link token's life.`,
  });
}

/** The link token expired: Link cannot finish any more. Not a usage error. */
export function expiredError(plan: LinkPlan, expiresAt: number | null, extra = ''): CliError {
  const when = expiresAt === null ? '' : ` at ${new Date(expiresAt).toISOString()}`;
  return new CliError(`The link token expired${when}: Plaid Link can no longer finish this session. Nothing was ${plan.update ? 'changed' : 'saved'}.${extra}`, {
    exitCode: ExitCode.LINK_CANCELLED,
    hint: `Start again with \`${retryCommand(plan)}\`. Update-mode link tokens and Hosted Link URLs last 30 minutes, other link tokens 4 hours.`,
  });
}

/** The wait's end: the token's expiry or --timeout. */
export const waitEnded = (plan: LinkPlan, wait: LinkWait, extra = ''): CliError =>
  wait.byToken ? expiredError(plan, wait.expiresAt, extra) : timedOutError(plan, extra, wait.timeoutMs);

/**
 * Waits for `work`, but no longer than `timeoutMs`, and not past Ctrl-C: on abort it
 * rejects with an 'Interrupted. Nothing was saved.' error (exit 130).
 */
/** What Ctrl-C while waiting for the user means for linking: nothing saved, nothing changed. */
export const interrupted = () => new CliError('Interrupted. Nothing was saved.', { exitCode: ExitCode.INTERRUPTED });

export function waitForUser<T>(work: Promise<T>, opts: { timeoutMs: number; signal: AbortSignal; onTimeout: () => Error }): Promise<T> {
  if (opts.signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => settle(() => reject(opts.onTimeout())), opts.timeoutMs);
    const onAbort = () => settle(() => reject(interrupted()));
    function settle(action: () => void) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      action();
    }
    opts.signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/** A pause that Ctrl-C cuts short. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Link's onExit with an error: Plaid's error fields, link_session_id and request_id, and the exit code for that error. */
export function linkExitError(plan: LinkPlan, error: LinkExitError, metadata: LinkExitMetadata): CliError {
  const session = metadata.link_session_id ?? 'unknown';
  // plaid.com/docs/link/handle-invalid-link-token: the token expired (30+ minutes in Link) or
  // too many failed logins used it up; plaid.com/docs/errors/invalid-input: "A link_token can only
  // be used once, except when working in the Sandbox", so a page reloaded in Production ends here
  // too. Start again with a new token; not a usage error.
  if (error.error_code === 'INVALID_LINK_TOKEN') {
    return new CliError(
      `Plaid Link refused the link token (INVALID_LINK_TOKEN, link_session_id ${session}): it expired, or it was used up (too many failed logins, or, outside Sandbox, a second Link session on it, such as a reloaded page). Nothing was ${plan.update ? 'changed' : 'saved'}.`,
      { exitCode: ExitCode.LINK_CANCELLED, hint: `Start again with \`${retryCommand(plan)}\`: it makes a new link token.` },
    );
  }
  const where = metadata.institution ? ` at ${metadata.institution.name}` : '';
  const info = plaidErrorJson({ ...error, request_id: metadata.request_id });
  const exitCode = exitCodeForPlaidError(info);
  const retry = retryCommand(plan);
  // Codes that no retry fixes get their own advice (src/plaid/errors.ts ERROR_RULES), never "try again later".
  const advice = errorRule(error.error_code)?.permanent
    ? hintForPlaidError(info, { environment: plan.environment, item: plan.update?.item.alias, now: Date.now() })
    : error.error_type === 'INSTITUTION_ERROR' || error.error_type === 'RATE_LIMIT_EXCEEDED' || error.error_type === 'API_ERROR'
      ? `The institution or Plaid could not complete the login right now; try \`${retry}\` again later.`
      : error.error_type === 'ITEM_ERROR'
        ? `The login at the bank did not succeed; run \`${retry}\` again and check the credentials or the bank's prompts.`
        : `Run \`${retry}\` again.`;
  return new CliError(`Plaid Link ended with ${error.error_code}${where} (link_session_id ${session}). Nothing was ${plan.update ? 'changed' : 'saved'}.`, {
    exitCode,
    plaid: info,
    hint: `${advice} Quote link_session_id ${session}${metadata.request_id ? ` and request_id ${metadata.request_id}` : ''} if you contact Plaid support.`,
  });
}

/** Link's onExit without an error: the user closed Link. */
export function linkClosedError(plan: LinkPlan, metadata: LinkExitMetadata): CliError {
  const status = metadata.status ? ` (Link status: ${metadata.status})` : '';
  const retry = retryCommand(plan);
  return new CliError(`Plaid Link was closed before ${plan.update ? 'the account was reconnected' : 'an account was linked'}${status}. Nothing was ${plan.update ? 'changed' : 'saved'}.`, {
    exitCode: ExitCode.LINK_CANCELLED,
    hint: `Run \`${retry}\` again when ready.`,
  });
}

/**
 * Turns Link's outcome into the command's result: a new item is exchanged and saved; an
 * updated item keeps its access token (Plaid: no exchange in update mode) and is checked
 * with /item/get. Exits become CliErrors.
 */
export async function finishLink(ctx: Ctx, plan: LinkPlan, outcome: LinkOutcome): Promise<number> {
  if (outcome.kind === 'exit') {
    throw outcome.error ? linkExitError(plan, outcome.error, outcome.metadata) : linkClosedError(plan, outcome.metadata);
  }
  // The page server already refuses other environments' tokens; Hosted Link results are checked only here.
  // Hosted Link in update mode may finish without one: update mode exchanges nothing.
  if (outcome.public_token !== null && !isPublicTokenFor(outcome.public_token, plan.environment)) {
    throw configError(`Plaid Link returned a public token that is not a ${plan.environment} token. Nothing was saved.`, 'Check PLAID_ENV / --env and PLAIDBAL_BASE_URL: they must point at the same environment.');
  }
  const institution = outcome.metadata.institution;

  if (plan.update) {
    ctx.info(ctx.io.err.dim('Link finished; checking the item with Plaid…'));
    const item = await confirmUpdated(plan.plaid, plan.update);
    // last_balance_at as `items --json` gives it: the store's field or the balance log, whichever is later.
    ctx.io.stdout.write(plan.json ? updatedJson(plan.store.withLastBalance([plan.update.item])[0]!, item) : updatedSummary(ctx, plan.update.item, institution?.name ?? null));
    return ExitCode.OK;
  }

  if (outcome.public_token === null) {
    throw new CliError('Plaid reported the Link session finished but listed no public token. Nothing was saved.', {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: `Run \`${retryCommand(plan)}\` again.`,
    });
  }
  ctx.info(ctx.io.err.dim('Link finished; saving the item…'));
  const linked = await exchangeAndSave(ctx, plan.store, plan.plaid, {
    publicToken: outcome.public_token,
    alias: plan.alias,
    products: plan.products,
    institutionId: institution?.institution_id ?? null,
    institutionName: institution?.name ?? null,
    linkSessionId: outcome.metadata.link_session_id ?? null,
  });
  ctx.io.stdout.write(plan.json ? linkedJson(linked) : linkedSummary(ctx, linked));
  return ExitCode.OK;
}

/** The browser is opened only when asked, on a terminal (BROWSER=none is honoured by ctx.openBrowser). */
export function mayOpenBrowser(ctx: Ctx, opts: LinkOptions): boolean {
  return opts.browser !== false && ctx.io.stderrIsTTY;
}

/** The label the terminal shows for an environment. */
export const environmentLabel = (environment: Environment) => (environment === 'production' ? 'Production' : 'Sandbox');
