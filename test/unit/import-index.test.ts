/**
 * items import applies each verified row against an index of the store built once per batch
 * (BatchIndex in src/commands/items/import.ts), where it used to scan every stored item per row.
 * The index must choose exactly the alias link's defaultAlias() would choose, row after row,
 * whatever aliases the store already holds (gaps in the -2, -3 … suffixes included), and
 * must only count the aliases of the import's own environment.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchIndex } from '../../src/commands/items/import.js';
import { defaultAlias } from '../../src/commands/link/save.js';
import type { StoredItem, StoreDocument } from '../../src/store/document.js';
import type { Environment } from '../../src/types.js';
import { fuzz } from '../fuzz/support.js';

const item = (n: number, alias: string, environment: Environment): StoredItem => ({
  item_id: `item-${n}`,
  alias,
  environment,
  institution_id: null,
  institution_name: null,
  products: [],
  linked_at: '2026-01-01T00:00:00.000Z',
  last_balance_at: null,
  access_token: 'sealed',
});

const documentOf = (items: StoredItem[]) => ({ items }) as unknown as StoreDocument;

describe('BatchIndex', () => {
  it('chooses the aliases defaultAlias() chooses, row after row, over any store', () => {
    const base = fc.constantFrom('First Platypus Bank', 'Chase', null);
    const slugOf = (name: string | null) => defaultAlias(new Set(), name);
    fc.assert(
      fc.property(
        // Aliases already stored: a base, or a base with a suffix, in either environment (gaps come free).
        fc.array(fc.tuple(base, fc.integer({ min: 1, max: 12 }), fc.constantFrom<Environment>('production', 'sandbox')), { maxLength: 30 }),
        fc.array(base, { minLength: 1, maxLength: 30 }),
        (stored, rows) => {
          const seen = new Set<string>();
          const items: StoredItem[] = [];
          for (const [name, n, environment] of stored) {
            const alias = n === 1 ? slugOf(name) : `${slugOf(name)}-${n}`;
            if (seen.has(`${environment}/${alias}`)) continue;
            seen.add(`${environment}/${alias}`);
            items.push(item(items.length, alias, environment));
          }
          const doc = documentOf(items);
          const index = new BatchIndex(doc, 'production');
          const expected = new Set(items.filter((i) => i.environment === 'production').map((i) => i.alias));
          for (const [k, name] of rows.entries()) {
            const want = defaultAlias(expected, name);
            const got = index.freshAlias(name);
            expect(got).toBe(want);
            expected.add(want);
            const added = item(1000 + k, got, 'production');
            doc.items.push(added);
            index.add(added);
          }
        },
      ),
      fuzz(300),
    );
  });

  it('finds a stored item by item_id in any environment, and an alias holder in its own only', () => {
    const doc = documentOf([item(1, 'acme', 'production'), item(2, 'beta', 'sandbox')]);
    const index = new BatchIndex(doc, 'production');
    expect(index.byItemId.get('item-2')?.alias).toBe('beta');
    expect(index.aliasHolder.get('acme')?.item_id).toBe('item-1');
    expect(index.aliasHolder.has('beta')).toBe(false);
  });
});
