/**
 * The store's layout (one item per line, document.ts) and reading one item without parsing the
 * rest (store.ts): the file is still one JSON document; a command about one item finds exactly
 * the items a full read would; a damaged line is never taken for an item; any other layout is
 * read whole.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { itemLinesNaming, serializeDocument, splitDocument, type StoreDocument, type StoredItem } from '../../src/store/document.js';
import { Store } from '../../src/store/store.js';
import type { KeyDeps } from '../../src/store/keys.js';
import { fuzz } from '../fuzz/support.js';
import { keyedStore, storedItem } from '../helpers/stored-item.js';

const item = (over: Partial<StoredItem>): StoredItem => storedItem(over);

const docWith = (items: StoredItem[]): StoreDocument => keyedStore('store-id-1', items);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plaidbal-layout-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = (text: string) => {
  writeFileSync(join(dir, 'store.json'), text);
  return Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: {} as KeyDeps });
};

describe('serializeDocument / splitDocument', () => {
  it('writes one JSON document with a line per item, and splits it back into header and lines', () => {
    const doc = docWith([item({}), item({ item_id: 'item2', alias: 'savings' })]);
    const text = serializeDocument(doc);
    expect(JSON.parse(text)).toEqual(doc);
    expect(text.split('\n').filter((l) => l.startsWith('\t\t{"item_id"'))).toHaveLength(2);
    const split = splitDocument(Buffer.from(text))!;
    expect(JSON.parse(split.header)).toEqual({ ...doc, items: [] });
    expect(split.body.toString().split('\n')).toHaveLength(2);
  });

  it("reads conf's layout (a line per field), an empty store and a truncated file whole", () => {
    const doc = docWith([item({})]);
    expect(splitDocument(Buffer.from(JSON.stringify(doc, undefined, '\t')))).toBeNull();
    expect(splitDocument(Buffer.from(serializeDocument(docWith([]))))).toBeNull();
    expect(splitDocument(Buffer.from(serializeDocument(doc).slice(0, -3)))).toBeNull();
  });
});

describe('one item without the rest', () => {
  it('finds an item by alias or item_id from its line alone; a damaged line elsewhere is not read', () => {
    const good = item({ item_id: 'itemGOOD', alias: 'good' });
    const text = serializeDocument(docWith([good, item({ item_id: 'itemOTHER', alias: 'other' })]));
    const damaged = text.replace('"alias":"other"', '"alias":"oth');
    const store = open(damaged);
    expect(store.resolveItem('good')).toEqual(good);
    expect(store.resolveItem('itemGOOD')).toEqual(good);
    // Everything else reads the whole store, which names the damage (exit 3).
    expect(() => store.items()).toThrow(/cannot be read/);
  });

  it('an unknown item, or one in another environment, is answered by the whole store', () => {
    const store = open(serializeDocument(docWith([item({ alias: 'a', item_id: 'i1' }), item({ alias: 'a', item_id: 'i2', environment: 'production' })])));
    expect(() => store.resolveItem('nope')).toThrow(/No linked item is called "nope"/);
    expect(() => store.resolveItem('a')).toThrow(/names items in more than one environment/);
    expect(store.resolveItem('a', 'production').item_id).toBe('i2');
  });

  it('the needle cannot match inside another field: JSON escapes every quote', () => {
    const sneaky = item({ item_id: 'i-sneaky', alias: 'plain', institution_name: '"alias":"target"' });
    const target = item({ item_id: 'i-target', alias: 'target' });
    const body = splitDocument(Buffer.from(serializeDocument(docWith([sneaky, target]))))!.body;
    expect(itemLinesNaming(body, ['"alias":"target"'])).toHaveLength(1);
  });

  it('for any aliases, finds what a full read finds', () => {
    const alias = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '/', 'é', '💰', '\n', '\t', ',', '{', '}', ':'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.uniqueArray(alias, { minLength: 1, maxLength: 6 }), fc.nat(), (aliases, pick) => {
        const items = aliases.map((a, i) => item({ alias: a, item_id: `i${i}`, institution_name: aliases[(i + 1) % aliases.length]! }));
        const store = open(serializeDocument(docWith(items)));
        const wanted = items[pick % items.length]!;
        expect(store.resolveItem(wanted.alias)).toEqual(wanted);
        expect(store.resolveItem(wanted.item_id)).toEqual(wanted);
        expect(store.items()).toEqual(items);
      }),
      fuzz(200),
    );
  });
});
