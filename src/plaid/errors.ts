/**
 * The one place where a failed Plaid call becomes a CliError. It keeps Plaid's
 * error_type, error_code, messages and request_id, and drops the axios error, whose
 * config carries the PLAID-SECRET header.
 */
import { CliError, ExitCode, type PlaidErrorInfo } from '../errors.js';
import type { Environment, PlaidErrorJson } from '../types.js';

export interface PlaidErrorContext {
  environment: Environment;
  /** The alias of the item the call was about, for hints. */
  item?: string;
  /** When that item was linked (ISO-8601): Sandbox items expire after 30 days. */
  linkedAt?: string;
  /** Values that must never be printed (secret, access tokens): redacted from anything Plaid echoes. */
  secrets: readonly string[];
  /** How the call was retried (default 'transient'), so the message says whether it was. */
  policy?: RetryPolicy;
  /** Epoch ms; default Date.now(). */
  now?: number;
  /** The call was /accounts/balance/get, whose answers can take 30 s or more (a timeout's hint says so). */
  realtime?: boolean;
}

/**
 * Which failures of a call plaidbal retries:
 * - 'transient': 429s, 5xx and network errors, except the codes ERROR_RULES marks as not retried;
 * - 'unbilled': only failures Plaid cannot have billed: connection errors raised before the request
 *   was sent (refused, DNS), and 429/5xx answers that carry a Plaid error object (Plaid bills a
 *   successful call, and an error answer is not one). A timeout, a reset connection or a proxy's
 *   5xx page may hide a call Plaid served and billed: never retried. Used for /accounts/balance/get
 *   in Production (plaid.com/docs/account/billing: Balance is billed per successful call);
 * - 'never': not retried at all. Used for /item/public_token/exchange: a public token is single-use,
 *   so a retry after a lost answer can only fail with INVALID_PUBLIC_TOKEN.
 */
export type RetryPolicy = 'transient' | 'unbilled' | 'never';

/** Connection errors raised before any byte of the request reached the server. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

interface AxiosLikeError {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: unknown };
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

function plaidErrorBody(data: unknown): PlaidErrorInfo | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.error_code !== 'string' || typeof d.error_type !== 'string') return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    error_type: d.error_type,
    error_code: d.error_code,
    error_message: str(d.error_message) ?? '',
    display_message: str(d.display_message),
    request_id: str(d.request_id),
    documentation_url: str(d.documentation_url) ?? undefined,
    suggested_action: str(d.suggested_action),
  };
}

/**
 * What plaidbal does with each Plaid error_code it treats specially: exit code, whether the
 * call is retried, and what the user is told. Codes not listed here follow their error_type
 * (see `exitCodeForPlaidError` and `hintForPlaidError`). The README's "Plaid errors, exit codes
 * and retries" table is this table in prose; test/e2e/error-codes.test.ts has one test per row.
 *
 * Sources, code by code (common causes and troubleshooting steps): plaid.com/docs/errors/item,
 * /errors/institution, /errors/rate-limit-exceeded, /errors/invalid-input, /errors/api.
 */
export interface ErrorRule {
  exitCode: ExitCode;
  /** Whether plaidbal retries the call (capped backoff) when Plaid answers with this code. */
  retried: boolean;
  /** Whether Link's update mode fixes the item; unset, ITEM_ERRORs say yes and other types no (updateModeFixes()). */
  updateModeFixes?: boolean;
  /** Neither waiting, retrying nor running Link again fixes it (Link's own "try again later" advice must not be given). */
  permanent?: true;
  hint(ctx: HintContext): string;
}

export interface HintContext {
  environment: Environment;
  /** The item's alias, when the call was about a saved item. */
  item?: string;
  /** When the item was linked (ISO-8601), for the Sandbox's 30-day expiry. */
  linkedAt?: string;
  now: number;
}

/**
 * What to do about an error Link's update mode repairs. With no saved item (a link that failed
 * before anything was saved: `link --sandbox --sandbox-password error_ITEM_LOCKED`, or Link's own
 * error), there is nothing to update, so the fix is to link again.
 */
