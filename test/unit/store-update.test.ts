/**
 * Store.update trusts the document in memory only while the file holds exactly what this process
 * last wrote (store.ts, `written`): a batch import then changes its document in place instead of
 * parsing a 10,000-item store for every batch. These tests hold the two ways that could go wrong:
 * another process's write in between must be read, never overwritten; and a change that fails
 * after touching the document in memory must be forgotten, never written later.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyDocument, serializeDocument, type StoreDocument, type StoredItem } from '../../src/store/document.js';
import { memoryKeychain, type Keychain } from '../../src/store/keychain.js';
import type { KeyDeps } from '../../src/store/keys.js';
import { aad, type Sealer } from '../../src/store/seal.js';
import { Store, StoreKeyChangedError } from '../../src/store/store.js';
import { keyedStore, storedItem } from '../helpers/stored-item.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plaidbal-update-'));
  // A keychain key these tests never open: Store.update writes what it is given without it.
  writeFileSync(join(dir, 'store.json'), serializeDocument(keyedStore('store-id-1', [storedItem({ item_id: 'item0', alias: 'first' })])), { mode: 0o600 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: { notice: () => {} } as unknown as KeyDeps });
const add = (n: number): StoredItem => storedItem({ item_id: `item${n}`, alias: `alias-${n}` });
const aliasesOnDisk = () => (JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')) as { items: StoredItem[] }).items.map((i) => i.alias);

describe('Store.update', () => {
  it("reads another process's write between two updates of this one, and keeps it", async () => {
    const mine = open();
    await mine.update((doc) => void doc.items.push(add(1)));
    // Another plaidbal process, with its own Store, writes in between.
    await open().update((doc) => void doc.items.push(add(2)));
    await mine.update((doc) => void doc.items.push(add(3)));
    expect(aliasesOnDisk()).toEqual(['first', 'alias-1', 'alias-2', 'alias-3']);
    expect(mine.items().map((i) => i.alias)).toEqual(['first', 'alias-1', 'alias-2', 'alias-3']);
  });

  it('takes its own last write from memory, as written', async () => {
    const mine = open();
    const first = await mine.update((doc) => void doc.items.push(add(1)));
    const second = await mine.update((doc) => void doc.items.push(add(2)));
    // The same document, changed in place: the file was not parsed again.
    expect(second).toBe(first);
    expect(aliasesOnDisk()).toEqual(['first', 'alias-1', 'alias-2']);
  });

  /**
   * After one update of its own, `failing` changes the document in memory and then fails: the
   * file stays byte-identical, and the next update (after reading the items when `readBetween`)
   * writes its own change on top of the file, not on top of what `failing` touched.
   */
  async function failedChangeIsForgotten(failing: (doc: StoreDocument) => void, error: string | RegExp, readBetween: boolean): Promise<void> {
    const mine = open();
    await mine.update((doc) => void doc.items.push(add(1)));
    const before = readFileSync(join(dir, 'store.json'));
    await expect(mine.update(failing)).rejects.toThrow(error);
    expect(readFileSync(join(dir, 'store.json')).equals(before)).toBe(true);
    if (readBetween) expect(mine.items().map((i) => i.alias)).toEqual(['first', 'alias-1']);
    await mine.update((doc) => void doc.items.push(add(3)));
    expect(aliasesOnDisk()).toEqual(['first', 'alias-1', 'alias-3']);
  }

  it('forgets a change that failed after touching the document in memory: it is never written, nor seen', async () => {
    await failedChangeIsForgotten(
      (doc) => {
        doc.items.push(add(2));
        doc.items[0]!.alias = 'renamed';
        throw new Error('the change gave up');
      },
      'the change gave up',
      true,
    );
  });

  it('runs onFailure before it releases the lock, and throws the failure whatever onFailure throws', async () => {
    const store = open();
    const lock = join(dir, 'store.json.lock');
    let lockedDuring: boolean | undefined;
    let seen: unknown;
    const failing = store.update(
      () => {
        throw new Error('the write failed');
      },
      {
        onFailure: (error) => {
          seen = error;
          lockedDuring = existsSync(lock);
          throw new Error('so did what onFailure tried');
        },
      },
    );
    await expect(failing).rejects.toThrow('the write failed');
    expect((seen as Error).message).toBe('the write failed');
    expect(lockedDuring).toBe(true);
    expect(existsSync(lock)).toBe(false);
    // Not called when the update succeeds.
    let called = false;
    await store.update((doc) => void doc.items.push(add(5)), { onFailure: () => void (called = true) });
    expect(called).toBe(false);
  });

  it('two processes making the first key of a store at once: each its own keychain entry; the later write is refused, again and again, until it unlocks the key the store has now', async () => {
    // A store_id and no key yet, nor anything sealed (a valid store, though plaidbal never writes one).
    writeFileSync(join(dir, 'store.json'), serializeDocument(emptyDocument('store-id-1')), { mode: 0o600 });
    const inner = memoryKeychain();
    const made: string[] = [];
    const keychain: Keychain = { ...inner, set: async (account, secret) => (made.push(account), inner.set(account, secret)) };
    const deps = { keychain, passphrase: () => Promise.reject(new Error('no passphrase in this test')), notice: () => {}, now: () => new Date() } as KeyDeps;
    const openStore = () => Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: deps });
    const sealed = (sealer: Sealer, n: number) => (doc: StoreDocument) => void doc.items.push({ ...add(n), access_token: sealer.seal(`token-${n}`, aad.accessToken('sandbox', `item${n}`)) });
    const tokenOf = async (store: Store, n: number) => store.open(store.doc.items.find((i) => i.item_id === `item${n}`)!.access_token, aad.accessToken('sandbox', `item${n}`), `item${n}`);
    const [a, b] = [openStore(), openStore()];
    const [byA, byB] = [await a.sealerForWriting('keychain'), await b.sealerForWriting('keychain')];
    expect(made).toHaveLength(2);
    expect(made[0]).not.toBe(made[1]);

    await a.update(sealed(byA, 1));
    await expect(b.update(sealed(byB, 2))).rejects.toBeInstanceOf(StoreKeyChangedError);
    // The entry b made is gone; a's, the store's key, is there and opens the store.
    expect(await inner.get(made[1]!)).toBeNull();
    expect(await tokenOf(openStore(), 1)).toBe('token-1');
    // b, still sealing with the key it made, is refused again: nothing sealed with it is written.
    await expect(b.update(sealed(byB, 3))).rejects.toBeInstanceOf(StoreKeyChangedError);
    expect(aliasesOnDisk()).toEqual(['alias-1']);
    // Once b has unlocked the store's key, its write lands, sealed with that key.
    await b.update(sealed(await b.unlock(), 2));
    expect(aliasesOnDisk()).toEqual(['alias-1', 'alias-2']);
    expect(await tokenOf(openStore(), 2)).toBe('token-2');
  });

  it('forgets a change that made the document invalid, with the file byte-identical', async () => {
    // Straight to the next update, with nothing read in between.
    await failedChangeIsForgotten(
      (doc) => {
        doc.items.push(add(2));
        (doc.items[0] as { alias: unknown }).alias = 42; // not a stored item any more
      },
      /invalid store/,
      false,
    );
  });
});
