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