function loginFix(c: Pick<HintContext, 'item' | 'environment'>, code: string): string {
  if (c.item) return `The item needs its user: run \`plaidbal link --update ${c.item}\` to fix the login, then try again.`;
  const sandbox = c.environment === 'sandbox' ? ' (in Sandbox, `plaidbal link --sandbox` without --sandbox-password logs in as user_good)' : '';
  return `The institution refused the login (${code}), so nothing was linked and there is no item to update: run \`plaidbal link\` again${sandbox}.`;
}

const DAY_MS = 86_400_000;
/** plaid.com/docs/sandbox: a Sandbox Item moves to ITEM_LOGIN_REQUIRED 30 days after it was created. */
export const SANDBOX_ITEM_LIFETIME_DAYS = 30;

const removeAdvice = (ctx: HintContext) =>
  ctx.item
    ? `Remove the item with \`plaidbal items remove ${ctx.item}\` (an item keeps billing at Plaid until it is removed there).`
    : 'Link a different institution or account.';

const NOT_LATER = 'Retrying or waiting will not fix this.';
const TRY_LATER = 'The institution is not answering Plaid right now; try again later.';

export const ERROR_RULES: Readonly<Record<string, ErrorRule>> = {
  INVALID_API_KEYS: {
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: (c) => `Check the ${c.environment} client id and secret: run \`plaidbal config init --env ${c.environment}\`, or set PLAID_CLIENT_ID and PLAID_SECRET.`,
  },
  UNAUTHORIZED_ENVIRONMENT: {
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: (c) => `Your Plaid client is not enabled for ${c.environment}: request access in the Plaid Dashboard.`,
  },
  INVALID_ACCESS_TOKEN: {
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: (c) => `Plaid no longer knows this token. If another plaidbal was rotating it just now (items rotate), run the command again: the store has the new one. Otherwise the token was rotated, or the item removed, elsewhere (by another application holding the token): delete it here with \`plaidbal items remove ${c.item ?? '<item>'}\` and link it again.`,
  },
  INVALID_PUBLIC_TOKEN: {
    exitCode: ExitCode.PLAID_FAILURE,
    retried: false,
    hint: () => 'A public token can be exchanged once, within 30 minutes of Link finishing. Run `plaidbal link` again.',
  },
  INVALID_ACCOUNT_ID: {
    exitCode: ExitCode.USAGE,
    retried: false,
    hint: (c) => `List the item's accounts with \`plaidbal balance --item ${c.item ?? '<item>'}\` and pass one of their account_ids.`,
  },
  INVALID_PRODUCT: {
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: () => 'Your Plaid client is not enabled for that product; pick another with --products, or ask Plaid to enable it.',
  },
  LAST_UPDATED_DATETIME_OUT_OF_RANGE: {
    exitCode: ExitCode.PLAID_FAILURE,
    retried: false,
    hint: () => 'The institution has no balance as recent as --min-last-updated asks; try an earlier time, or omit it.',
  },
  ITEM_LOGIN_REQUIRED: {
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: true,
    hint: (c) => {
      if (!c.item) return loginFix(c, 'ITEM_LOGIN_REQUIRED');
      const fix = `run \`plaidbal link --update ${c.item}\` to fix the login, then try again.`;
      const linked = c.linkedAt ? Date.parse(c.linkedAt) : Number.NaN;
      if (c.environment === 'sandbox' && !Number.isNaN(linked) && c.now - linked >= SANDBOX_ITEM_LIFETIME_DAYS * DAY_MS) {
        const days = Math.floor((c.now - linked) / DAY_MS);
        return `Sandbox items turn ITEM_LOGIN_REQUIRED by themselves ${SANDBOX_ITEM_LIFETIME_DAYS} days after they are created (Plaid's Sandbox docs), and this one was linked ${days} days ago: ${fix} Or link a new Sandbox item.`;
      }
      return `The item needs its user: ${fix}`;
    },
  },
  // plaid.com/docs/errors/item: these three describe the item or its institution, not the login,
  // so Link's update mode cannot change them.
  PRODUCTS_NOT_SUPPORTED: {
    permanent: true,
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: false,
    hint: (c) =>
      `This item (its institution or accounts) does not support the Plaid product this call needs; update mode will not change that.${c.item ? ` \`plaidbal balance --item ${c.item} --cached\` reads its cached balances with the free /accounts/get.` : ''} ${removeAdvice(c)}`,
  },
  NO_ACCOUNTS: {
    permanent: true,
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: false,
    hint: (c) => `Plaid finds no usable accounts on this item (closed, or of a kind it cannot read there); update mode will not bring them back. ${removeAdvice(c)}`,
  },
  ITEM_NOT_SUPPORTED: {
    permanent: true,
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: false,
    hint: (c) => `Plaid does not support this kind of account at this institution; update mode will not change that. ${removeAdvice(c)}`,
  },
  // plaid.com/docs/errors/item: ITEM_NOT_FOUND ("does not exist, has been previously removed via
  // /item/remove, or has had access removed by the user… create a new Item") and
  // PRODUCT_NOT_ENABLED ("create the Item again"): update mode cannot bring either back.
  ITEM_NOT_FOUND: {
    permanent: true,
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: false,
    hint: (c) =>
      `Plaid no longer has this item: it was removed (with /item/remove, by another application holding its token, or by its user), and update mode cannot bring it back.${c.item ? ` Delete it here with \`plaidbal items remove ${c.item}\`, then link` : ' Link'} the account again: that makes a new item. ${NOT_LATER}`,
  },
  PRODUCT_NOT_ENABLED: {
    permanent: true,
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: false,
    hint: (c) => `The item was linked without a product this call needs, and update mode cannot add it: link the account again (\`plaidbal link\`). ${removeAdvice(c)}`,
  },
  // An error about the item's user, not the request. plaid.com/docs/errors/invalid-input has it as
  // an INVALID_INPUT and says to remove the item and link again; the pinned spec
  // (UserPermissionRevokedWebhook, with error_type ITEM_ERROR) says update mode can restore it.
  // So update mode first, and removal if that fails; keyed on the code, whichever type Plaid sends.
  USER_PERMISSION_REVOKED: {
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: true,
    hint: (c) =>
      c.item
        ? `The account holder revoked your application's access to this item (at their bank, or on my.plaid.com). \`plaidbal link --update ${c.item}\` asks them to grant it again; if that fails, remove the item with \`plaidbal items remove ${c.item}\` and link the account again (a new item). ${NOT_LATER}`
        : `The account holder revoked your application's access to this item. Link's update mode can ask them to grant it again; otherwise link the account again. ${NOT_LATER}`,
  },
  // ADDITIONAL_CONSENT_REQUIRED: "You can fix any Items with missing consent by using update mode."
  ADDITIONAL_CONSENT_REQUIRED: {
    exitCode: ExitCode.ITEM_NEEDS_USER,
    retried: false,
    updateModeFixes: true,
    hint: (c) =>
      c.item
        ? `The item's user has not consented to the data this call needs: run \`plaidbal link --update ${c.item}\` so the user can grant it, then try again.`
        : "The item's user has not consented to the data this call needs: Link's update mode lets the user grant it.",
  },
  // plaid.com/docs/errors/institution: down / not responding are temporary ("please try again soon")…
  INSTITUTION_DOWN: { exitCode: ExitCode.PLAID_FAILURE, retried: false, hint: () => TRY_LATER },
  INSTITUTION_NOT_RESPONDING: { exitCode: ExitCode.PLAID_FAILURE, retried: false, hint: () => TRY_LATER },
  INSTITUTION_NOT_AVAILABLE: { exitCode: ExitCode.PLAID_FAILURE, retried: false, hint: () => TRY_LATER },
  // …these four are not: they change only when Plaid's coverage, your dashboard settings or the input change.
  INSTITUTION_NO_LONGER_SUPPORTED: {
    permanent: true,
    exitCode: ExitCode.PLAID_FAILURE,
    retried: false,
    hint: (c) =>
      `Plaid no longer supports this institution (or it now requires OAuth connections); only a change at Plaid fixes that: file a Plaid Support ticket with its institution_id for details. ${NOT_LATER} ${removeAdvice(c)}`,
  },
  UNAUTHORIZED_INSTITUTION: {
    permanent: true,
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: () =>
      `Your Plaid client is not authorized for this institution: make sure it has Production access, and see the Plaid Dashboard's OAuth institutions page (https://dashboard.plaid.com/settings/compliance/us-oauth-institutions) for registration steps left to do; if none are listed, contact Plaid Support. ${NOT_LATER}`,
  },
  INSTITUTION_REGISTRATION_REQUIRED: {
    permanent: true,
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: () =>
      'Your application is not yet registered with this institution: complete the Security Questionnaire in the Plaid Dashboard (https://dashboard.plaid.com/overview/questionnaire); registration then takes up to a week (up to six for some banks). Retrying before that will not help.',
  },
  // UNSUPPORTED_RESPONSE: "This error is un-retryable and requires custom updates from Plaid."
  UNSUPPORTED_RESPONSE: {
    permanent: true,
    exitCode: ExitCode.PLAID_FAILURE,
    retried: false,
    hint: () => `The institution answered Plaid in a form Plaid does not support; only a change at Plaid fixes that: file a Plaid Support ticket quoting the request_id. ${NOT_LATER}`,
  },
  INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT: {
    permanent: true,
    exitCode: ExitCode.USAGE,
    retried: false,
    hint: (c) =>
      `This institution is not enabled in ${c.environment}.${c.environment === 'sandbox' ? ' Use a Sandbox institution such as ins_109508 (First Platypus Bank).' : ' Pick one that is.'} ${NOT_LATER}`,
  },
  // plaid.com/docs/errors/rate-limit-exceeded: the per-endpoint limits clear within a minute…
  BALANCE_LIMIT: { exitCode: ExitCode.PLAID_FAILURE, retried: true, hint: () => "Plaid rate-limited this item's balance calls even after retries; wait a minute and try again." },
  ACCOUNTS_BALANCE_GET_LIMIT: {
    exitCode: ExitCode.PLAID_FAILURE,
    retried: true,
    hint: () => 'Plaid rate-limited balance calls for your client_id (shared with every application using it) even after retries; wait a minute and try again.',
  },
  // ACCOUNTS_LIMIT is both a per-item and a per-client limit (plaid.com/docs/errors/rate-limit-exceeded).
  ACCOUNTS_LIMIT: { exitCode: ExitCode.PLAID_FAILURE, retried: true, hint: () => 'Plaid rate-limited /accounts/get calls (for this item, or for your client_id) even after retries; wait a minute and try again.' },
  INSTITUTION_RATE_LIMIT: { exitCode: ExitCode.PLAID_FAILURE, retried: true, hint: () => 'Plaid rate-limited calls to this institution even after retries; wait a minute and try again.' },
  // …RATE_LIMIT can mean a long wait, and CREDITS_EXHAUSTED (a trial plan's free credits) does not clear by waiting.
  RATE_LIMIT: {
    permanent: true,
    exitCode: ExitCode.PLAID_FAILURE,
    retried: false,
    hint: () => "Plaid's general rate limit: its wait can be long, and retrying at once only prolongs it. Try again in a few minutes.",
  },
  CREDITS_EXHAUSTED: {
    permanent: true,
    exitCode: ExitCode.CONFIG,
    retried: false,
    hint: () => `Your Plaid client has used up its free usage (trial credits): request full Production access in the Plaid Dashboard. ${NOT_LATER}`,
  },
  // plaid.com/docs/errors/api
  INTERNAL_SERVER_ERROR: {
    exitCode: ExitCode.PLAID_FAILURE,
    retried: true,
    hint: () => 'Plaid had an internal error even after retries; try again later, quoting the request_id if you contact Plaid.',
  },
  PLANNED_MAINTENANCE: {
    exitCode: ExitCode.PLAID_FAILURE,
    retried: true,
    hint: () => 'The Plaid API is down for planned maintenance (https://status.plaid.com); try again later.',
  },
};

