/** A store entry for tests that write a store file directly: a Sandbox item with a placeholder sealed token. */
import type { StoredItem } from '../../src/store/document.js';

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
