/**
 * The local store: one JSON file in a 0700 directory, mode 0600, read through conf and
 * written by write.ts (a verified atomic replace: whole temporary file, fsync, read back,
 * rename, directory fsync). After each write the same bytes go to `store.json.bak` by the
 * same path, so a store damaged by something outside plaidbal can be restored. Reading
 * never writes, and a store that cannot be read or unlocked is never cleared or rewritten.
 */
import { createHash, randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Conf from 'conf';
import { enterCritical } from '../critical.js';
import { CliError, ExitCode, configError, usageError } from '../errors.js';
import { cappedList } from '../text.js';
import { looksLikePlaidToken } from '../tokens.js';
import type { Environment } from '../types.js';
import { documentProblem, emptyDocument, itemLines, itemLinesNaming, parseItemLine, serializeDocument, splitDocument, type KeyConfig, type KeySource, type StoreDocument, type StoredItem } from './document.js';
import { createKey, newStoreId, unlockKey, type KeyDeps } from './keys.js';
import { aad, SealError, type Sealer } from './seal.js';

import { appendLastBalance, compactLastBalance, lastBalanceAt, lastBalancePath, readLastBalance, type LastBalance } from './last-balance.js';
import { backupPath, STORE_FILE, storeDir } from './paths.js';
import { describeFsFailure, isTemporaryOf, WriteFailure, writeFileVerified } from './write.js';

/** What the backup beside a store holds, for the advice printed when the store cannot be used. */
function describeBackup(backup: string): { usable: true; items: string[]; savedAt: string } | { usable: false; why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(backup, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { usable: false, why: code === 'ENOENT' ? 'there is none' : code ? `it cannot be read (${code})` : 'it is not valid JSON either' };
  }
  const problem = documentProblem(raw);
  if (problem) return { usable: false, why: `it is damaged too (${problem})` };
  return { usable: true, items: (raw as StoreDocument).items.map((i) => `${i.alias} (${i.environment})`), savedAt: statSync(backup).mtime.toISOString() };
}

const restoreCommand = (backup: string, path: string) =>
  process.platform === 'win32' ? `Copy-Item -Force "${backup}" "${path}"` : `cp -p "${backup}" "${path}"`;

function corrupt(path: string, what: string): CliError {
  const backup = backupPath(path);
  const found = describeBackup(backup);
  const moveAside = process.platform === 'win32' ? `Move-Item "${path}" "${path}.broken"` : `mv "${path}" "${path}.broken"`;
  if (found.usable) {
    const items = found.items.length ? `${found.items.length} item${found.items.length === 1 ? '' : 's'}: ${cappedList(found.items)}` : 'no items';
    return configError(
      `The store at ${path} cannot be read: ${what}. It was left exactly as it is.`,
      `Its backup ${backup} is intact (written by plaidbal at ${found.savedAt}; ${items}). Keep the damaged file and restore the backup with:\n  ${moveAside} && ${restoreCommand(backup, path)}`,
    );
  }
  return configError(
    `The store at ${path} cannot be read: ${what}. It was left exactly as it is.`,
    `Its backup ${backup} cannot help: ${found.why}. Restore the store from a backup of your own, or move it aside (${moveAside}) to start a new store.`,
  );
}

/** A missing store whose backup is still there was deleted or moved, not never made: say so before anything writes a new one. */
function missingWithBackup(path: string): CliError | null {
  const backup = backupPath(path);
  if (!existsSync(backup)) return null;
  const found = describeBackup(backup);
  const what = found.usable ? `an intact backup (${found.items.length} item${found.items.length === 1 ? '' : 's'}, written at ${found.savedAt})` : `a backup, but ${found.why}`;
  return configError(
    `The store at ${path} is missing, but ${backup} is ${what}. Nothing was changed.`,
    found.usable
      ? `Restore it with:\n  ${restoreCommand(backup, path)}\nTo start a new, empty store instead, move the backup aside first: mv "${backup}" "${backup}.old"`
      : `Move the backup aside to start a new store: mv "${backup}" "${backup}.old"`,
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

/**
 * What Store.open reads: the whole document, or, for a store in plaidbal's layout (one item per
 * line, document.ts), only its header, checked, with the item lines left unparsed until a
 * command needs them. A command about one item then parses that item's line alone, so its cost
 * does not grow with the store (docs/benchmarks.md, "A large store").
 */
type Loaded = { doc: StoreDocument } | { header: StoreDocument; body: Buffer } | null;

function readStore(dir: string, path: string): Loaded {
  const read = reading(path, () => readFileSync(path));
  if (read === null) return null;
  const split = splitDocument(read.value);
  if (split) {
    try {
      const header: unknown = JSON.parse(split.header);
      // A store without a key is read whole: whether it holds sealed values (then it is corrupt,
      // documentProblem) depends on its items, which the header does not have.
      if (documentProblem(header) === null && (header as StoreDocument).key !== null) return { header: header as StoreDocument, body: split.body };
    } catch {
      // read whole below, which names the problem
    }
  }
  const doc = readDocument(dir, path);
  return doc && { doc };
}

/** Runs `read` on the store file: `{ value }`, or null when there is none (and no backup); its errors as plaidbal's. */
function reading<T>(path: string, read: () => T): { value: T } | null {
  if (!existsSync(path)) {
    const missing = missingWithBackup(path);
    if (missing) throw missing;
    return null;
  }
  try {
    return { value: read() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof SyntaxError) throw corrupt(path, 'it is not valid JSON');
    if (code === 'EACCES' || code === 'EPERM') throw configError(`The store at ${path} is not readable by this user.`, 'Check its owner and permissions (it should be 0600, owned by you).');
    if (code === 'EISDIR') throw corrupt(path, 'it is a directory');
    throw corrupt(path, error instanceof Error ? error.message : String(error));
  }
}

function readDocument(dir: string, path: string): StoreDocument | null {
  const read = reading(path, (): unknown => openConf(dir).store);
  if (read === null) return null;
  const raw = read.value;
  const problem = documentProblem(raw);
  if (problem) throw corrupt(path, problem);
  return raw as StoreDocument;
}

/** A write of the store that failed. `committed` is true only when the new store is in place but the disk did not confirm the rename. */
export class StoreWriteError extends CliError {
  readonly committed: boolean;
  constructor(path: string, failure: WriteFailure) {
    super(
      failure.committed
        ? `The store at ${path} was replaced, but the disk did not confirm it: ${failure.what}. A crash now could bring back the previous version.`
        : `Could not save the store: ${failure.what}. The store at ${path} was left exactly as it was.`,
      { exitCode: ExitCode.CONFIG, hint: failure.fix },
    );
    this.committed = failure.committed;
  }
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

function lockTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.PLAIDBAL_LOCK_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_LOCK_TIMEOUT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 100 || n > 600_000) throw configError(`PLAIDBAL_LOCK_TIMEOUT_MS must be a whole number of milliseconds from 100 to 600000 (got "${raw}").`);
  return n;
}

export interface StoreOptions {
  env: NodeJS.ProcessEnv;
  keyDeps: KeyDeps;
}

const changedWhileRunning = (path: string, what: string) => `The store at ${path} ${what} while plaidbal was running, so nothing was written.`;

/**
 * Nothing was written: the store's key changed while this process ran (`what`: another process's
 * first write gave the store its key, or `config rekey` re-keyed it). The Store has forgotten the
 * key it held, so a write that must not be lost (a new item, which Plaid has created and bills)
 * can unlock() the store's key as it is now, seal again and retry (src/commands/link/save.ts).
 */
export class StoreKeyChangedError extends CliError {
  readonly what: string;
  constructor(path: string, what: string) {
    super(changedWhileRunning(path, what), { exitCode: ExitCode.CONFIG, hint: 'Run the command again.' });
    this.what = what;
  }
}

export class Store {
  readonly dir: string;
  readonly path: string;
  private current: StoreDocument | null;
  private unlocked: Sealer | null = null;
  /** The key check of the key `unlocked` belongs to. */
  private unlockedCheck: string | null = null;
  private readonly keyDeps: KeyDeps;
  private readonly env: NodeJS.ProcessEnv;

  /** The header and unparsed item lines of a store read in plaidbal's layout, until `doc` parses them. */
  private lazy: { header: StoreDocument; body: Buffer } | null;

  /**
   * The SHA-256 of the bytes this process last put in the store file, while `current` is the
   * document they hold. An update that finds the file still holding them changes `current` in
   * place instead of parsing the file again (a batch import writes a 10,000-item store many times).
   */
  private written: string | null = null;
  /** Set when an update failed after changing `current` in place: the next read parses the file again. */
  private stale = false;

  private constructor(dir: string, path: string, loaded: Loaded, keyDeps: KeyDeps, env: NodeJS.ProcessEnv) {
    this.dir = dir;
    this.path = path;
    this.current = loaded && 'doc' in loaded ? loaded.doc : null;
    this.lazy = loaded && 'body' in loaded ? loaded : null;
    this.keyDeps = keyDeps;
    this.env = env;
  }

  /** Reads the store (or notes that there is none yet). Never writes. */
  static open({ env, keyDeps }: StoreOptions): Store {
    const dir = storeDir(env);
    const path = join(dir, STORE_FILE);
    return new Store(dir, path, readStore(dir, path), keyDeps, env);
  }

  get exists(): boolean {
    if (this.stale) this.reread();
    return this.current !== null || this.lazy !== null;
  }

  private reread(): void {
    const loaded = readStore(this.dir, this.path);
    this.stale = false;
    this.written = null;
    this.current = loaded && 'doc' in loaded ? loaded.doc : null;
    this.lazy = loaded && 'body' in loaded ? loaded : null;
  }

  /** The document as last read or written (an update by this process may change it in place). */
  get doc(): StoreDocument {
    if (this.stale) this.reread();
    if (this.lazy) {
      const { header, body } = this.lazy;
      const lines = itemLines(body);
      const items: StoredItem[] = [];
      for (const line of lines) {
        const item = parseItemLine(line);
        if (!item) break;
        items.push(item);
      }
      // A line that does not parse: the whole file is read the usual way, which names the problem.
      this.current = items.length === lines.length ? { ...header, items } : readDocument(this.dir, this.path);
      this.lazy = null;
    }
    return this.current ?? emptyDocument('');
  }

  /** Everything but the items (key, profiles, store_id): never parses the items. */
  get meta(): Omit<StoreDocument, 'items'> {
    if (this.stale) this.reread();
    return this.lazy?.header ?? this.current ?? emptyDocument('');
  }

  /**
   * The items of a lazily read store whose line names `ref` as item_id or alias, parsed; null
   * when the store is not lazy or a line does not parse (then the whole document is read and
   * names the problem). JSON.stringify escapes every quote inside a string, so `"alias":"x"`
   * can only be the alias field itself.
   */
  private linesNaming(ref: string): StoredItem[] | null {
    if (!this.lazy) return null;
    const found: StoredItem[] = [];
    for (const line of itemLinesNaming(this.lazy.body, [`"item_id":${JSON.stringify(ref)}`, `"alias":${JSON.stringify(ref)}`])) {
      const item = parseItemLine(line);
      if (!item) return null;
      found.push(item);
    }
    return found;
  }

  items(environment?: Environment): StoredItem[] {
    return this.doc.items.filter((item) => environment === undefined || item.environment === environment);
  }

  /**
   * Records when these items' balances were fetched: one append to last-balance.ndjson, never a
   * rewrite of the store (last-balance.ts). Throws a CliError (exit 3) saying why it could not.
   */
  recordLastBalance(entries: LastBalance[]): void {
    try {
      appendLastBalance(this.dir, entries);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const { what, fix } = describeFsFailure(code, this.dir);
      throw configError(`Could not write ${lastBalancePath(this.dir)}: ${what}.`, fix);
    }
    this.lastBalance = null;
    let stored: Set<string> | null = null;
    compactLastBalance(this.dir, (e) => (stored ??= new Set(this.doc.items.map((i) => `${i.environment} ${i.item_id}`))).has(`${e.environment} ${e.item_id}`));
  }

  private lastBalance: Map<string, LastBalance> | null = null;

  /** The items with `last_balance_at` as last recorded (the store's field or the log, whichever is later). */
  withLastBalance<T extends StoredItem | Omit<StoredItem, 'access_token'>>(items: T[]): T[] {
    this.lastBalance ??= readLastBalance(this.dir).latest;
    const latest = this.lastBalance;
    return items.map((item) => ({ ...item, last_balance_at: lastBalanceAt(latest, item) }));
  }

  /** An item by alias or item_id. Exit 2 when there is none. */
  resolveItem(ref: string, environment?: Environment): StoredItem {
    if (looksLikePlaidToken(ref)) {
      // Never quoted: it is (or looks like) a secret, and aliases of that shape are refused.
      throw usageError(
        'An item was named by a Plaid token. Items are named by alias or item_id; plaidbal takes a token only on stdin (`ps` shows arguments to anyone on the machine), and this one is not repeated here.',
        'To check a token you hold: printf %s "$TOKEN" | plaidbal balance --access-token-stdin. If it is a live token, treat it as exposed (shell history, `ps`) and rotate it: plaidbal items rotate <item>.',
      );
    }
    const named = this.linesNaming(ref)?.filter((item) => environment === undefined || item.environment === environment);
    // Found by its line alone; otherwise (no match, a bad line) the whole store answers, with its message.
    const candidates = named?.length ? named : this.items(environment);
    const match = candidates.find((item) => item.item_id === ref) ?? candidates.filter((item) => item.alias === ref);
    if (!Array.isArray(match)) return match;
    if (match.length === 1) return match[0]!;
    if (match.length > 1 && new Set(match.map((m) => m.environment)).size === 1) {
      // plaidbal never writes two equal aliases in one environment: the store was edited by hand.
      throw usageError(
        `${match.length} items are called "${ref}" in ${match[0]!.environment}, where aliases are unique (the store was edited by hand?).`,
        `Use the item_id (${match.map((m) => m.item_id).join(', ')}), and give one a new alias: plaidbal items rename ${match[1]!.item_id} <new-alias>.`,
      );
    }
    if (match.length > 1) {
      throw usageError(`The alias "${ref}" names items in more than one environment.`, `Pick one with --env, or use the item_id: ${match.map((m) => `${m.item_id} (${m.environment})`).join(', ')}.`);
    }
    if (environment !== undefined) {
      // Linked, but in the other environment: say so, rather than "link one first".
      const elsewhere = this.items().filter((item) => item.environment !== environment && (item.item_id === ref || item.alias === ref));
      if (elsewhere.length) {
        const where = [...new Set(elsewhere.map((item) => item.environment))].join(' and ');
        throw usageError(`"${ref}" is linked in ${where}, not in ${environment}.`, `Drop --env, or pass --env ${elsewhere[0]!.environment}.`);
      }
    }
    const known = candidates.map((item) => item.alias);
    throw usageError(
      `No linked item is called "${ref}"${environment ? ` in ${environment}` : ''}.`,
      known.length ? `Known items: ${cappedList(known)}. Run \`plaidbal items\` to list them.` : 'Link one first with `plaidbal link` (or `plaidbal link --sandbox`).',
    );
  }

  /**
   * Before a command changes something at Plaid that a store write must follow (link
   * creates an item, items remove deletes one), checks that the write can happen: the
   * directory is writable and its disk has room for the new file beside the old. A later
   * failure is still caught by the verified write; this spares the Plaid side effect.
   * `unchanged` says what did not happen at Plaid, for the message.
   */
  assertWritable(unchanged = 'Nothing was created at Plaid'): void {
    // The write takes the lock: a PLAIDBAL_LOCK_TIMEOUT_MS it would refuse is refused now, not
    // once Plaid has acted (a new item, billed, would be removed again).
    try {
      lockTimeoutMs(this.env);
    } catch (error) {
      const { message, hint } = error as CliError;
      throw configError(`${message} ${unchanged}, and the store was not changed.`, hint);
    }
    let dir = this.dir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    const fail = (code: string | undefined, detail = '') => {
      const { what, fix } = describeFsFailure(code, this.dir);
      return configError(`Cannot save to the store: ${what}${detail}. ${unchanged}, and the store was not changed.`, fix);
    };
    try {
      accessSync(dir, fsConstants.W_OK);
    } catch (error) {
      throw fail((error as NodeJS.ErrnoException).code);
    }
    let size = 0;
    try {
      size = statSync(this.path).size;
    } catch {
      // no store yet
    }
    // The new store is written in full beside the old one before it replaces it; a new item adds well under a block.
    const needed = size + 4096;
    let free: number;
    try {
      const fs = statfsSync(dir);
      free = fs.bavail * fs.bsize;
    } catch {
      return; // no statfs here: the verified write still catches a full disk
    }
    if (free < needed) throw fail('ENOSPC', ` (${Math.floor(free / 1024)} KiB free; saving needs about ${Math.ceil(needed / 1024)} KiB)`);
  }

  /** Unlocks the store's key (keychain or passphrase) once per process. */
  async unlock(): Promise<Sealer> {
    if (this.unlocked) return this.unlocked;
    // Concurrent callers (balance fetches items in parallel) share one keychain call, scrypt or prompt.
    this.unlocking ??= (async () => {
      const key = this.meta.key;
      if (!key) throw configError('The store has no key yet, so it holds no secrets.', 'Run `plaidbal config init` or link an item first.');
      const sealer = await unlockKey(key, this.keyDeps, this.path, () => this.doc.items.map((i) => i.alias));
      this.unlocked = sealer;
      this.unlockedCheck = key.check;
      return sealer;
    })().finally(() => {
      this.unlocking = null;
    });
    return this.unlocking;
  }

  private unlocking: Promise<Sealer> | null = null;

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
    if (this.meta.key) return this.unlock();
    const storeId = this.meta.store_id || newStoreId();
    // A store file without a key (valid, though plaidbal never writes one) has its store_id already:
    // another process making its first key at the same time would pick the same keychain account
    // and overwrite this one's entry. The account then gets a suffix of its own, as a rekey's does.
    const created = await createKey(keySource, this.keyDeps, this.meta.store_id ? `${storeId}.${randomUUID().slice(0, 8)}` : storeId);
    this.pendingKey = { storeId, config: created.config };
    this.unlocked = created.sealer;
    return created.sealer;
  }

  private pendingKey: { storeId: string; config: NonNullable<StoreDocument['key']> } | null = null;

  /**
   * Read-modify-write under the store lock: re-reads the file (or, when it still holds exactly
   * what this process last wrote, takes the document in memory), applies `change`, validates and
   * writes through the verified, atomic write (write.ts), so a crash leaves the old content or
   * the new. When `change` throws, nothing is written.
   *
   * `untilFree`: wait for the lock as long as another live process holds it, instead of giving up
   * after PLAIDBAL_LOCK_TIMEOUT_MS; for a write whose failure would throw away something Plaid
   * has already done and billed (a new item). A holder that died leaves a stale lock, taken over
   * within seconds. `onWait` is told once when the usual timeout has passed.
   *
   * `onFailure`: runs when `change` or the write failed, before the lock is released, for what must
   * be on disk before another process may write (rotate's recovery file: a `config rekey` waiting
   * for the lock must find it). What it throws is ignored; update() throws the failure.
   */
  async update(change: (doc: StoreDocument) => void | Promise<void>, opts: { untilFree?: boolean; onWait?: () => void; onFailure?: (error: unknown) => void | Promise<void> } = {}): Promise<StoreDocument> {
    if (this.discarded) {
      throw new CliError(`The key made for the new store at ${this.path} was deleted when the store's first write failed, so nothing sealed with it can be written any more. Nothing was written.`, { exitCode: ExitCode.CONFIG, hint: 'Run the command again.' });
    }
    try {
      this.ensureDir();
      return await this.locked(change, opts);
    } catch (error) {
      // A keychain key made for this store's first write is useless when that write did not land
      // (it failed, or never began: the directory, the lock): its entry is deleted, and what was
      // sealed with it must never be written after all (a batch import writing its rows again), or
      // the store would name a keychain entry that is gone. A key that landed is no longer pending.
      const made = this.pendingKey?.config;
      if (made?.source === 'keychain') {
        this.pendingKey = null;
        this.unlocked = null;
        this.discarded = made.check;
        await this.keyDeps.keychain.delete(made.account).catch(() => false);
      }
      throw error;
    }
  }

  /** The check of a key made for this store's first write and deleted when that write failed. */
  private discarded: string | null = null;

  private locked(change: (doc: StoreDocument) => void | Promise<void>, opts: { untilFree?: boolean; onWait?: () => void; onFailure?: (error: unknown) => void | Promise<void> }): Promise<StoreDocument> {
    return this.withLock(async () => {
      const expected = this.written;
      const own = expected !== null && this.current !== null && this.fileDigest() === expected ? this.current : null;
      const fresh = own ?? readDocument(this.dir, this.path) ?? emptyDocument(this.pendingKey?.storeId ?? newStoreId());
      let digest: string;
      try {
        digest = await this.applyAndCommit(fresh, change);
      } catch (error) {
        // `current` may hold part of a change that was not written: read the file again when next asked.
        if (own) {
          this.stale = true;
          this.written = null;
        }
        if (error instanceof StoreWriteError && error.committed) {
          // The new store is in place, though the disk did not confirm it: read it again when next
          // asked, and a key made for it is the store's key now, as after a confirmed write (a
          // later failure must not delete its keychain entry, nor a later write take it for new).
          this.stale = true;
          if (this.pendingKey) this.unlockedCheck = this.pendingKey.config.check;
          this.pendingKey = null;
        }
        try {
          await opts.onFailure?.(error);
        } catch {
          // the failure that matters is `error`
        }
        throw error;
      }
      this.current = fresh;
      this.written = digest;
      this.stale = false;
      this.lazy = null;
      if (this.pendingKey) this.unlockedCheck = this.pendingKey.config.check;
      this.pendingKey = null;
      return fresh;
    }, opts);
  }

  /** The body of update() once `fresh` is read: checks, `change`, validation and the write; the digest of what was written. */
  private async applyAndCommit(fresh: StoreDocument, change: (doc: StoreDocument) => void | Promise<void>): Promise<string> {
    if (this.exists && fresh.store_id !== this.meta.store_id) throw new CliError(changedWhileRunning(this.path, 'was replaced'), { exitCode: ExitCode.CONFIG, hint: 'Run the command again.' });
    if (this.pendingKey) {
      if (fresh.key && fresh.key.check !== this.pendingKey.config.check) throw await this.keyChanged(fresh.key, 'got a key from another plaidbal process');
      fresh.key ??= this.pendingKey.config;
    }
    // Values sealed with the key this process unlocked must not land in a store keyed otherwise
    // (config rekey), nor those of a caller still holding the key keyChanged() forgot.
    if (fresh.key && this.unlockedCheck && fresh.key.check !== this.unlockedCheck) throw await this.keyChanged(fresh.key, 'was re-keyed');
    await change(fresh);
    const problem = documentProblem(fresh);
    if (problem) throw new CliError(`Refusing to write an invalid store: ${problem}.`, { exitCode: ExitCode.UNEXPECTED });
    return this.commit(fresh);
  }

  /**
   * The store's key is no longer the one this process seals with: another plaidbal process gave a
   * new store its first key, or `config rekey` re-keyed it, since this process made or unlocked its
   * own. That key is forgotten, and the store is read again, so the next unlock() opens the key the
   * store has now; a keychain entry made for a first write that can no longer land is deleted (the
   * store names another key: nothing will ever be sealed with it). Until then, `unlockedCheck`
   * keeps naming the forgotten key, so a write by a caller that still seals with it (a batch import
   * retrying) is refused again rather than written.
   */
  private async keyChanged(now: KeyConfig, what: string): Promise<StoreKeyChangedError> {
    const made = this.pendingKey?.config;
    this.pendingKey = null;
    this.unlocked = null;
    if (made) this.unlockedCheck = made.check;
    this.stale = true;
    if (made?.source === 'keychain' && !(now.source === 'keychain' && now.account === made.account)) await this.keyDeps.keychain.delete(made.account).catch(() => false);
    return new StoreKeyChangedError(this.path, what);
  }

  /** The SHA-256 of the store file as it is now; null when it cannot be read (the usual read then says why). */
  private fileDigest(): string | null {
    try {
      return createHash('sha256').update(readFileSync(this.path)).digest('hex');
    } catch {
      return null;
    }
  }

  /**
   * Re-seals every secret under a new key (a new passphrase, or a move between keychain and
   * passphrase) in one atomic write. Until that write the store opens with the old key only;
   * after it, with the new key only. The old keychain entry is deleted after the switch.
   * A stop (`signal`) before the write ends the rekey with nothing written; from the write until
   * the old entry is deleted, a stop waits (critical.ts). `guard` runs under the lock, before
   * anything is re-sealed: it throws to refuse.
   */
  async rekey(target: KeySource, newPassphrase: KeyDeps['passphrase'], signal: AbortSignal, guard: () => void = () => {}): Promise<{ from: KeyConfig; to: KeyConfig; removedOldEntry: boolean | null; unconfirmed: StoreWriteError | null; backupStale: boolean }> {
    const from = this.doc.key;
    if (!from) throw configError('The store has no key yet, so there is nothing to re-key.', 'Run `plaidbal config init` first.');
    const oldSealer = await this.unlock();
    // A keychain key gets a fresh entry, so the old one keeps opening the store until the switch.
    const created = await createKey(target, { ...this.keyDeps, passphrase: newPassphrase }, `${this.doc.store_id}.${randomUUID().slice(0, 8)}`);
    const dropNewEntry = async () => {
      if (created.config.source === 'keychain') await this.keyDeps.keychain.delete(created.config.account).catch(() => false);
    };
    /** Set when the new store is in place but the disk did not confirm it (the directory's fsync failed). */
    let unconfirmed: StoreWriteError | null = null;
    let leave = () => {};
    try {
      try {
        await this.withLock(async () => {
          const fresh = readDocument(this.dir, this.path);
          if (!fresh || fresh.store_id !== this.doc.store_id || fresh.key?.check !== from.check) {
            throw configError(`The store at ${this.path} changed while re-keying, so nothing was written.`, 'Run `plaidbal config rekey` again.');
          }
          guard();
          const reseal = (sealed: string, boundTo: string, what: string) => {
            let plaintext: string;
            try {
              plaintext = oldSealer.open(sealed, boundTo);
            } catch {
              throw configError(`The sealed ${what} does not verify (altered or copied from elsewhere), so nothing was re-keyed.`, 'Remove or re-link that item first.');
            }
            return created.sealer.seal(plaintext, boundTo);
          };
          for (const [environment, profile] of Object.entries(fresh.profiles) as [Environment, NonNullable<StoreDocument['profiles'][Environment]>][]) {
            if (profile.secret) profile.secret = reseal(profile.secret, aad.secret(environment), `${environment} Plaid secret`);
          }
          for (const item of fresh.items) item.access_token = reseal(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
          fresh.key = created.config;
          // Stopped while the keys were derived or the lock awaited: the old key still opens the store.
          if (signal.aborted) throw signal.reason;
          // From the write until the old keychain entry is deleted, a stop waits: exiting in
          // between leaves behind a key that still opens every earlier copy of the store.
          leave = enterCritical(`switching the store to the new key${from.source === 'keychain' ? ' and deleting the old keychain entry' : ''}`);
          let digest: string | null;
          try {
            digest = this.commit(fresh);
          } catch (error) {
            if (!(error instanceof StoreWriteError && error.committed)) throw error;
            unconfirmed = error;
            digest = null; // read the file again before the next write
          }
          this.current = fresh;
          this.written = digest;
          this.lazy = null;
        });
      } catch (error) {
        await dropNewEntry();
        throw error;
      }
      // The store on disk is keyed to the new key now, whatever the disk confirmed.
      this.unlocked = created.sealer;
      this.unlockedCheck = created.config.check;
      let removedOldEntry: boolean | null = null;
      // Unconfirmed, a crash could still bring back the previous version, which only the old key
      // opens: the old keychain entry is kept then, as the new one is. So it is when the backup
      // could not be written: it still holds that version, and is what a damaged store is
      // restored from.
      const backupStale = this.backupStale;
      if (from.source === 'keychain' && !unconfirmed && !backupStale) removedOldEntry = await this.keyDeps.keychain.delete(from.account).catch(() => false);
      return { from, to: created.config, removedOldEntry, unconfirmed, backupStale };
    } finally {
      leave();
    }
  }

  /**
   * Puts `doc` on disk through the verified writer, then the same bytes in the backup.
   * Called with the lock held, so any temporary file of ours still here is from a crash.
   * A failure of the store's own write leaves it byte-identical and throws StoreWriteError;
   * a failure of the backup's write leaves the new store in place and says so. Returns the
   * SHA-256 of the bytes written, for `written`; until the caller records it, nothing is trusted.
   */
  private commit(doc: StoreDocument): string {
    const backup = backupPath(this.path);
    this.removeLeftovers(backup);
    // conf's tab indentation, with one item per line (document.ts), so one item can be read alone.
    const bytes = Buffer.from(serializeDocument(doc), 'utf8');
    this.written = null;
    const digest = createHash('sha256').update(bytes).digest('hex');
    try {
      writeFileVerified(this.path, bytes);
    } catch (error) {
      if (error instanceof WriteFailure) throw new StoreWriteError(this.path, error);
      throw error;
    }
    this.backupStale = false;
    try {
      writeFileVerified(backup, bytes);
    } catch (error) {
      if (!(error instanceof WriteFailure)) throw error;
      this.backupStale = true;
      this.keyDeps.notice(`The store was saved, but its backup ${backup} could not be updated: ${error.what}. It still holds the version before this change. ${error.fix}`);
    }
    return digest;
  }

  /** The last commit() saved the store but not its backup, which holds the version before. */
  private backupStale = false;

  private removeLeftovers(backup: string): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (isTemporaryOf(this.path, name) || isTemporaryOf(backup, name)) {
        try {
          unlinkSync(join(this.dir, name));
        } catch {
          // still there next time
        }
      }
    }
  }

  /** Several plaidbal processes at once (scripts in parallel) must not lose each other's updates. */
  private async withLock<T>(critical: () => Promise<T>, opts: { untilFree?: boolean; onWait?: () => void } = {}): Promise<T> {
    const { default: lockfile } = await import('proper-lockfile');
    const lockPath = `${this.path}.lock`;
    const timeoutMs = lockTimeoutMs(this.env);
    let release: () => Promise<void>;
    const deadline = Date.now() + timeoutMs;
    let told = false;
    try {
      // Retried here rather than by proper-lockfile, which retries every error: a read-only or
      // full file system would cost the whole timeout before saying so. Only a held lock waits.
      for (;;) {
        try {
          release = await lockfile.lock(this.path, {
            realpath: false, // the store file may not exist yet
            lockfilePath: lockPath,
            // A holder that died (kill -9) leaves the lock behind; it is stale once not refreshed for this long.
            stale: 5_000,
            update: 1_000,
            retries: 0,
            onCompromised: () => {}, // the critical section is a read and an atomic rename: milliseconds
          });
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
          if (Date.now() >= deadline) {
            if (!opts.untilFree) throw error;
            if (!told) opts.onWait?.();
            told = true;
          }
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw configError(
          `The store is busy: another plaidbal process has held ${lockPath} for over ${Math.round(timeoutMs / 1000)} s. Nothing was written.`,
          'Try again. If no plaidbal is running, the lock goes stale by itself within 5 s; PLAIDBAL_LOCK_TIMEOUT_MS waits longer.',
        );
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code && /^E[A-Z]+$/.test(code)) {
        const { what, fix } = describeFsFailure(code, this.dir);
        throw configError(`Could not lock the store at ${this.path}: ${what}. Nothing was written.`, fix);
      }
      throw configError(`Could not lock the store at ${this.path}: ${(error as Error).message}`);
    }
    try {
      return await critical();
    } finally {
      await release().catch(() => {});
    }
  }

  private ensureDir(): void {
    /** What a failure is about: where a missing level is being made, then the store directory itself. */
    let subject = dirname(this.dir);
    try {
      // One level at a time, not mkdirSync's `recursive`: that reports ENOENT when a parent cannot
      // be made (a read-only file system, a directory of someone else's), hiding why.
      const missing: string[] = [];
      for (let dir = this.dir; !existsSync(dir); dir = dirname(dir)) {
        missing.unshift(dir);
        if (dirname(dir) === dir) break;
      }
      for (const dir of missing) {
        subject = dirname(dir);
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      subject = this.dir;
      const stat = statSync(this.dir);
      if (!stat.isDirectory()) throw configError(`Cannot use ${this.dir} as the store directory: it is a file, not a directory.`, 'Point PLAIDBAL_CONFIG_DIR at a directory you own (it is created if missing).');
      if (process.platform !== 'win32' && (stat.mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw configError(`Cannot use ${this.dir} as the store directory: ${subject} is a file, not a directory.`, 'Point PLAIDBAL_CONFIG_DIR at a directory you own (it is created if missing).');
      const { what, fix } = describeFsFailure(code, subject);
      const elsewhere = fix.includes('PLAIDBAL_CONFIG_DIR') ? '' : ' Or point PLAIDBAL_CONFIG_DIR at a directory you own (it is created if missing).';
      throw configError(`Cannot use ${this.dir} as the store directory: ${code === undefined ? (error as Error).message : what}.`, `${fix}${elsewhere}`);
    }
  }
}