export function errorRule(code: string): ErrorRule | undefined {
  return Object.hasOwn(ERROR_RULES, code) ? ERROR_RULES[code] : undefined;
}

export function exitCodeForPlaidError(info: Pick<PlaidErrorInfo, 'error_type' | 'error_code'>): ExitCode {
  const rule = errorRule(info.error_code);
  if (rule) return rule.exitCode;
  switch (info.error_type) {
    case 'ITEM_ERROR':
      return ExitCode.ITEM_NEEDS_USER;
    case 'INVALID_REQUEST':
    case 'INVALID_INPUT':
      return ExitCode.USAGE;
    default:
      return ExitCode.PLAID_FAILURE;
  }
}

/**
 * Whether Link's update mode fixes an item failing with this error: what its rule says, and
 * otherwise ITEM_ERRORs (those about the item itself say no in their rules).
 */
/**
 * The code Plaid answers when it no longer knows the item or its token (removed, or the token
 * rotated), or null for any other error: what a removal takes as "already gone".
 */
export function goneAtPlaid(error: unknown): 'INVALID_ACCESS_TOKEN' | 'ITEM_NOT_FOUND' | null {
  const code = error instanceof CliError ? error.plaid?.error_code : undefined;
  return code === 'INVALID_ACCESS_TOKEN' || code === 'ITEM_NOT_FOUND' ? code : null;
}

