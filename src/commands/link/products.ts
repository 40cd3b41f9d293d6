/**
 * The products Plaid documents for Link's `products` (/link/token/create): the spec's
 * `x-override-enum-values-shown` of LinkTokenCreateRequest.products, in its order. Shell
 * completion offers them for `link --products`; test/contract/link-products.test.ts keeps the
 * list equal to the spec's. `balance` is not among them: it is not a Link product.
 * Kept apart from the link logic so completion loads nothing else.
 */
export const LINK_PRODUCTS = [
  'assets',
  'auth',
  'beacon',
  'employment',
  'identity',
  'income_verification',
  'identity_verification',
  'investments',
  'investments_auth',
  'liabilities',
  'payment_initiation',
  'protect_transactions',
  'standing_orders',
  'signal',
  'statements',
  'transactions',
  'transfer',
  'cra_base_report',
  'cra_income_insights',
  'cra_cashflow_insights',
  'cra_lend_score',
  'cra_partner_insights',
  'cra_network_insights',
  'cra_monitoring',
  'layer',
  'protect_linked_bank',
] as const;

/**
 * How Plaid bills the Link products plaidbal names, from plaid.com/docs/account/billing and
 * plaid.com/docs/link/initializing-products:
 * - one-time fee: charged once, when an Item is created with the product (an access_token was
 *   generated), however often its endpoints are called: Auth, Identity;
 * - subscription: charged every calendar month for as long as the Item exists, even while it is
 *   in an error state; only /item/remove stops it: Transactions, Investments, Liabilities;
 * - per request: Balance (/accounts/balance/get), billed per successful call whatever the Item's
 *   products. `balance` is never a Link product.
 * Your own contract with Plaid governs the actual prices.
 */
export type BillingModel = 'one-time' | 'subscription';

export const PRODUCT_BILLING: Readonly<Record<string, BillingModel>> = {
  auth: 'one-time',
  identity: 'one-time',
  transactions: 'subscription',
  investments: 'subscription',
  liabilities: 'subscription',
};

export const subscriptionProducts = (products: readonly string[]): string[] => products.filter((p) => PRODUCT_BILLING[p] === 'subscription');
