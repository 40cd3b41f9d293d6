/**
 * The Plaid endpoints: one handler each, validating the body the way Plaid does and
 * answering with the shapes of the 2020-09-14 API (typed with the `plaid` package's types).
 * Handlers return the body without `request_id` (the server adds it) or throw PlaidApiError.
 */
import type {
  AccountsGetResponse,
  InstitutionsGetByIdResponse,
  InstitutionsGetResponse,
  ItemAccessTokenInvalidateResponse,
  ItemGetResponse,
  ItemPublicTokenExchangeResponse,
  ItemRemoveResponse,
  LinkSessionSuccessMetadataAccount,
  LinkTokenCreateResponse,
  LinkTokenGetResponse,
  LinkTokenGetSessionsResponse,
  ProductStatus,
  SandboxItemResetLoginResponse,
  SandboxPublicTokenCreateResponse,
} from 'plaid';
import { PlaidApiError, invalidField, missingFields, plaidError } from './errors.js';
import {
  CAPITAL_ONE,
  DEFAULT_INSTITUTION,
  SANDBOX_INSTITUTIONS,
  customAccounts,
  parseCustomUser,
  sandboxCredentialsError,
  userGoodAccounts,
  type SandboxInstitution,
} from './fixtures.js';
import { randomUUID } from 'node:crypto';
import { newRequestId } from './ids.js';
import { LINK_SESSION_RETENTION_MS, type AccountState, type EmulatorState, type ItemState, type LinkSessionState, type LinkTokenState } from './state.js';
import type { CompleteLinkOptions, RateLimits } from './types.js';
import type { ProductName, Wire, WireAccount, WireItem, WirePlaidError } from './wire.js';

export interface RouteContext {
  state: EmulatorState;
  /** The emulator's own origin, for hosted_link_url. */
  origin: string;
  clientId: string;
  rateLimits: RateLimits;
  redirectUris: string[] | null;
  /** The request_id this response will carry. */
  requestId: string;
}

type Body = Record<string, unknown>;
export type Reply<T> = Omit<Wire<T>, 'request_id'>;

interface Route {
  /** The request schema's top-level properties: anything else is UNKNOWN_FIELDS, as with Plaid. */
  fields: readonly string[];
  /** Plaid only serves /sandbox/* in the Sandbox. */
  sandboxOnly?: boolean;
  handle(body: Body, ctx: RouteContext): object;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

const VALID_PRODUCTS: ReadonlySet<string> = new Set<ProductName>([
  'assets', 'auth', 'balance', 'balance_plus', 'beacon', 'identity', 'identity_match', 'investments', 'investments_auth', 'liabilities',
  'payment_initiation', 'identity_verification', 'transactions', 'credit_details', 'income', 'income_verification', 'standing_orders',
  'transfer', 'employment', 'recurring_transactions', 'transactions_refresh', 'signal', 'statements', 'processor_payments',
  'processor_identity', 'profile', 'cra_base_report', 'cra_income_insights', 'cra_partner_insights', 'cra_network_insights',
  'cra_cashflow_insights', 'cra_monitoring', 'cra_lend_score', 'cra_plaid_credit_score', 'layer', 'pay_by_bank', 'protect_linked_bank',
  'protect_transactions',
]);
/** The spec's CountryCode enum (test/contract checks these against the OpenAPI file). */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(['US', 'GB', 'ES', 'NL', 'FR', 'IE', 'CA', 'DE', 'IT', 'PL', 'DK', 'NO', 'SE', 'EE', 'LT', 'LV', 'PT', 'BE', 'AT', 'FI']);
/** The languages LinkTokenCreateRequest.language lists as supported (checked the same way). */
export const LANGUAGES: ReadonlySet<string> = new Set(['da', 'nl', 'en', 'et', 'fr', 'de', 'hi', 'it', 'lv', 'lt', 'no', 'pl', 'pt', 'ro', 'es', 'sv', 'vi']);
const REMOVE_REASONS: ReadonlySet<string> = new Set(['FRAUD_FIRST_PARTY', 'FRAUD_FALSE_IDENTITY', 'FRAUD_ABUSE', 'FRAUD_OTHER', 'CONNECTION_IS_NON_FUNCTIONAL', 'OTHER']);

// ---------------------------------------------------------------------------------------------
// Validation in Plaid's style

const isAbsent = (value: unknown) => value === undefined || value === null;

function requireFields(body: Body, fields: string[]): void {
  const missing = fields.filter((field) => isAbsent(body[field]));
  if (missing.length > 0) throw missingFields(missing);
}

function nonEmptyString(body: Body, field: string, label = field): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) throw invalidField(`${label} must be a properly formatted, non-empty string`);
  return value;
}

