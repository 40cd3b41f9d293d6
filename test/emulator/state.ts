/**
 * Everything the emulator remembers: link tokens and their sessions, public tokens, items,
 * and the rolling windows behind the rate limits. Route handlers read and change it; tests
 * reach it through the helpers on Emulator.
 */
import { randomUUID } from 'node:crypto';
import { plaidError } from './errors.js';
import type { PlaidEnvironmentName } from './ids.js';
import { newItemId, newToken, parseToken } from './ids.js';
import type { ProductName, WireAccount, WireBalance, WirePlaidError } from './wire.js';

export const PUBLIC_TOKEN_LIFETIME_MS = 30 * 60_000;
/** plaid.com/docs/sandbox: Sandbox Items move to ITEM_LOGIN_REQUIRED 30 days after they were created. */
export const SANDBOX_ITEM_LIFETIME_MS = 30 * 24 * 3_600_000;

/** An item as tests see it (a copy: changing it changes nothing). */
export interface EmulatedItem {
  item_id: string;
  access_token: string;
  institution_id: string;
  institution_name: string;
  products: ProductName[];
  webhook: string | null;
  created_at: string;
  /** The accounts as the bank has them now; `/accounts/get` may still show older cached balances. */
  accounts: WireAccount[];
  /** After /sandbox/item/reset_login, until Link's update mode completes. */
  login_required: boolean;
  removed: boolean;
  username: string;
}

export interface AccountState {
  live: WireAccount;
  /** What `/accounts/get` returns: the balances as of the last refresh. */
  cached: WireAccount;
  cachedAt: number;
}

export interface ItemState {
  item_id: string;
  access_token: string;
  institution_id: string;
  institution_name: string;
  products: ProductName[];
  webhook: string | null;
  createdAt: number;
  /** When the user last logged in through Link (creation, or update mode): the Sandbox's 30 days run from here. */
  loginAt: number;
  accounts: AccountState[];
  login_required: boolean;
  removed: boolean;
  username: string;
}

export interface PublicTokenState {
  token: string;
  item_id: string;
  expiresAt: number;
  used: boolean;
}

/** Plaid keeps a Link session's data on /link/token/get for six hours after it ends (LinkTokenGetSessionsResponse). */
export const LINK_SESSION_RETENTION_MS = 6 * 60 * 60_000;

export interface LinkSessionState {
  link_session_id: string;
  startedAt: number;
  /** null while the user is still in Link: /link/token/get lists it with `finished_at: null`. */
  finishedAt: number | null;
  /**
   * On success: the public token and what Link's onSuccess metadata carries. `update` marks
   * update mode, where /link/token/get lists no Item add (nothing new was added).
   */
  success: { public_token: string; item_id: string; update?: boolean } | null;
  exit: { error: WirePlaidError | null; institution_id: string | null } | null;
}

export interface LinkTokenState {
  link_token: string;
  createdAt: number;
  expiresAt: number;
  client_name: string;
  language: string;
  country_codes: string[];
  products: ProductName[];
  webhook: string | null;
  redirect_uri: string | null;
  /** Set in update mode: the item whose login the session repairs. */
  update_item_id: string | null;
  hosted_link_id: string | null;
  sessions: LinkSessionState[];
}

export class EmulatorState {
  readonly items = new Map<string, ItemState>();
  private readonly itemsByToken = new Map<string, ItemState>();
  readonly publicTokens = new Map<string, PublicTokenState>();
  readonly linkTokens = new Map<string, LinkTokenState>();
  readonly linkTokensByHostedId = new Map<string, LinkTokenState>();
  private readonly windows = new Map<string, number[]>();

  constructor(
    readonly environment: PlaidEnvironmentName,
    private readonly now: () => number = Date.now,
  ) {}

  clock(): number {
    return this.now();
  }

  createItem(init: { institution_id: string; institution_name: string; products: ProductName[]; webhook: string | null; accounts: WireAccount[]; username: string }): ItemState {
    const now = this.now();
    const item: ItemState = {
      item_id: newItemId(),
      access_token: newToken('access', this.environment),
      institution_id: init.institution_id,
      institution_name: init.institution_name,
      products: [...init.products],
      webhook: init.webhook,
      createdAt: now,
      loginAt: now,
      accounts: init.accounts.map((account) => ({ live: structuredClone(account), cached: structuredClone(account), cachedAt: now })),
      login_required: false,
      removed: false,
      username: init.username,
    };
    this.items.set(item.item_id, item);
    this.itemsByToken.set(item.access_token, item);
    return item;
  }

  /**
   * /item/access_token/invalidate: a new access token for the item, and the old one dead at once
   * (spec, /item/access_token/invalidate: "returns a new access_token and immediately invalidates
   * the previous access_token").
   */
  rotateAccessToken(item: ItemState): string {
    this.itemsByToken.delete(item.access_token);
    item.access_token = newToken('access', this.environment);
    this.itemsByToken.set(item.access_token, item);
    return item.access_token;
  }

  createPublicToken(item: ItemState): PublicTokenState {
    const state: PublicTokenState = { token: newToken('public', this.environment), item_id: item.item_id, expiresAt: this.now() + PUBLIC_TOKEN_LIFETIME_MS, used: false };
    this.publicTokens.set(state.token, state);
    return state;
  }

