/**
 * Where the sealing key comes from: the OS keychain (a random 256-bit key) or a
 * passphrase (scrypt). The store records which, plus a sealed check value that tells
 * a wrong key apart from a tampered secret.
 */
import { randomBytes } from 'node:crypto';
import { CliError, ExitCode, configError } from '../errors.js';
import { cappedList } from '../text.js';
import type { KeyConfig, KeySource } from './document.js';
import type { Keychain } from './keychain.js';
import { backupPath } from './paths.js';
import { KEY_BYTES, deriveKey, keyMatches, makeKeyCheck, newScryptParams, randomKey, sealerFor, type Sealer } from './seal.js';

export interface KeyDeps {
  keychain: Keychain;
  /** Returns the passphrase from PLAIDBAL_PASSPHRASE or a hidden prompt; `confirm` asks twice. */
  passphrase(opts: { confirm: boolean; purpose: string }): Promise<string>;
  /** A one-line notice on stderr. */
  notice(message: string): void;
  now(): Date;
}

const KEYCHAIN_HINT = 'Use a passphrase instead: `--key-source passphrase` for config init, `--to passphrase` for config rekey (with PLAIDBAL_PASSPHRASE set for scripts).';

/** The passphrase given does not open the store's key (exit 3). */
export class WrongPassphraseError extends CliError {
  constructor() {
    super('Wrong passphrase: it does not open the store. Nothing was changed.', { exitCode: ExitCode.CONFIG, hint: 'Check PLAIDBAL_PASSPHRASE (or type it again).' });
  }
}

function keychainFailure(action: string, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  return configError(`The OS keychain did not answer while ${action}: ${reason}`, `Unlock your keychain and try again. ${KEYCHAIN_HINT}`);
}

/** Opens the store's key. Throws CliError (exit 3) on a wrong passphrase or a missing or wrong keychain entry. */
export async function unlockKey(config: KeyConfig, deps: KeyDeps, storePath: string, itemAliases: () => string[] = () => []): Promise<Sealer> {
  if (config.source === 'keychain') {
    let encoded: string | null;
    try {
      encoded = await deps.keychain.get(config.account);
    } catch (error) {
      throw keychainFailure('reading the store key', error);
    }
    if (encoded === null) {
      const aliases = itemAliases();
      const lost = aliases.length ? `These items can no longer be opened: ${cappedList(aliases)}.` : 'No items are linked yet, but the stored Plaid secret cannot be opened.';
      throw configError(
        `The OS keychain has no plaidbal key for the store at ${storePath} (a new machine, or a wiped keychain?). ${lost}`,
        `Without the key they cannot be recovered (update mode needs the lost token). Start a new store and link them again: move the store and its backup (sealed with the same key) aside with mv "${storePath}" "${storePath}.lost" and mv "${backupPath(storePath)}" "${backupPath(storePath)}.lost", then run \`plaidbal config init\` and \`plaidbal link\`.`,
      );
    }
    const key = Buffer.from(encoded, 'base64');
    const sealer = key.length === KEY_BYTES ? sealerFor(key) : null;
    if (!sealer || !keyMatches(sealer, config.check)) {
      throw configError(`The key in the OS keychain does not open the store at ${storePath}.`, 'Another store may have replaced it. Nothing was changed.');
    }
    return sealer;
  }
  const passphrase = await deps.passphrase({ confirm: false, purpose: `unlock the store at ${storePath}` });
  const sealer = sealerFor(await deriveKey(passphrase, config.kdf));
  if (!keyMatches(sealer, config.check)) {
    throw new WrongPassphraseError();
  }
  return sealer;
}

export interface NewKey {
  config: KeyConfig;
  sealer: Sealer;
}

/**
 * Creates the store's key. `auto` means the keychain when one answers, else a passphrase,
 * announced once (as gh and stripe-cli announce their file fallback).
 */
export async function createKey(requested: KeySource | 'auto', deps: KeyDeps, storeId: string): Promise<NewKey> {
  const created_at = deps.now().toISOString();
  if (requested !== 'passphrase') {
    const probe = await deps.keychain.probe();
    if (probe.available) {
      const key = randomKey();
      const sealer = sealerFor(key);
      const account = `store-${storeId}`;
      try {
        await deps.keychain.set(account, key.toString('base64'));
      } catch (error) {
        throw keychainFailure('saving the store key', error);
      }
      return { config: { source: 'keychain', account, check: makeKeyCheck(sealer), created_at }, sealer };
    }
    if (requested === 'keychain') {
      throw configError(`No OS keychain answered: ${probe.reason}.`, KEYCHAIN_HINT);
    }
    deps.notice(`No OS keychain answered (${probe.reason}); protecting the store with a passphrase instead.`);
  }
  const passphrase = await deps.passphrase({ confirm: true, purpose: 'protect the plaidbal store' });
  const kdf = newScryptParams();
  const sealer = sealerFor(await deriveKey(passphrase, kdf));
  return { config: { source: 'passphrase', kdf, check: makeKeyCheck(sealer), created_at }, sealer };
}

export function newStoreId(): string {
  return randomBytes(9).toString('base64url');
}

export function describeKeySource(config: KeyConfig | null): string {
  if (!config) return 'not set up yet (chosen when the first secret is saved)';
  return config.source === 'keychain'
    ? `OS keychain (service "plaidbal", account "${config.account}")`
    : `passphrase (scrypt N=${config.kdf.N}, r=${config.kdf.r}, p=${config.kdf.p})`;
}