function optionalString(body: Body, field: string, label = field): string | null {
  return isAbsent(body[field]) ? null : nonEmptyString(body, field, label);
}

function optionalObject(body: Body, field: string, label = field): Body | null {
  const value = body[field];
  if (isAbsent(value)) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidField(`${label} must be an object`);
  return value as Body;
}

function stringArray(body: Body, field: string, label = field): string[] {
  const value = body[field];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidField(`${label} must be an array of strings`);
  return value as string[];
}

function countryCodes(body: Body): string[] {
  const codes = stringArray(body, 'country_codes');
  if (codes.length === 0) throw invalidField('country_codes must contain at least one country code');
  const invalid = codes.filter((code) => !COUNTRY_CODES.has(code));
  if (invalid.length > 0) throw invalidField(`invalid country_codes: ${invalid.join(', ')}`);
  return codes;
}

/** `products` / `initial_products`: known products, at least one, and never `balance`. */
function productList(body: Body, field: string): ProductName[] {
  const products = stringArray(body, field);
  if (products.length === 0) throw invalidField('must provide at least one product');
  if (products.includes('balance')) {
    throw invalidField(
      `balance is not a valid product for ${field}: the Balance product does not require explicit initialization and is initialized automatically with any other product`,
    );
  }
  const unknown = products.filter((product) => !VALID_PRODUCTS.has(product));
  if (unknown.length > 0) throw invalidField(`${field} contains invalid products: ${unknown.join(', ')}`);
  return [...new Set(products)] as ProductName[];
}

function institutionById(id: string): SandboxInstitution {
  const institution = SANDBOX_INSTITUTIONS.get(id);
  if (!institution) throw plaidError('INVALID_INSTITUTION');
  return institution;
}

/** PLAID-NOTES ("OAuth"): https, or http on localhost in Sandbox only, and registered in the dashboard. */
function checkRedirectUri(uri: string, registered: string[] | null, environment: string): void {
  const notRegistered = invalidField('OAuth redirect URI must be configured in the developer dashboard. See https://dashboard.plaid.com/team/api');
  if (registered) {
    if (!registered.includes(uri)) throw notRegistered;
    return;
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidField('redirect_uri must be a valid URI');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && environment === 'sandbox')) throw notRegistered;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---------------------------------------------------------------------------------------------
// Items, accounts, sandbox users

function itemJson(item: ItemState, itemError: WirePlaidError | null = null): WireItem {
  const institution = SANDBOX_INSTITUTIONS.get(item.institution_id);
  return {
    available_products: (institution?.products ?? []).filter((product) => !item.products.includes(product)),
    billed_products: [...item.products],
    consent_expiration_time: null,
    error: itemError,
    institution_id: item.institution_id,
    institution_name: item.institution_name,
    item_id: item.item_id,
    products: [...item.products],
    consented_products: [...item.products],
    update_type: 'background',
    webhook: item.webhook,
    auth_method: null,
  };
}

function requestedAccounts(item: ItemState, body: Body): AccountState[] {
  const options = optionalObject(body, 'options');
  if (!options || isAbsent(options.account_ids)) return item.accounts;
  const ids = stringArray(options, 'account_ids', 'options.account_ids');
  if (ids.length === 0) return item.accounts;
  const unknown = ids.some((id) => !item.accounts.some((account) => account.live.account_id === id));
  if (unknown) throw plaidError('INVALID_ACCOUNT_ID');
  return item.accounts.filter((account) => ids.includes(account.live.account_id));
}

