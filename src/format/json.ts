/**
 * `plaidbal balance --json`: the one JSON document, in the documented key order. Kept apart
 * from the table code so that JSON, ndjson and csv output never load cli-table3.
 */
import type { AccountBase } from 'plaid';
import { plaidErrorJson } from '../plaid/errors.js';
import type { AccountBalancesJson, AccountJson, BalanceDocument, ItemBalanceJson } from '../types.js';

/**
 * `JSON.stringify(doc, null, 2)` with the documented key order whatever order the input has, and
 * null (never omitted) for anything missing. Amounts pass through as the doubles Plaid sent.
 */
export function balanceJson(doc: BalanceDocument): string {
  const ordered = {
    environment: doc.environment,
    fetched_at: doc.fetched_at,
    items: (doc.items ?? []).map(orderItem),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function orderItem(item: ItemBalanceJson): ItemBalanceJson {
  return {
    item_id: item.item_id,
    name: item.name,
    institution_id: item.institution_id ?? null,
    institution_name: item.institution_name ?? null,
    request_id: item.request_id ?? null,
    balance_source: item.balance_source,
    accounts: (item.accounts ?? []).map(orderAccount),
    error: item.error ? plaidErrorJson(item.error) : null,
  };
}

/** What orderAccount accepts: our own JSON or Plaid's AccountBase, possibly with fields missing. */
type AccountInput = Omit<AccountJson, 'balances' | 'official_name' | 'mask' | 'subtype'> & {
  official_name?: string | null;
  mask?: string | null;
  subtype?: string | null;
  balances?: Partial<AccountBalancesJson>;
};

function orderAccount(account: AccountInput): AccountJson {
  return {
    account_id: account.account_id,
    name: account.name,
    official_name: account.official_name ?? null,
    mask: account.mask ?? null,
    type: account.type,
    subtype: account.subtype ?? null,
    balances: orderBalances(account.balances),
  };
}

function orderBalances(balances: Partial<AccountBalancesJson> | undefined): AccountBalancesJson {
  return {
    available: balances?.available ?? null,
    current: balances?.current ?? null,
    limit: balances?.limit ?? null,
    iso_currency_code: balances?.iso_currency_code ?? null,
    unofficial_currency_code: balances?.unofficial_currency_code ?? null,
    last_updated_datetime: balances?.last_updated_datetime ?? null,
  };
}

/** Plaid's account, cut down to the fields plaidbal prints; extra fields (apy, verification_*) are dropped. */
export function toAccountJson(account: AccountBase): AccountJson {
  return orderAccount(account);
}
