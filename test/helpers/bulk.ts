/**
 * Thousands of items in a store, without Link: the emulator creates them (Emulator.createItem)
 * and plaidbal's own Store API seals their tokens and writes them in one commit, as `link` would
 * one at a time. For fan-out tests and benchmarks. The store must exist (config init): with
 * PLAIDBAL_PASSPHRASE in `env` for a passphrase store, else its key is read from the OS keychain.
 */
import type { Emulator } from '../emulator/index.js';
import { aad } from '../../src/store/seal.js';
import { Store } from '../../src/store/store.js';
import type { Keychain } from '../../src/store/keychain.js';
import type { Environment } from '../../src/types.js';

export interface BulkItem {
  alias: string;
  item_id: string;
  access_token: string;
}

export async function addItems(
  emulator: Emulator,
  env: NodeJS.ProcessEnv,
  environment: Environment,
  count: number,
  prefix = 'item-',
  aliasOf: (index: number) => string = (index) => `${prefix}${String(index + 1).padStart(String(count).length, '0')}`,
): Promise<BulkItem[]> {
  const keychain = env.PLAIDBAL_PASSPHRASE
    ? (new Proxy({}, { get: () => () => Promise.reject(new Error('a passphrase store')) }) as unknown as Keychain)
    : (await import('../../src/store/keychain.js')).osKeychain();
  const store = Store.open({
    env,
    keyDeps: { keychain, passphrase: async () => env.PLAIDBAL_PASSPHRASE ?? '', notice: () => {}, now: () => new Date() },
  });
  const sealer = await store.unlock();
  const made: BulkItem[] = [];
  const linkedAt = new Date().toISOString();
  await store.update((doc) => {
    for (let i = 0; i < count; i++) {
      const item = emulator.createItem();
      const alias = aliasOf(i);
      doc.items.push({
        item_id: item.item_id,
        alias,
        environment,
        institution_id: item.institution_id,
        institution_name: item.institution_name,
        products: item.products,
        linked_at: linkedAt,
        last_balance_at: null,
        access_token: sealer.seal(item.access_token, aad.accessToken(environment, item.item_id)),
      });
      made.push({ alias, item_id: item.item_id, access_token: item.access_token });
    }
  });
  return made;
}
