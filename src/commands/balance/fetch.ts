/**
 * Fetching one item's balances: the piece `balance` and `check` share. It opens the item's
 * sealed token, calls Plaid, and returns either the accounts or the item's error.
 */
import type { Ctx } from '../../context.js';
import { CliError, ExitCode } from '../../errors.js';
import { toAccountJson } from '../../format/json.js';
import { plaidErrorJson } from '../../plaid/errors.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import type { ItemBalanceJson } from '../../types.js';

export interface FetchOptions {
  /** `cached` uses the free /accounts/get; `realtime` the billed /accounts/balance/get. */
  source: 'realtime' | 'cached';
  accountIds?: string[];
  /** ISO-8601; only for /accounts/balance/get (Plaid honours it for Capital One). */
  minLastUpdated?: string;
  timeoutMs?: number;
}

export interface ItemResult {
  json: ItemBalanceJson;
  error: CliError | null;
}

export async function fetchItemBalances(ctx: Ctx, store: Store, item: StoredItem, opts: FetchOptions): Promise<ItemResult> {
  const base = {
    item_id: item.item_id,
    name: item.alias,
    institution_id: item.institution_id,
    institution_name: item.institution_name,
    balance_source: opts.source,
  };
  try {
    // At once: unlocking the store (the OS keychain answers from a helper process) and loading the Plaid client here.
    const [accessToken, plaid] = await Promise.all([
      store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`),
      ctx.plaid(item.environment, { timeoutMs: opts.timeoutMs }),
    ]);
    const callOptions = { secrets: [accessToken], item: item.alias, linkedAt: item.linked_at };
    const accountIds = opts.accountIds?.length ? { account_ids: opts.accountIds } : {};
    const response =
      opts.source === 'cached'
        ? await plaid.call('accountsGet', { access_token: accessToken, ...(opts.accountIds?.length ? { options: accountIds } : {}) }, callOptions)
        : await plaid.call(
            'accountsBalanceGet',
            {
              access_token: accessToken,
              ...(opts.accountIds?.length || opts.minLastUpdated ? { options: { ...accountIds, ...(opts.minLastUpdated ? { min_last_updated_datetime: opts.minLastUpdated } : {}) } } : {}),
            },
            callOptions,
          );
    return { json: { ...base, request_id: response.request_id, accounts: response.accounts.map(toAccountJson), error: null }, error: null };
  } catch (error) {
    // Plaid's errors about this item, and network failures or timeouts on its call, belong to the
    // item: the other items of a run go on. Store, credential and interrupt errors stop the run.
    const itemLevel = error instanceof CliError && (error.plaid !== undefined || error.exitCode === ExitCode.PLAID_FAILURE);
    if (!itemLevel) throw error;
    return { json: { ...base, request_id: error.plaid?.request_id ?? null, accounts: [], error: plaidErrorJson(error) }, error };
  }
}