function assertItemHealthy(item: ItemState, state: EmulatorState): void {
  if (state.loginRequired(item)) throw plaidError('ITEM_LOGIN_REQUIRED');
}

/** The account as an API response shows it; Plaid sends last_updated_datetime for Capital One only. */
function accountJson(item: ItemState, account: AccountState): WireAccount {
  const json = structuredClone(account.cached);
  if (item.institution_id === CAPITAL_ONE) json.balances.last_updated_datetime = iso(account.cachedAt);
  else delete json.balances.last_updated_datetime;
  return json;
}

/** The accounts a Sandbox login yields, or the Plaid error it fails with. */
export function sandboxLogin(institution: SandboxInstitution, username: string, password: string): WireAccount[] {
  if (username === 'user_custom') {
    const config = parseCustomUser(password);
    if (config.force_error) throw sandboxCredentialsError(config.force_error);
    return customAccounts(config);
  }
  // OAuth institutions never see Plaid's credentials form, so sandbox passwords do nothing there.
  if (institution.oauth) return userGoodAccounts();
  if (password.startsWith('error_')) throw sandboxCredentialsError(password.slice('error_'.length));
  if (password !== 'pass_good' && password !== 'mfa_device') throw plaidError('INVALID_CREDENTIALS');
  return userGoodAccounts();
}

// ---------------------------------------------------------------------------------------------
// Link sessions

function sessionAccounts(item: ItemState): Wire<LinkSessionSuccessMetadataAccount>[] {
  return item.accounts.map(({ live }) => ({
    id: live.account_id,
    name: live.name,
    mask: live.mask,
    type: live.type,
    // LinkSessionSuccessMetadataAccount.subtype is a non-nullable string.
    ...(live.subtype === null ? {} : { subtype: live.subtype }),
    verification_status: null,
    class_type: null,
  }));
}

function sessionJson(session: LinkSessionState, state: EmulatorState, requestId: string): Wire<LinkTokenGetSessionsResponse> {
  const item = session.success ? state.items.get(session.success.item_id) : undefined;
  const exitInstitution = session.exit?.institution_id ? SANDBOX_INSTITUTIONS.get(session.exit.institution_id) : undefined;
  return {
    link_session_id: session.link_session_id,
    started_at: iso(session.startedAt),
    finished_at: session.finishedAt === null ? null : iso(session.finishedAt),
    results:
      session.success && item
        ? {
            // Update mode adds no Item: Plaid does not promise a public token there.
            item_add_results: session.success.update
              ? []
              : [
                  {
                    public_token: session.success.public_token,
                    accounts: sessionAccounts(item),
                    institution: { name: item.institution_name, institution_id: item.institution_id },
                  },
                ],
            cra_item_add_results: [],
            cra_update_results: [],
            bank_income_results: [],
            payroll_income_results: [],
            document_income_results: null,
          }
        : null,
    exit: session.exit
      ? {
          error: session.exit.error,
          metadata: {
            institution: exitInstitution ? { name: exitInstitution.name, institution_id: exitInstitution.institution_id } : null,
            status: session.exit.error ? 'requires_credentials' : 'institution_not_found',
            link_session_id: session.link_session_id,
            request_id: requestId,
          },
        }
      : null,
  };
}

/**
 * Test helper behind Emulator.startLinkSession (and the Hosted Link page opening): the user
 * opens Link. /link/token/get lists the session with `finished_at: null` until it ends.
 */
export function startLinkSession(state: EmulatorState, linkToken: string): string {
  const token = state.linkTokens.get(linkToken);
  if (!token) throw new Error(`Plaid emulator: no link token ${linkToken}`);
  const now = state.clock();
  if (now > token.expiresAt) throw new Error(`Plaid emulator: link token ${linkToken} expired at ${iso(token.expiresAt)}`);
  const session: LinkSessionState = { link_session_id: randomUUID(), startedAt: now, finishedAt: null, success: null, exit: null };
  token.sessions.push(session);
  return session.link_session_id;
}