export function updateModeFixes(info: Pick<PlaidErrorInfo, 'error_type' | 'error_code'>): boolean {
  return errorRule(info.error_code)?.updateModeFixes ?? info.error_type === 'ITEM_ERROR';
}

export function hintForPlaidError(info: Pick<PlaidErrorInfo, 'error_type' | 'error_code'>, ctx: HintContext): string | undefined {
  const rule = errorRule(info.error_code);
  if (rule) return rule.hint(ctx);
  switch (info.error_type) {
    case 'ITEM_ERROR':
      return loginFix(ctx, info.error_code);
    case 'RATE_LIMIT_EXCEEDED':
      return 'Plaid rate-limited the call even after retries; wait a minute and try again.';
    case 'INSTITUTION_ERROR':
      return `The institution could not serve the request (${info.error_code}); see Plaid's documentation of that code.`;
    case 'API_ERROR':
      return 'Plaid had an internal error even after retries; try again later, quoting the request_id if you contact Plaid.';
  }
  return undefined;
}

/** Turns anything a Plaid call threw into a CliError. Never keeps the original error object. */
export function toCliError(error: unknown, ctx: PlaidErrorContext, host: string): CliError {
  if (error instanceof CliError) return error;
  const e = (error ?? {}) as AxiosLikeError;
  const clean = (s: string) => redact(s, ctx.secrets);
  const policy = ctx.policy ?? 'transient';
  const retried = isRetriable(error, policy);
  // A failure 'unbilled' does not retry: Plaid may have served the call (and billed it).
  const maybeServed = policy === 'unbilled' && !retried;
  const notRetried = maybeServed ? ' plaidbal did not retry it: Plaid may have served it, and in Production Plaid bills every real-time balance call it serves.' : '';
  if (e.response) {
    const info = plaidErrorBody(e.response.data);
    if (info) {
      const safe: PlaidErrorInfo = {
        ...info,
        error_message: clean(info.error_message),
        display_message: info.display_message === null ? null : clean(info.display_message),
        status: e.response.status,
      };
      return new CliError(`Plaid error ${safe.error_code} (${safe.error_type}): ${safe.error_message || 'no message'}`, {
        exitCode: exitCodeForPlaidError(safe),
        hint: hintForPlaidError(safe, { environment: ctx.environment, item: ctx.item, linkedAt: ctx.linkedAt, now: ctx.now ?? Date.now() }),
        plaid: safe,
      });
    }
    return new CliError(`Plaid answered HTTP ${e.response.status ?? '?'} without a Plaid error object (from ${host}).${notRetried}`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: 'A proxy or PLAIDBAL_BASE_URL may be pointing somewhere that is not Plaid; try again later.',
    });
  }
  if (e.isAxiosError || typeof e.code === 'string') {
    const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
    const what = timedOut ? 'timed out' : `failed (${clean(e.code ?? e.message ?? 'network error')})`;
    const hint = timedOut
      ? ctx.realtime
        ? 'Plaid can take 30 s or more for real-time balances; raise --timeout, or try again later.'
        : 'Plaid did not answer in time: try again later (or with a longer --timeout, where the command takes one).'
      : 'Check your network connection (and PLAIDBAL_BASE_URL, if set).';
    return new CliError(`The request to Plaid at ${host} ${what}${retried ? ', after retries' : ''}.${notRetried}`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: maybeServed ? `${hint} Running the command again makes another billed call.` : hint,
    });
  }
  return new CliError(`Unexpected error while calling Plaid: ${clean(error instanceof Error ? error.message : String(error))}`, { exitCode: ExitCode.UNEXPECTED });
}

