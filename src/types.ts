/** Domain types shared across commands. Plaid's own types are imported as types only. */

export const ENVIRONMENTS = ['sandbox', 'production'] as const;

/**
 * The environment variables that carry a secret. plaidbal reads them from its own copy of the
 * environment (cli.ts main) and hands them to no program it starts: not the browser `link`
 * opens, which can outlive it by hours, not the keychain helper.
 */
export const SECRET_VARIABLES = ['PLAID_SECRET', 'PLAIDBAL_PASSPHRASE', 'PLAIDBAL_NEW_PASSPHRASE'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** What the store keeps about a linked item. Everything except the token stays in the clear. */
export interface ItemRecord {
  item_id: string;
  alias: string;
  environment: Environment;
  institution_id: string | null;
  institution_name: string | null;
  products: string[];
  linked_at: string; // ISO-8601
  last_balance_at?: string | null; // ISO-8601 of the last successful balance call
}

/**
 * Plaid's error object cut to the five fields plaidbal documents (no `causes`, `status`,
 * `documentation_url`…), as it appears in plaidbal's JSON output. plaidErrorJson in
 * src/plaid/errors.ts is the one place that makes it.
 */
export interface PlaidErrorJson {
  error_type: string;
  error_code: string;
  error_message: string;
  display_message: string | null;
  request_id: string | null;
}

export interface AccountBalancesJson {
  available: number | null;
  current: number | null;
  limit: number | null;
  iso_currency_code: string | null;
  unofficial_currency_code: string | null;
  last_updated_datetime: string | null;
}

export interface AccountJson {
  account_id: string;
  name: string;
  official_name: string | null;
  mask: string | null;
  type: string;
  subtype: string | null;
  balances: AccountBalancesJson;
}

export interface ItemBalanceJson {
  item_id: string;
  name: string; // the alias
  institution_id: string | null;
  institution_name: string | null;
  request_id: string | null;
  balance_source: 'realtime' | 'cached';
  accounts: AccountJson[];
  error: PlaidErrorJson | null;
}

/** The one JSON document `plaidbal balance --json` prints. Field order is part of the contract. */
export interface BalanceDocument {
  environment: Environment;
  fetched_at: string;
  items: ItemBalanceJson[];
}