/**
 * The accounts Link lets into an item. "By default, Link will provide limited account
 * filtering: … if `auth` is specified in the `products` array, will also filter out accounts
 * other than `checking`, `savings`, and `cash management` accounts on the Account Select pane"
 * (plaid-openapi 2020-09-14.yml, LinkTokenAccountFilters); "If the user selects only excluded
 * account subtypes, the link attempt will fail". /sandbox/public_token/create skips Link and
 * its Account Select pane, so it is not filtered.
 */
export function linkAccountFilter(products: readonly string[], accounts: WireAccount[]): WireAccount[] {
  if (!products.includes('auth')) return accounts;
  return accounts.filter((a) => a.type === 'depository' && ['checking', 'savings', 'cash management'].includes(a.subtype ?? ''));
}

/** Test helper behind Emulator.completeLinkSession: the user finishing Link (or leaving it). */
export function completeLinkSession(state: EmulatorState, linkToken: string, opts: CompleteLinkOptions = {}): string | undefined {
  const token = state.linkTokens.get(linkToken);
  if (!token) throw new Error(`Plaid emulator: no link token ${linkToken}`);
  const now = state.clock();
  if (now > token.expiresAt) throw new Error(`Plaid emulator: link token ${linkToken} expired at ${iso(token.expiresAt)}`);
  // Finishes the session the user has open, or one that starts and ends now.
  let session = token.sessions.find((s) => s.finishedAt === null);
  if (!session) {
    session = { link_session_id: randomUUID(), startedAt: now, finishedAt: null, success: null, exit: null };
    token.sessions.push(session);
  }
  session.finishedAt = now;

  const endWithError = (error: PlaidApiError, institutionId: string | null) => {
    session.exit = { error: { ...error.body, request_id: newRequestId() }, institution_id: institutionId };
    return undefined;
  };

  if ('exit' in opts) {
    const { error_code, error_type, error_message, display_message, institution_id } = opts.exit;
    if (!error_code) {
      session.exit = { error: null, institution_id: institution_id ?? null };
      return undefined;
    }
    return endWithError(
      plaidError(error_code, {
        ...(error_type ? { error_type: error_type as WirePlaidError['error_type'] } : {}),
        ...(error_message !== undefined ? { error_message } : {}),
        ...(display_message !== undefined ? { display_message } : {}),
      }),
      institution_id ?? null,
    );
  }

  if (token.update_item_id) {
    const item = state.items.get(token.update_item_id);
    if (!item || item.removed) throw new Error(`Plaid emulator: the item of update-mode link token ${linkToken} was removed`);
    if (opts.password?.startsWith('error_')) return endWithError(sandboxCredentialsError(opts.password.slice('error_'.length)), item.institution_id);
    item.login_required = false;
    // Link web's onSuccess still hands over a public token in update mode; nothing exchanges it.
    item.loginAt = now;
    const publicToken = state.createPublicToken(item);
    session.success = { public_token: publicToken.token, item_id: item.item_id, update: true };
    return publicToken.token;
  }

  const institution = SANDBOX_INSTITUTIONS.get(opts.institution_id ?? DEFAULT_INSTITUTION);
  if (!institution) throw new Error(`Plaid emulator: no Sandbox institution ${opts.institution_id}`);
  let accounts: WireAccount[];
  try {
    accounts = sandboxLogin(institution, opts.username ?? 'user_good', opts.password ?? 'pass_good');
  } catch (error) {
    if (error instanceof PlaidApiError) return endWithError(error, institution.institution_id);
    throw error;
  }
  accounts = linkAccountFilter(token.products, accounts);
  if (accounts.length === 0) return endWithError(plaidError('NO_ACCOUNTS'), institution.institution_id);
  const item = state.createItem({
    institution_id: institution.institution_id,
    institution_name: institution.name,
    products: token.products,
    webhook: token.webhook,
    accounts,
    username: opts.username ?? 'user_good',
  });
  const publicToken = state.createPublicToken(item);
  session.success = { public_token: publicToken.token, item_id: item.item_id };
  return publicToken.token;
}