/**
 * A Plaid error object as Plaid or plaidbal hands it on: CliError.plaid, item.error from
 * /item/get, or a PlaidErrorJson already cut. The optional fields may be missing or null.
 */
export type PlaidErrorFields = Pick<PlaidErrorJson, 'error_type' | 'error_code'> & { [K in 'error_message' | 'display_message' | 'request_id']?: PlaidErrorJson[K] | null };

/**
 * Plaid's errors about the client, not about one item: every item of a fan-out would fail the
 * same way, so the run stops (exit 3) instead of making every other call to fail it again.
 */
const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set(['INVALID_API_KEYS', 'UNAUTHORIZED_ENVIRONMENT', 'CREDITS_EXHAUSTED']);

/**
 * Whether `error` belongs to one item of a fan-out (balance --all, items status, items import):
 * Plaid's error about that item, or a network failure or timeout on its call, so the other items
 * go on. Credential errors (CREDENTIAL_ERRORS) and anything else (the store, the keychain, an
 * interruption) stop the run.
 */
export function isItemFailure(error: unknown): error is CliError {
  return error instanceof CliError && (error.plaid !== undefined || error.exitCode === ExitCode.PLAID_FAILURE) && !CREDENTIAL_ERRORS.has(error.plaid?.error_code ?? '');
}

