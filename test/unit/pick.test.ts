/**
 * pickItems (src/commands/pick.ts): the one place balance, check, items status and items rotate
 * decide which linked items they act on, over a real store in a temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pickItems, type ItemChoice } from '../../src/commands/pick.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { serializeDocument, type StoredItem } from '../../src/store/document.js';
import type { KeyDeps } from '../../src/store/keys.js';
import { Store } from '../../src/store/store.js';
import { cappedList } from '../../src/text.js';
import { keyedStore, storedItem } from '../helpers/stored-item.js';

const item = (n: number, over: Partial<StoredItem> = {}): StoredItem => storedItem({ item_id: `item${String(n).padStart(33, '0')}`, alias: `a${n}`, ...over });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plaidbal-pick-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const storeWith = (items: StoredItem[]): Store => {
  writeFileSync(join(dir, 'store.json'), serializeDocument(keyedStore('store-id-1', items)));
  return Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: {} as KeyDeps });
};

// The four commands' settings, as they pass them.
const balance = { nameWith: '--item <item>', allowAll: true, onlyItemByDefault: true, oneEnvironment: true } as const;
const check = { nameWith: '--item <item>', allowAll: false, onlyItemByDefault: true, oneEnvironment: true } as const;
const status = { nameWith: 'plaidbal items status <item>', allowAll: true, onlyItemByDefault: true, oneEnvironment: false } as const;
const rotate = { nameWith: 'plaidbal items rotate <item>', allowAll: true, onlyItemByDefault: false, oneEnvironment: true } as const;

/** The usage error pickItems throws, or a failure when it returns. */
function refusal(store: Store, choice: ItemChoice): CliError {
  try {
    pickItems(store, choice);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.USAGE);
    return error as CliError;
  }
  throw new Error('pickItems accepted the choice');
}

const aliases = (items: StoredItem[]) => items.map((i) => i.alias);

describe('pickItems', () => {
  it('the items named, once each, in the order named (alias or item_id)', () => {
    const store = storeWith([item(1), item(2), item(3)]);
    expect(aliases(pickItems(store, { ...balance, refs: ['a3', 'a1', item(3).item_id] }))).toEqual(['a3', 'a1']);
    expect(aliases(pickItems(store, { ...check, refs: ['a2'] }))).toEqual(['a2']);
  });

  it('an unknown name is the store\'s error, naming the known items', () => {
    const store = storeWith([item(1)]);
    expect(refusal(store, { ...balance, refs: ['nope'] }).hint).toContain('Known items: a1');
  });

  it('nothing named: the only item, for reads; a write (rotate) still wants a name or --all', () => {
    const store = storeWith([item(1)]);
    expect(aliases(pickItems(store, { ...balance, refs: [] }))).toEqual(['a1']);
    expect(aliases(pickItems(store, { ...check, refs: [] }))).toEqual(['a1']);
    expect(aliases(pickItems(store, { ...status, refs: [] }))).toEqual(['a1']);
    const e = refusal(store, { ...rotate, refs: [] });
    expect(e.message).toBe('Which item? Name it, or pass --all.');
    expect(e.hint).toBe('Name one with plaidbal items rotate <item>: a1; or pass --all.');
    expect(aliases(pickItems(store, { ...rotate, refs: [], all: true }))).toEqual(['a1']);
  });

  it('nothing named and several linked: one wording, offering --all only where the command has it', () => {
    const store = storeWith([item(1), item(2)]);
    const b = refusal(store, { ...balance, refs: [] });
    expect(b.message).toBe('Which item? More than one is linked.');
    expect(b.hint).toBe('Name one with --item <item>: a1, a2; or pass --all.');
    expect(refusal(store, { ...check, refs: [] }).hint).toBe('Name one with --item <item>: a1, a2.');
    expect(refusal(store, { ...status, refs: [] }).hint).toBe('Name one with plaidbal items status <item>: a1, a2; or pass --all.');
  });

  it('the list of aliases names the first 10 and counts the rest', () => {
    const store = storeWith(Array.from({ length: 13 }, (_, n) => item(n + 1)));
    const hint = refusal(store, { ...balance, refs: [] }).hint!;
    expect(hint).toBe('Name one with --item <item>: a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 and 3 more; or pass --all.');
    expect(hint).not.toContain('a11');
  });

  it('--all and a name together are refused', () => {
    const store = storeWith([item(1), item(2)]);
    for (const settings of [balance, status, rotate]) {
      const refused = refusal(store, { ...settings, refs: ['a1'], all: true });
      expect(refused.message).toBe('Name an item or pass --all, not both.');
      expect(refused.hint).toBe('Drop --all to act on the items named, or drop the names to act on every item.');
    }
  });

  it('no items linked (in --env): says so and how to link one', () => {
    const store = storeWith([item(1)]);
    for (const settings of [balance, check, status, rotate]) {
      const e = refusal(storeWith([]), { ...settings, refs: [], all: settings.allowAll });
      expect(e.message).toBe('No items are linked yet.');
      expect(e.hint).toContain('plaidbal link --sandbox');
    }
    expect(refusal(store, { ...balance, refs: [], env: 'production' }).message).toBe('No items are linked in production yet.');
  });

  it('--env keeps the items of that environment', () => {
    const store = storeWith([item(1), item(2, { environment: 'production' }), item(3)]);
    expect(aliases(pickItems(store, { ...balance, refs: [], all: true, env: 'sandbox' }))).toEqual(['a1', 'a3']);
    expect(aliases(pickItems(store, { ...check, refs: [], env: 'production' }))).toEqual(['a2']);
    expect(refusal(store, { ...balance, refs: ['a2'], env: 'sandbox' }).message).toBe('"a2" is linked in production, not in sandbox.');
  });

  it('items of both environments: refused where a run is one environment, grouped (sandbox first) where not', () => {
    const store = storeWith([item(1, { environment: 'production' }), item(2), item(3, { environment: 'production' })]);
    for (const [settings, refs] of [[balance, ['a1', 'a2']], [balance, []], [rotate, []]] as const) {
      const e = refusal(store, { ...settings, refs, all: refs.length === 0 });
      expect(e.message).toBe('Those items were linked in different environments; act on one environment at a time.');
      expect(e.hint).toBe('Add --env sandbox or --env production.');
    }
    expect(aliases(pickItems(store, { ...status, refs: [], all: true }))).toEqual(['a2', 'a1', 'a3']);
  });
});

describe('cappedList', () => {
  it('up to 10 names as they are; past 10, the first 10 and a count', () => {
    expect(cappedList([])).toBe('');
    expect(cappedList(['x'])).toBe('x');
    const ten = Array.from({ length: 10 }, (_, n) => `n${n}`);
    expect(cappedList(ten)).toBe(ten.join(', '));
    expect(cappedList([...ten, 'n10'])).toBe(`${ten.join(', ')} and 1 more`);
    expect(cappedList(['a', 'b', 'c'], 2)).toBe('a, b and 1 more');
  });
});