// ---------------------------------------------------------------------------------------------
// The endpoints

function linkTokenCreate(body: Body, ctx: RouteContext): Reply<LinkTokenCreateResponse> {
  const missing = ['client_name', 'language', 'country_codes'].filter((field) => isAbsent(body[field]));
  if (isAbsent(body.user) && isAbsent(body.user_id)) missing.push('user');
  if (missing.length > 0) throw missingFields(missing);
  const user = optionalObject(body, 'user');
  if (user && isAbsent(user.client_user_id)) throw missingFields(['user.client_user_id']);
  if (user) nonEmptyString(user, 'client_user_id', 'user.client_user_id');

  const clientName = nonEmptyString(body, 'client_name');
  const language = nonEmptyString(body, 'language');
  if (!LANGUAGES.has(language)) throw invalidField(`language must be one of: ${[...LANGUAGES].join(', ')}`);
  const countries = countryCodes(body);
  const webhook = optionalString(body, 'webhook');
  const redirectUri = optionalString(body, 'redirect_uri');
  if (redirectUri) checkRedirectUri(redirectUri, ctx.redirectUris, ctx.state.environment);
  const hostedLink = optionalObject(body, 'hosted_link');

  const accessToken = optionalString(body, 'access_token');
  const updateItem = accessToken ? ctx.state.itemForAccessToken(accessToken) : null;
  // Update mode needs no products; otherwise at least one.
  const noProducts = isAbsent(body.products) || (Array.isArray(body.products) && body.products.length === 0);
  if (noProducts && !updateItem) throw invalidField('must provide at least one product');
  const products = noProducts ? [] : productList(body, 'products');

  let lifetime = updateItem ? 30 * MINUTE : 4 * HOUR;
  if (hostedLink) {
    const seconds = hostedLink.url_lifetime_seconds;
    if (!isAbsent(seconds) && (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0 || seconds > 21 * 24 * 3600)) {
      throw invalidField('hosted_link.url_lifetime_seconds must be a positive integer of at most 21 days');
    }
    lifetime = typeof seconds === 'number' ? seconds * 1000 : 30 * MINUTE;
  }

  const token = ctx.state.createLinkToken({
    expiresAt: ctx.state.clock() + lifetime,
    client_name: clientName,
    language,
    country_codes: countries,
    products,
    webhook,
    redirect_uri: redirectUri,
    update_item_id: updateItem?.item_id ?? null,
    hosted: hostedLink !== null,
  });
  return {
    link_token: token.link_token,
    expiration: iso(token.expiresAt),
    ...(token.hosted_link_id ? { hosted_link_url: `${ctx.origin}/hl/${token.hosted_link_id}` } : {}),
  };
}

function linkTokenGet(body: Body, ctx: RouteContext): Reply<LinkTokenGetResponse> {
  requireFields(body, ['link_token']);
  const token: LinkTokenState = ctx.state.linkTokenFor(nonEmptyString(body, 'link_token'));
  return {
    link_token: token.link_token,
    created_at: iso(token.createdAt),
    expiration: iso(token.expiresAt),
    // In-progress sessions are listed; finished ones for six hours (LINK_SESSION_RETENTION_MS).
    link_sessions: token.sessions
      .filter((session) => session.finishedAt === null || ctx.state.clock() - session.finishedAt <= LINK_SESSION_RETENTION_MS)
      .map((session) => sessionJson(session, ctx.state, ctx.requestId)),
    metadata: {
      initial_products: [...token.products],
      webhook: token.webhook,
      country_codes: [...token.country_codes] as Wire<LinkTokenGetResponse>['metadata']['country_codes'],
      language: token.language,
      redirect_uri: token.redirect_uri,
      client_name: token.client_name,
    },
  };
}

