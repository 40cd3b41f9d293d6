/**
 * The recovery file of a token rotation: where the new access token goes when Plaid has
 * rotated it (the old one is dead) but the store could not be saved.
 *
 * The file holds the new token sealed exactly as the store would hold it (the store's key,
 * bound to the item's environment and item_id), so it is no more readable than the store
 * itself, and it is written by the same verified writer, mode 0600. It is tried beside the
 * store first, then beside the store's directory (a read-only or full store directory), then
 * in the OS temporary directory. `plaidbal items rotate --recover` finds it there, puts the
 * token in the store and deletes the file.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CliError, configError, usageError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { WriteFailure, writeFileVerified } from '../../store/write.js';
import type { Environment } from '../../types.js';

export const RECOVERY_PREFIX = 'plaidbal-rotated-';
const FORMAT = 'plaidbal-rotation-recovery/1';

export interface RecoveryRecord {
  format: typeof FORMAT;
  store_id: string;
  store_path: string;
  /** The key check of the store key that sealed `access_token`. */
  key_check: string;
  environment: Environment;
  item_id: string;
  alias: string;
  /** The new access token, sealed with the store's key. Never the plaintext. */
  access_token: string;
  rotated_at: string;
  request_id: string;
}

/** The record of `item`'s rotation to `sealed` (the new token, sealed with the store's current key). */
export function recoveryRecord(store: Store, item: Pick<RecoveryRecord, 'environment' | 'item_id' | 'alias'>, sealed: string, requestId: string, rotatedAt: Date): RecoveryRecord {
  return {
    format: FORMAT,
    store_id: store.meta.store_id,
    store_path: store.path,
    key_check: store.meta.key!.check,
    environment: item.environment,
    item_id: item.item_id,
    alias: item.alias,
    access_token: sealed,
    rotated_at: rotatedAt.toISOString(),
    request_id: requestId,
  };
}

/** The directories a recovery file is written to, in order; also where --recover looks. */
export function recoveryDirs(store: Store): string[] {
  return [...new Set([store.dir, dirname(store.dir), tmpdir()])];
}

export function recoveryName(store: Store, itemId: string): string {
  return `${RECOVERY_PREFIX}${store.meta.store_id}-${itemId}.json`;
}

/** Writes the record to the first directory that takes it; returns its path, or null and why each failed. */
export function writeRecovery(store: Store, record: RecoveryRecord): { path: string } | { path: null; failures: string[] } {
  const bytes = Buffer.from(`${JSON.stringify(record, null, 2)}\n`, 'utf8');
  const failures: string[] = [];
  for (const dir of recoveryDirs(store)) {
    const path = join(dir, recoveryName(store, record.item_id));
    try {
      writeFileVerified(path, bytes, { mode: 0o600 });
      return { path };
    } catch (error) {
      if (!(error instanceof WriteFailure)) throw error;
      // In place, only the directory's fsync failed: the file is there to be found, and a
      // second copy elsewhere would only leave one behind after --recover.
      if (error.committed) return { path };
      failures.push(`${dir}: ${error.what}`);
    }
  }
  return { path: null, failures };
}

function isRecord(value: unknown): value is RecoveryRecord {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === 'object' && v !== null && v.format === FORMAT &&
    ['store_id', 'store_path', 'key_check', 'environment', 'item_id', 'alias', 'access_token', 'rotated_at', 'request_id'].every((k) => typeof v[k] === 'string')
  );
}

export function readRecovery(path: string): RecoveryRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`There is no file ${path}.`, 'Without a path, `plaidbal items rotate --recover` finds the store\'s recovery files itself (plaidbal-rotated-*.json beside the store, or in the temporary directory).');
    throw configError(
      `Cannot read the rotation recovery file ${path}: ${code ?? 'it is not valid JSON'}.`,
      `Keep the file while it can be made readable (its owner, its mode): it may hold the only copy of an item's access token. If it is damaged beyond that, move it out of ${dirname(path)}: plaidbal then stops waiting for it, and that item must be linked again.`,
    );
  }
  if (!isRecord(raw)) throw configError(`${path} is not a plaidbal rotation recovery file.`);
  return raw;
}

/** The recovery files of this store in the usual places. */
export function findRecoveries(store: Store): string[] {
  const found: string[] = [];
  for (const dir of recoveryDirs(store)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const prefix = `${RECOVERY_PREFIX}${store.meta.store_id}-`;
    for (const name of names) if (name.startsWith(prefix) && name.endsWith('.json') && !name.includes('.tmp-')) found.push(join(dir, name));
  }
  return found;
}

/**
 * The recovery files whose token only the store's current key opens: what `config rekey` would
 * strand, since --recover takes a file only under the key that sealed it. A file sealed under an
 * earlier key is past saving already, so it does not count; one that cannot be read does, as it
 * may still hold the only copy of a token.
 */
export function recoveriesUnderCurrentKey(store: Store): string[] {
  return findRecoveries(store).filter((path) => {
    try {
      return readRecovery(path).key_check === store.meta.key?.check;
    } catch {
      // Gone since it was listed (another plaidbal finished it): nothing to strand.
      return existsSync(path);
    }
  });
}

/**
 * A recovery file waiting for this item, if any: one --recover can still finish (sealed under the
 * current key, or unreadable). A file from before a rekey is no longer waiting for anything.
 */
export function pendingRecoveryFor(store: Store, itemId: string): string | null {
  return recoveriesUnderCurrentKey(store).find((path) => basename(path) === recoveryName(store, itemId)) ?? null;
}

export function removeRecovery(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The hint for INVALID_ACCESS_TOKEN on an item whose rotation is unfinished: the stored token
 * is the old, dead one, and the new one waits in a recovery file. Null when there is none.
 */
export function withUnfinishedRotation(error: CliError, store: Store, item: { item_id: string; alias: string }): CliError {
  if (error.plaid?.error_code !== 'INVALID_ACCESS_TOKEN') return error;
  const pending = pendingRecoveryFor(store, item.item_id);
  if (!pending) return error;
  return new CliError(error.message, {
    exitCode: error.exitCode,
    plaid: error.plaid,
    hint: `"${item.alias}" was rotated, but the rotation was not finished: the store still holds the old token, which Plaid no longer accepts, and the new one is kept in ${pending}. Finish with: plaidbal items rotate --recover`,
  });
}