/**
 * Plaid's error object as plaidbal's JSON output carries it: the five documented fields, in
 * their documented order, and nothing else (no `causes`, `status`, `documentation_url`…).
 * A CliError without a Plaid error object (network failure, timeout…) gets the same shape with
 * plaidbal's own codes. `secrets` (e.g. the access token the call used) are redacted from the
 * messages, which may echo what was sent.
 */
export function plaidErrorJson(error: CliError | PlaidErrorFields, secrets: readonly string[] = []): PlaidErrorJson {
  if (error instanceof CliError) {
    if (error.plaid) return plaidErrorJson(error.plaid, secrets);
    const network = error.exitCode === ExitCode.PLAID_FAILURE;
    return {
      error_type: network ? 'PLAIDBAL_NETWORK_ERROR' : 'PLAIDBAL_ERROR',
      error_code: network ? 'NETWORK_FAILURE' : error.exitCode === ExitCode.INTERRUPTED ? 'INTERRUPTED' : 'UNEXPECTED',
      error_message: redact(error.message, secrets),
      display_message: null,
      request_id: null,
    };
  }
  return {
    error_type: String(error.error_type),
    error_code: error.error_code,
    error_message: redact(error.error_message ?? '', secrets),
    display_message: error.display_message == null ? null : redact(error.display_message, secrets),
    request_id: error.request_id ?? null,
  };
}

/** Whether a failed call may be retried under `policy` (see RetryPolicy and ERROR_RULES). */
export function isRetriable(error: unknown, policy: RetryPolicy = 'transient'): boolean {
  if (policy === 'never') return false;
  const e = (error ?? {}) as AxiosLikeError;
  if (e.response) {
    const status = e.response.status ?? 0;
    const info = plaidErrorBody(e.response.data);
    if (info) {
      const rule = errorRule(info.error_code);
      if (rule) return rule.retried;
      if (info.error_type === 'ITEM_ERROR' || info.error_code.startsWith('INVALID_') || info.error_type.startsWith('INVALID_')) return false;
      return status === 429 || status >= 500;
    }
    // No Plaid error object: a proxy or gateway answered, and Plaid may have served the call behind it.
    return policy === 'transient' && (status === 429 || status >= 500);
  }
  if (!e.isAxiosError || e.code === 'ERR_CANCELED') return false;
  return policy === 'transient' || NOT_SENT_CODES.has(e.code ?? '');
}