function sandboxPublicTokenCreate(body: Body, ctx: RouteContext): Reply<SandboxPublicTokenCreateResponse> {
  requireFields(body, ['institution_id', 'initial_products']);
  const institution = institutionById(nonEmptyString(body, 'institution_id'));
  const products = productList(body, 'initial_products');
  const options = optionalObject(body, 'options') ?? {};
  const username = optionalString(options, 'override_username', 'options.override_username') ?? 'user_good';
  const password = optionalString(options, 'override_password', 'options.override_password') ?? 'pass_good';
  const webhook = optionalString(options, 'webhook', 'options.webhook');
  const accounts = sandboxLogin(institution, username, password);
  const item = ctx.state.createItem({ institution_id: institution.institution_id, institution_name: institution.name, products, webhook, accounts, username });
  return { public_token: ctx.state.createPublicToken(item).token };
}

function sandboxItemResetLogin(body: Body, ctx: RouteContext): Reply<SandboxItemResetLoginResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  item.login_required = true;
  return { reset_login: true };
}

function itemPublicTokenExchange(body: Body, ctx: RouteContext): Reply<ItemPublicTokenExchangeResponse> {
  requireFields(body, ['public_token']);
  const item = ctx.state.redeemPublicToken(nonEmptyString(body, 'public_token'));
  return { access_token: item.access_token, item_id: item.item_id };
}

function accountsGet(body: Body, ctx: RouteContext): Reply<AccountsGetResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  const accounts = requestedAccounts(item, body);
  assertItemHealthy(item, ctx.state);
  return { accounts: accounts.map((account) => accountJson(item, account)), item: itemJson(item) };
}

function accountsBalanceGet(body: Body, ctx: RouteContext): Reply<AccountsGetResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  const accounts = requestedAccounts(item, body);
  const { perItem, perClient, windowMs } = ctx.rateLimits;
  const itemWindow = `balance:item:${item.item_id}`;
  const clientWindow = `balance:client:${ctx.clientId}`;
  if (!ctx.state.allows(itemWindow, perItem, windowMs)) throw plaidError('BALANCE_LIMIT');
  if (!ctx.state.allows(clientWindow, perClient, windowMs)) throw plaidError('ACCOUNTS_BALANCE_GET_LIMIT');
  ctx.state.consume(itemWindow);
  ctx.state.consume(clientWindow);
  assertItemHealthy(item, ctx.state);
  const institution = SANDBOX_INSTITUTIONS.get(item.institution_id);
  if (institution?.health === 'DOWN') throw plaidError('INSTITUTION_DOWN');

  // Capital One has no real-time balance for non-depository accounts: the caller must say how
  // old a cached balance may be (MinLastUpdatedDatetime in the spec).
  const cachedOnly = item.institution_id === CAPITAL_ONE ? accounts.filter((account) => account.live.type !== 'depository') : [];
  if (cachedOnly.length > 0) {
    const options = optionalObject(body, 'options') ?? {};
    if (isAbsent(options.min_last_updated_datetime)) throw invalidField(`min_last_updated_datetime parameter required for balance on ${CAPITAL_ONE}`);
    const raw = nonEmptyString(options, 'min_last_updated_datetime', 'options.min_last_updated_datetime');
    const min = Date.parse(raw);
    if (Number.isNaN(min) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
      throw invalidField('options.min_last_updated_datetime must be an ISO 8601 timestamp (YYYY-MM-DDTHH:mm:ssZ)');
    }
    const stale = cachedOnly.find((account) => account.cachedAt < min);
    if (stale) throw plaidError('LAST_UPDATED_DATETIME_OUT_OF_RANGE', { params: { datetime: iso(stale.cachedAt) } });
  }

  const now = ctx.state.clock();
  for (const account of accounts) {
    if (cachedOnly.includes(account)) continue;
    account.cached = structuredClone(account.live);
    account.cachedAt = now;
  }
  return { accounts: accounts.map((account) => accountJson(item, account)), item: itemJson(item) };
}

