/**
 * The local store: one JSON file kept by conf, in a 0700 directory, mode 0600, written
 * atomically (write to a temporary file, then rename). Reading never writes, and a store
 * that cannot be read or unlocked is never cleared or rewritten.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Conf from 'conf';
import { CliError, ExitCode, configError, usageError } from '../errors.js';
import type { Environment } from '../types.js';
import { documentProblem, emptyDocument, type KeySource, type StoreDocument, type StoredItem } from './document.js';
import { createKey, newStoreId, unlockKey, type KeyDeps } from './keys.js';
import { SealError, type Sealer } from './seal.js';

import { STORE_FILE, storeDir } from './paths.js';

function corrupt(path: string, what: string): CliError {
  return configError(
    `The store at ${path} cannot be read: ${what}. It was left exactly as it is.`,
    `Restore it from a backup, or move it aside (mv "${path}" "${path}.broken") to start a new store.`,
  );
}

function openConf(dir: string): Conf<Record<string, unknown>> {
  return new Conf<Record<string, unknown>>({
    cwd: dir,
    configName: 'store',
    projectSuffix: '',
    configFileMode: 0o600,
    accessPropertiesByDotNotation: false,
    clearInvalidConfig: false,
  });
}

function readDocument(dir: string, path: string): StoreDocument | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = openConf(dir).store;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof SyntaxError) throw corrupt(path, 'it is not valid JSON');
    if (code === 'EACCES' || code === 'EPERM') throw configError(`The store at ${path} is not readable by this user.`, 'Check its owner and permissions (it should be 0600, owned by you).');
    if (code === 'EISDIR') throw corrupt(path, 'it is a directory');
    throw corrupt(path, error instanceof Error ? error.message : String(error));
  }
  const problem = documentProblem(raw);
  if (problem) throw corrupt(path, problem);
  return raw as StoreDocument;
}

export interface StoreOptions {
  env: NodeJS.ProcessEnv;
  keyDeps: KeyDeps;
}

export class Store {
  readonly dir: string;
  readonly path: string;
  private current: StoreDocument | null;
  private unlocked: Sealer | null = null;
  private readonly keyDeps: KeyDeps;

  private constructor(dir: string, path: string, doc: StoreDocument | null, keyDeps: KeyDeps) {
    this.dir = dir;
    this.path = path;
    this.current = doc;
    this.keyDeps = keyDeps;
  }

  /** Reads the store (or notes that there is none yet). Never writes. */
  static open({ env, keyDeps }: StoreOptions): Store {
    const dir = storeDir(env);
    const path = join(dir, STORE_FILE);
    return new Store(dir, path, readDocument(dir, path), keyDeps);
  }

  get exists(): boolean {
    return this.current !== null;
  }

  /** A snapshot of the document as last read or written. */
  get doc(): StoreDocument {
    return this.current ?? emptyDocument('');
  }

  items(environment?: Environment): StoredItem[] {
    return this.doc.items.filter((item) => environment === undefined || item.environment === environment);
  }

  /** An item by alias or item_id. Exit 2 when there is none. */
  resolveItem(ref: string, environment?: Environment): StoredItem {
    const candidates = this.items(environment);
    const match = candidates.find((item) => item.item_id === ref) ?? candidates.filter((item) => item.alias === ref);
    if (!Array.isArray(match)) return match;
    if (match.length === 1) return match[0]!;
    if (match.length > 1) {
      throw usageError(`The alias "${ref}" names items in more than one environment.`, `Pick one with --env, or use the item_id: ${match.map((m) => `${m.item_id} (${m.environment})`).join(', ')}.`);
    }
    const known = candidates.map((item) => item.alias);
    throw usageError(
      `No linked item is called "${ref}"${environment ? ` in ${environment}` : ''}.`,
      known.length ? `Known items: ${known.join(', ')}. Run \`plaidbal items\` to list them.` : 'Link one first with `plaidbal link` (or `plaidbal link --sandbox`).',
    );
  }

  /** Unlocks the store's key (keychain or passphrase) once per process. */
  async unlock(): Promise<Sealer> {
    if (this.unlocked) return this.unlocked;
    const key = this.doc.key;
    if (!key) throw configError('The store has no key yet, so it holds no secrets.', 'Run `plaidbal config init` or link an item first.');
    this.unlocked = await unlockKey(key, this.keyDeps, this.path);
    return this.unlocked;
  }

  /** Opens a sealed value; a failure here after the key check passed means tampering (exit 3). */
  async open(sealed: string, boundTo: string, what: string): Promise<string> {
    const sealer = await this.unlock();
    try {
      return sealer.open(sealed, boundTo);
    } catch (error) {
      if (error instanceof SealError) {
        throw configError(`The sealed ${what} in ${this.path} does not verify: it was altered or copied from elsewhere. Nothing was changed.`, 'Link the item again to replace it.');
      }
      throw error;
    }
  }

  /**
   * Seals with the store's key, creating the key first when the store has none
   * (`keySource` chooses how; `auto` prefers the OS keychain).
   */
  async sealerForWriting(keySource: KeySource | 'auto' = 'auto'): Promise<Sealer> {
    if (this.doc.key) return this.unlock();
    const storeId = this.current?.store_id || newStoreId();
    const created = await createKey(keySource, this.keyDeps, storeId);
    this.pendingKey = { storeId, config: created.config };
    this.unlocked = created.sealer;
    return created.sealer;
  }

  private pendingKey: { storeId: string; config: NonNullable<StoreDocument['key']> } | null = null;

  /**
   * Read-modify-write: re-reads the file, applies `change`, validates and writes atomically.
   * When `change` throws, nothing is written.
   */
  async update(change: (doc: StoreDocument) => void | Promise<void>): Promise<StoreDocument> {
    this.ensureDir();
    const fresh = readDocument(this.dir, this.path) ?? emptyDocument(this.pendingKey?.storeId ?? newStoreId());
    if (this.current && fresh.store_id !== this.current.store_id) {
      throw new CliError(`The store at ${this.path} was replaced while plaidbal was running.`, { exitCode: ExitCode.CONFIG, hint: 'Run the command again.' });
    }
    if (this.pendingKey && !fresh.key) fresh.key = this.pendingKey.config;
    await change(fresh);
    const problem = documentProblem(fresh);
    if (problem) throw new CliError(`Refusing to write an invalid store: ${problem}.`, { exitCode: ExitCode.UNEXPECTED });
    openConf(this.dir).store = fresh as unknown as Record<string, unknown>;
    this.current = fresh;
    this.pendingKey = null;
    return fresh;
  }

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32' && (statSync(this.dir).mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
  }
}
