/**
 * Plaid's error objects: the table of codes the emulator can produce, and the one builder.
 *
 * The body is what Plaid's API sends (see plaid.com/docs/errors and real responses quoted in
 * plaid-node issues): error_type, error_code, error_message, display_message, request_id,
 * documentation_url and suggested_action. Every error_message, display_message and HTTP status
 * below is the sample answer on Plaid's errors pages, word for word (plaid.com/docs/errors/item,
 * /institution, /invalid-input, /invalid-request, /invalid-result, /rate-limit-exceeded, /api;
 * checked 2026-12-01). INVALID_FIELD's text is specific to the field, and INSTITUTION_NOT_FOUND
 * is from an older version of the institution page. `status` and `causes` are left out on purpose: the
 * spec's PlaidError schema says `status` is only sent in webhooks and `causes` only for
 * ASSET_REPORT_ERROR / CHECK_REPORT_ERROR.
 */
import type { PlaidErrorTypeName, WirePlaidError } from './wire.js';

export interface PlaidErrorDefinition {
  error_type: PlaidErrorTypeName;
  status: number;
  error_message: string;
  display_message: string | null;
}

const RATE_LIMITED = 'rate limit exceeded for attempts to access this item. please try again later';
const INSTITUTION_NOT_RESPONDING = 'this institution is not currently responding to this request. please try again soon';
const INSTITUTION_NOT_RESPONDING_DISPLAY = 'This financial institution is not currently responding to requests. We apologize for the inconvenience.';

const define = (error_type: PlaidErrorTypeName, status: number, error_message: string, display_message: string | null = null): PlaidErrorDefinition => ({
  error_type,
  status,
  error_message,
  display_message,
});