function itemGet(body: Body, ctx: RouteContext): Reply<ItemGetResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  // Inside item.error Plaid uses the webhook form of the error, with `causes` and `status`.
  const loginRequired = plaidError('ITEM_LOGIN_REQUIRED');
  const itemError: WirePlaidError | null = ctx.state.loginRequired(item) ? { ...loginRequired.body, request_id: ctx.requestId, causes: [], status: loginRequired.status } : null;
  return {
    item: { ...itemJson(item, itemError), created_at: iso(item.createdAt) },
    status: {
      transactions: item.products.includes('transactions') ? { last_successful_update: iso(item.createdAt), last_failed_update: null } : null,
      investments: item.products.includes('investments') ? { last_successful_update: iso(item.createdAt), last_failed_update: null } : null,
      last_webhook: null,
    },
  };
}

function itemRemove(body: Body, ctx: RouteContext): Reply<ItemRemoveResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  const reason = optionalString(body, 'reason_code');
  if (reason && !REMOVE_REASONS.has(reason)) throw invalidField(`reason_code must be one of: ${[...REMOVE_REASONS].join(', ')}`);
  const note = body.reason_note;
  if (typeof note === 'string' && note.length > 512) throw invalidField('reason_note must be at most 512 characters');
  item.removed = true;
  return {};
}

/** The old token dies the moment this answers: whoever loses the answer loses the item's token. */
function itemAccessTokenInvalidate(body: Body, ctx: RouteContext): Reply<ItemAccessTokenInvalidateResponse> {
  requireFields(body, ['access_token']);
  const item = ctx.state.itemForAccessToken(nonEmptyString(body, 'access_token'));
  return { new_access_token: ctx.state.rotateAccessToken(item) };
}

function productStatus(institution: SandboxInstitution, since: string): Wire<ProductStatus> {
  const success = institution.health === 'HEALTHY' ? 0.99 : institution.health === 'DEGRADED' ? 0.6 : 0;
  return {
    status: institution.health,
    last_status_change: since,
    breakdown: { success, error_plaid: Number(((1 - success) / 2).toFixed(2)), error_institution: Number(((1 - success) / 2).toFixed(2)) },
  };
}

type InstitutionJson = Wire<InstitutionsGetByIdResponse>['institution'];

/** An institution as /institutions/get_by_id and /institutions/get return it. */
function institutionJson(institution: SandboxInstitution, options: Body, ctx: RouteContext): InstitutionJson {
  const withMetadata = options.include_optional_metadata === true;
  const since = iso(ctx.state.clock() - 24 * HOUR);
  return {
    country_codes: [...institution.country_codes] as InstitutionJson['country_codes'],
    institution_id: institution.institution_id,
    name: institution.name,
    products: [...institution.products],
    routing_numbers: [...institution.routing_numbers],
    dtc_numbers: [],
    oauth: institution.oauth,
    url: withMetadata ? institution.url : null,
    primary_color: withMetadata ? institution.primary_color : null,
    logo: null,
    ...(options.include_status === true
      ? {
          status: {
            item_logins: productStatus(institution, since),
            transactions_updates: productStatus(institution, since),
            auth: productStatus(institution, since),
            identity: productStatus(institution, since),
            investments_updates: productStatus(institution, since),
            liabilities_updates: productStatus(institution, since),
            liabilities: productStatus(institution, since),
            investments: productStatus(institution, since),
            health_incidents: [],
          },
        }
      : {}),
  };
}

function institutionsGetById(body: Body, ctx: RouteContext): Reply<InstitutionsGetByIdResponse> {
  requireFields(body, ['institution_id', 'country_codes']);
  const id = nonEmptyString(body, 'institution_id');
  const countries = countryCodes(body);
  const institution = institutionById(id);
  if (!institution.country_codes.some((code) => countries.includes(code))) throw plaidError('INVALID_INSTITUTION');
  return { institution: institutionJson(institution, optionalObject(body, 'options') ?? {}, ctx) };
}