  /** The item an access token opens, or the Plaid error for a token that opens nothing. */
  itemForAccessToken(token: string): ItemState {
    this.checkEnvironment(token, 'access', 'INVALID_ACCESS_TOKEN');
    const item = this.itemsByToken.get(token);
    if (!item) throw plaidError('INVALID_ACCESS_TOKEN');
    // A removed item's token: Plaid's ITEM_NOT_FOUND ("This Item does not exist, has been
    // previously removed via /item/remove, or has had access removed by the user",
    // plaid.com/docs/errors/item), also to a second /item/remove. A token that never opened an
    // item, or one a rotation retired, stays INVALID_ACCESS_TOKEN.
    if (item.removed) throw plaidError('ITEM_NOT_FOUND');
    return item;
  }

  /** Exchanges a public token once; a used, expired or unknown token is INVALID_PUBLIC_TOKEN. */
  redeemPublicToken(token: string): ItemState {
    this.checkEnvironment(token, 'public', 'INVALID_PUBLIC_TOKEN');
    const state = this.publicTokens.get(token);
    if (!state || state.used) throw plaidError('INVALID_PUBLIC_TOKEN');
    if (this.now() > state.expiresAt) {
      throw plaidError('INVALID_PUBLIC_TOKEN', {
        error_message: 'provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged',
      });
    }
    const item = this.items.get(state.item_id);
    if (!item || item.removed) throw plaidError('INVALID_PUBLIC_TOKEN');
    state.used = true;
    return item;
  }

  linkTokenFor(token: string): LinkTokenState {
    this.checkEnvironment(token, 'link', 'INVALID_LINK_TOKEN');
    const state = this.linkTokens.get(token);
    if (!state) throw plaidError('INVALID_LINK_TOKEN');
    return state;
  }

  createLinkToken(init: Omit<LinkTokenState, 'link_token' | 'createdAt' | 'sessions' | 'hosted_link_id'> & { hosted: boolean }): LinkTokenState {
    const { hosted, ...rest } = init;
    const state: LinkTokenState = { ...rest, link_token: newToken('link', this.environment), createdAt: this.now(), sessions: [], hosted_link_id: hosted ? randomUUID() : null };
    this.linkTokens.set(state.link_token, state);
    if (state.hosted_link_id) this.linkTokensByHostedId.set(state.hosted_link_id, state);
    return state;
  }

  /**
   * Whether the item needs its user: after /sandbox/item/reset_login, or, in the Sandbox, 30 days
   * after its last login (Plaid's Sandbox docs: Sandbox Items expire into ITEM_LOGIN_REQUIRED).
   */
  loginRequired(item: ItemState): boolean {
    return item.login_required || (this.environment === 'sandbox' && this.now() - item.loginAt >= SANDBOX_ITEM_LIFETIME_MS);
  }

  /** The item_id an access token opens, if any (latency per item). */
  itemIdForToken(token: string): string | undefined {
    return this.itemsByToken.get(token)?.item_id;
  }

  /** Looks an item up by item_id or access token, for the test helpers. */
  findItem(itemIdOrAccessToken: string): ItemState {
    const item = this.items.get(itemIdOrAccessToken) ?? this.itemsByToken.get(itemIdOrAccessToken);
    if (!item) throw new Error(`Plaid emulator: no item with item_id or access_token ${itemIdOrAccessToken}`);
    return item;
  }

  setAccounts(itemIdOrAccessToken: string, accounts: WireAccount[]): void {
    const item = this.findItem(itemIdOrAccessToken);
    const now = this.now();
    item.accounts = accounts.map((account) => ({ live: structuredClone(account), cached: structuredClone(account), cachedAt: now }));
  }

  setBalances(itemIdOrAccessToken: string, accountId: string, balances: Partial<WireBalance>): void {
    const item = this.findItem(itemIdOrAccessToken);
    const account = item.accounts.find((a) => a.live.account_id === accountId);
    if (!account) throw new Error(`Plaid emulator: item ${item.item_id} has no account ${accountId}`);
    account.live.balances = { ...account.live.balances, ...structuredClone(balances) };
  }

  /**
   * Whether one more call fits in a rolling window of `windowMs`. Only calls let through are
   * counted (see consume), so a window always drains.
   */
  allows(key: string, limit: number, windowMs: number): boolean {
    const now = this.now();
    const hits = (this.windows.get(key) ?? []).filter((at) => now - at < windowMs);
    this.windows.set(key, hits);
    return hits.length < limit;
  }

  consume(key: string, at = this.now()): void {
    const hits = this.windows.get(key) ?? [];
    hits.push(at);
    if (hits.length > 1 && hits[hits.length - 2]! > at) hits.sort((a, b) => a - b);
    this.windows.set(key, hits);
  }

  snapshot(item: ItemState): EmulatedItem {
    return {
      item_id: item.item_id,
      access_token: item.access_token,
      institution_id: item.institution_id,
      institution_name: item.institution_name,
      products: [...item.products],
      webhook: item.webhook,
      created_at: new Date(item.createdAt).toISOString(),
      accounts: item.accounts.map((a) => structuredClone(a.live)),
      login_required: this.loginRequired(item),
      removed: item.removed,
      username: item.username,
    };
  }

  private checkEnvironment(token: string, kind: 'link' | 'public' | 'access', code: string): void {
    const parsed = parseToken(token);
    if (!parsed || parsed.kind !== kind) {
      throw plaidError(code, { error_message: `provided ${kind} token is in an invalid format. expected format: ${kind}-<environment>-<identifier>` });
    }
    if (parsed.environment !== this.environment) {
      throw plaidError(code, { error_message: `provided ${kind} token is for the wrong Plaid environment. expected "${this.environment}", got "${parsed.environment}"` });
    }
  }
}