/** Defaults per error_code. Messages with `{…}` placeholders are filled in by the caller. */
export const PLAID_ERRORS = {
  // INVALID_REQUEST
  MISSING_FIELDS: define('INVALID_REQUEST', 400, 'the following required fields are missing: {fields}'),
  UNKNOWN_FIELDS: define('INVALID_REQUEST', 400, 'the following fields are not recognized by this endpoint: {fields}'),
  INVALID_FIELD: define('INVALID_REQUEST', 400, '{field} must be a properly formatted, non-empty string'),
  INVALID_BODY: define('INVALID_REQUEST', 400, 'body could not be parsed as JSON'),
  NOT_FOUND: define('INVALID_REQUEST', 404, 'not found'),
  // INVALID_INPUT
  INVALID_API_KEYS: define('INVALID_INPUT', 400, 'invalid client_id or secret provided'),
  INVALID_ACCESS_TOKEN: define('INVALID_INPUT', 400, 'could not find matching access token'),
  INVALID_PUBLIC_TOKEN: define('INVALID_INPUT', 400, 'could not find matching public token'),
  INVALID_LINK_TOKEN: define('INVALID_INPUT', 400, 'invalid link_token provided'),
  INVALID_ACCOUNT_ID: define('INVALID_INPUT', 400, 'failed to find requested account ID for requested item'),
  INVALID_INSTITUTION: define('INVALID_INPUT', 400, 'invalid institution_id provided'),
  INVALID_PRODUCT: define('INVALID_INPUT', 400, 'client is not authorized to access the following products: {products}'),
  UNAUTHORIZED_ENVIRONMENT: define(
    'INVALID_INPUT',
    400,
    'you are not authorized to create items in this api environment. Go to the Dashboard (https://dashboard.plaid.com) to see which environments you are authorized for.',
  ),
  // plaid.com/docs/errors/invalid-input: these two are about the item's user, under INVALID_INPUT.
  USER_PERMISSION_REVOKED: define('INVALID_INPUT', 400, 'the holder of this account has revoked their permission for your application to access it'),
  ADDITIONAL_CONSENT_REQUIRED: define('INVALID_INPUT', 400, 'client does not have user consent to access the PRODUCT_AUTH product'),
  // INVALID_RESULT
  LAST_UPDATED_DATETIME_OUT_OF_RANGE: define('INVALID_RESULT', 400, 'requested datetime out of range, most recently updated balance {datetime}'),
  // ITEM_ERROR
  ITEM_LOGIN_REQUIRED: define(
    'ITEM_ERROR',
    400,
    "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
  ),
  ITEM_LOCKED: define(
    'ITEM_ERROR',
    400,
    "the account is locked. prompt the user to visit the institution's site and unlock their account",
    "The given account has been locked by the financial institution. Please visit your financial institution's website to unlock your account.",
  ),
  INVALID_CREDENTIALS: define('ITEM_ERROR', 400, 'the provided credentials were not correct', 'The provided credentials were not correct. Please try again.'),
  INVALID_MFA: define('ITEM_ERROR', 400, 'the provided MFA response(s) were not correct', 'The provided MFA responses were not correct. Please try again.'),
  INVALID_SEND_METHOD: define('ITEM_ERROR', 400, 'the provided MFA send_method was invalid'),
  ITEM_NOT_SUPPORTED: define(
    'ITEM_ERROR',
    400,
    'this account is currently not supported',
    'The given account is not currently supported for this financial institution. We apologize for the inconvenience.',
  ),
  MFA_NOT_SUPPORTED: define(
    'ITEM_ERROR',
    400,
    'this account requires a MFA type that we do not currently support for the institution',
    'The multi-factor security features enabled on this account are not currently supported for this financial institution. We apologize for the inconvenience.',
  ),
  NO_ACCOUNTS: define(
    'ITEM_ERROR',
    400,
    'no valid accounts were found for this item',
    "No valid accounts were found at the financial institution. Please visit your financial institution's website to confirm accounts are available.",
  ),
  USER_SETUP_REQUIRED: define(
    'ITEM_ERROR',
    400,
    "the account has not been fully set up. prompt the user to visit the issuing institution's site and finish the setup process",
    "The given account is not fully setup. Please visit your financial institution's website to setup your account.",
  ),
  USER_INPUT_TIMEOUT: define('ITEM_ERROR', 400, 'user must retry this operation', 'The application timed out waiting for user input'),
  PRODUCTS_NOT_SUPPORTED: define('ITEM_ERROR', 400, ''),
  // plaid.com/docs/errors/item
  ITEM_NOT_FOUND: define('ITEM_ERROR', 400, 'The Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user.'),
  PRODUCT_NOT_ENABLED: define('ITEM_ERROR', 400, 'A requested product was not enabled for the current access token. Please ensure it is included when when initializing Link and create the Item again.'),
  PRODUCT_NOT_READY: define('ITEM_ERROR', 400, 'the requested product is not yet ready. please provide a webhook or try the request again later'),
  // INSTITUTION_ERROR
  INSTITUTION_DOWN: define('INSTITUTION_ERROR', 400, INSTITUTION_NOT_RESPONDING, INSTITUTION_NOT_RESPONDING_DISPLAY),
  INSTITUTION_NOT_RESPONDING: define('INSTITUTION_ERROR', 400, INSTITUTION_NOT_RESPONDING, INSTITUTION_NOT_RESPONDING_DISPLAY),
  INSTITUTION_NOT_AVAILABLE: define('INSTITUTION_ERROR', 400, INSTITUTION_NOT_RESPONDING, INSTITUTION_NOT_RESPONDING_DISPLAY),
  // plaid.com/docs/errors/institution: "un-retryable and requires custom updates from Plaid".
  UNSUPPORTED_RESPONSE: define('INSTITUTION_ERROR', 400, 'the data returned from the financial institution is not in a supported format', 'The data returned from the financial institution is not in a supported format.'),
  INSTITUTION_NO_LONGER_SUPPORTED: define(
    'INSTITUTION_ERROR',
    400,
    'this institution is no longer supported',
    'This financial institution is no longer supported. We apologize for the inconvenience.',
  ),
  // Quoted from plaid.com/docs/errors/institution.
  INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT: define('INSTITUTION_ERROR', 400, 'Institution not enabled in this environment'),
  INSTITUTION_NOT_FOUND: define('INSTITUTION_ERROR', 400, 'this institution was not found. Please check the ID supplied'),
  UNAUTHORIZED_INSTITUTION: define(
    'INSTITUTION_ERROR',
    400,
    'not authorized to create items for this institution',
    'You are not authorized to create items for this institution at this time.',
  ),
  INSTITUTION_REGISTRATION_REQUIRED: define(
    'INSTITUTION_ERROR',
    400,
    'not yet registered to create items for this institution',
    'You must register your application with this institution before you can create items for it.',
  ),
  // RATE_LIMIT_EXCEEDED
  /** A trial plan's free usage used up (PLAID-NOTES: "among 429s … CREDITS_EXHAUSTED"). */
  CREDITS_EXHAUSTED: define('RATE_LIMIT_EXCEEDED', 429, 'Free usage exhausted, please request full Production access to continue using this product'),
  BALANCE_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, RATE_LIMITED),
  // Plaid's sample answers use the per-item wording even for the per-client limits.
  ACCOUNTS_BALANCE_GET_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, RATE_LIMITED),
  ACCOUNTS_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, RATE_LIMITED),
  ITEM_GET_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, RATE_LIMITED),
  // Sic: Plaid's sample names "institutions get by id".
  INSTITUTIONS_GET_BY_ID_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded for attempts to access "institutions get by id". please try again later'),
  INSTITUTION_RATE_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, 'The institution is currently receiving too many requests. Please try again later.'),
  RATE_LIMIT: define('RATE_LIMIT_EXCEEDED', 429, 'rate limit exceeded. please try again later'),
  // API_ERROR
  INTERNAL_SERVER_ERROR: define('API_ERROR', 500, 'an unexpected error occurred'),
  PLANNED_MAINTENANCE: define(
    'API_ERROR',
    503,
    'the Plaid API is temporarily unavailable due to planned maintenance. visit https://status.plaid.com/ for more information',
  ),
} satisfies Record<string, PlaidErrorDefinition>;

