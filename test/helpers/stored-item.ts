/** Store entries and documents for tests that write a store file directly. */
import { emptyDocument, type StoreDocument, type StoredItem } from '../../src/store/document.js';

/** A Sandbox item with a placeholder sealed token. */

export const storedItem = (over: Partial<StoredItem> = {}): StoredItem => ({
  item_id: 'item00000000000000000000000000000001',
  alias: 'checking',
  environment: 'sandbox',
  institution_id: 'ins_109508',
  institution_name: 'First Platypus Bank',
  products: ['auth'],
  linked_at: '2026-12-01T10:00:00.000Z',
  last_balance_at: null,
  access_token: 'v1.sealed',
  ...over,
});

/**
 * A store document holding `items`, with a keychain key section the tests never open: a store with
 * sealed values and no key is corrupt (src/store/document.ts), as the key that sealed them is lost.
 */
export const keyedStore = (storeId: string, items: StoredItem[]): StoreDocument => ({
  ...emptyDocument(storeId),
  key: { source: 'keychain', account: `store-${storeId}`, check: 'not opened by these tests', created_at: '2026-12-01T10:00:00.000Z' },
  items,
});