function integerField(body: Body, field: string, min: number, max: number): number {
  const value = body[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalidField(`${field} must be an integer from ${min} to ${max}`);
  return value;
}

/** A page of the Sandbox institutions in the given countries (InstitutionsGetRequest: count 1-500, offset >= 0). */
function institutionsGet(body: Body, ctx: RouteContext): Reply<InstitutionsGetResponse> {
  requireFields(body, ['count', 'offset', 'country_codes']);
  const count = integerField(body, 'count', 1, 500);
  const offset = integerField(body, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const countries = countryCodes(body);
  const options = optionalObject(body, 'options') ?? {};
  let products: string[] | null = null;
  if (!isAbsent(options.products)) {
    products = stringArray(options, 'products', 'options.products');
    if (products.length === 0) throw invalidField('options.products must contain at least one product');
  }
  const matching = [...SANDBOX_INSTITUTIONS.values()].filter(
    (institution) =>
      institution.country_codes.some((code) => countries.includes(code)) &&
      (products === null || products.every((product) => institution.products.includes(product as ProductName))) &&
      (typeof options.oauth !== 'boolean' || institution.oauth === options.oauth),
  );
  // No include_status here: it is an option of /institutions/get_by_id only.
  const shown = { include_optional_metadata: options.include_optional_metadata };
  return { institutions: matching.slice(offset, offset + count).map((institution) => institutionJson(institution, shown, ctx)), total: matching.length };
}

const CREDENTIALS = ['client_id', 'secret'] as const;

export const ROUTES: Readonly<Record<string, Route>> = {
  '/link/token/create': {
    fields: [
      ...CREDENTIALS, 'client_name', 'language', 'country_codes', 'user', 'user_id', 'products', 'required_if_supported_products',
      'optional_products', 'additional_consented_products', 'webhook', 'access_token', 'access_tokens', 'link_customization_name',
      'appearance_mode', 'redirect_uri', 'android_package_name', 'institution_data', 'card_switch', 'account_filters', 'eu_config',
      'institution_id', 'payment_configuration', 'payment_initiation', 'employment', 'income_verification', 'base_report',
      'credit_partner_insights', 'cra_options', 'consumer_report_permissible_purpose', 'auth', 'transfer', 'update',
      'identity_verification', 'statements', 'third_party_user_token', 'investments', 'investments_auth', 'hosted_link', 'transactions',
      'cashflow_report', 'cra_enabled', 'identity', 'financekit_supported', 'enable_multi_item_link', 'user_token',
    ],
    handle: linkTokenCreate,
  },
  '/link/token/get': { fields: [...CREDENTIALS, 'link_token'], handle: linkTokenGet },
  '/sandbox/public_token/create': {
    fields: [...CREDENTIALS, 'institution_id', 'initial_products', 'options', 'user_token', 'user_id'],
    sandboxOnly: true,
    handle: sandboxPublicTokenCreate,
  },
  '/sandbox/item/reset_login': { fields: [...CREDENTIALS, 'access_token'], sandboxOnly: true, handle: sandboxItemResetLogin },
  '/item/public_token/exchange': { fields: [...CREDENTIALS, 'public_token'], handle: itemPublicTokenExchange },
  '/accounts/balance/get': { fields: [...CREDENTIALS, 'access_token', 'options'], handle: accountsBalanceGet },
  '/accounts/get': { fields: [...CREDENTIALS, 'access_token', 'options'], handle: accountsGet },
  '/item/get': { fields: [...CREDENTIALS, 'access_token'], handle: itemGet },
  '/item/remove': { fields: [...CREDENTIALS, 'access_token', 'reason_code', 'reason_note'], handle: itemRemove },
  '/item/access_token/invalidate': { fields: [...CREDENTIALS, 'access_token'], handle: itemAccessTokenInvalidate },
  '/institutions/get_by_id': { fields: [...CREDENTIALS, 'institution_id', 'country_codes', 'options'], handle: institutionsGetById },
  '/institutions/get': { fields: [...CREDENTIALS, 'count', 'offset', 'country_codes', 'options'], handle: institutionsGet },
};