export type PlaidErrorCode = keyof typeof PLAID_ERRORS;

export function isKnownErrorCode(code: string): code is PlaidErrorCode {
  return Object.hasOwn(PLAID_ERRORS, code);
}

/** The error_code Plaid would most plausibly send with a bare HTTP status. */
export function errorCodeForStatus(status: number): PlaidErrorCode {
  if (status === 429) return 'RATE_LIMIT';
  if (status === 503) return 'PLANNED_MAINTENANCE';
  if (status === 404) return 'NOT_FOUND';
  if (status >= 500) return 'INTERNAL_SERVER_ERROR';
  return 'INVALID_FIELD';
}

/**
 * `https://plaid.com/docs/errors/item/#item_login_required` and friends: the page of the error
 * type, anchored at the code, as in an ITEM_LOGIN_REQUIRED answer captured from Sandbox (quoted in
 * public test fixtures) and as the errors pages are laid out.
 */
export function documentationUrl(errorType: string, errorCode: string): string {
  const page = errorType.toLowerCase().replace(/_error$/, '').replace(/_/g, '-');
  return `https://plaid.com/docs/errors/${page}/#${errorCode.toLowerCase()}`;
}

export type PlaidErrorBody = Omit<WirePlaidError, 'request_id'>;

/** Thrown by route handlers; the server turns it into the HTTP response. */
export class PlaidApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: PlaidErrorBody,
  ) {
    super(`${body.error_type} ${body.error_code}: ${body.error_message}`);
    this.name = 'PlaidApiError';
  }
}

export interface PlaidErrorOverrides {
  status?: number;
  error_type?: PlaidErrorTypeName;
  error_message?: string;
  display_message?: string | null;
  /** Values for `{placeholders}` in the default message. */
  params?: Record<string, string>;
}

export function plaidError(code: string, overrides: PlaidErrorOverrides = {}): PlaidApiError {
  const known = isKnownErrorCode(code) ? PLAID_ERRORS[code] : undefined;
  const errorType = overrides.error_type ?? known?.error_type;
  if (!errorType) throw new Error(`Plaid emulator: unknown error_code ${code}; pass error_type (and status) for codes outside the table in errors.ts`);
  let message = overrides.error_message ?? known?.error_message ?? '';
  for (const [key, value] of Object.entries(overrides.params ?? {})) message = message.replaceAll(`{${key}}`, value);
  return new PlaidApiError(overrides.status ?? known?.status ?? 400, {
    display_message: overrides.display_message !== undefined ? overrides.display_message : (known?.display_message ?? null),
    documentation_url: documentationUrl(errorType, code),
    error_code: code,
    error_message: message,
    error_type: errorType,
    suggested_action: null,
  });
}

export const missingFields = (fields: string[]) => plaidError('MISSING_FIELDS', { params: { fields: fields.join(', ') } });
export const invalidField = (message: string) => plaidError('INVALID_FIELD', { error_message: message });
