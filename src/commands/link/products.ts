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
