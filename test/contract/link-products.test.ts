/**
 * The products shell completion offers for `link --products` are products Plaid's spec accepts
 * in /link/token/create and /sandbox/public_token/create. Without the spec: a loud "not run"
 * (and a failure on CI), as in cli-contract.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LINK_PRODUCTS } from '../../src/commands/link/products.js';
import { loadContractOrGuard } from './openapi.js';

const contract = await loadContractOrGuard();

describe.skipIf(!contract)('LINK_PRODUCTS against the Plaid OpenAPI contract', () => {
  const linkToken = (products: string[]) => ({ client_name: 'plaidbal', language: 'en', country_codes: ['US'], user: { client_user_id: 'u' }, products });

  it('each is a product /link/token/create accepts', () => {
    for (const product of LINK_PRODUCTS) expect(contract!.validateRequest('/link/token/create', linkToken([product])).errors, product).toEqual([]);
  });

  it('the check can fail: a made-up product is refused', () => {
    expect(contract!.validateRequest('/link/token/create', linkToken(['transactionz'])).ok).toBe(false);
  });

  it('no duplicates, and not balance (not a Link product)', () => {
    expect(new Set(LINK_PRODUCTS).size).toBe(LINK_PRODUCTS.length);
    expect(LINK_PRODUCTS).not.toContain('balance');
    expect(LINK_PRODUCTS).toContain('transactions');
  });
});
