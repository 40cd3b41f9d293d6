/**
 * When each item's balance was last fetched (`last_balance_at`, shown by `items` and
 * `items status`): bookkeeping that `balance` records after every successful call.
 *
 * It used to be a field of store.json, so every balance check rewrote the whole store, under
 * its lock, twice (the store and its backup): on a store of 10,000 items, megabytes written,
 * fsynced and read back for one figure. Now it is a line appended to a log beside the store,
 * `last-balance.ndjson` (0600): `{"item_id","environment","at"}` per item, one write per run, so
 * the cost of a balance check follows the items it touches, not the size of the store.
 *
 * - Readers take, per item, the latest of the log's times and the store's own field (which
 *   stores written before this change still hold). Lines of items no longer in the store are
 *   ignored; a torn or unreadable line is skipped.
 * - A failed append is cut back to where it started, so it cannot glue half a line to the next.
 * - The log is compacted (one line per item, replaced through the verified writer) once it is
 *   over COMPACT_AT bytes and has doubled since it was last compacted.
 * - It is bookkeeping, not data: appends are not fsynced and take no lock. Two processes that
 *   compact and append in the same instant can lose that one append's time; nothing else.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Environment } from '../types.js';
import { writeFileVerified } from './write.js';

export const LAST_BALANCE_FILE = 'last-balance.ndjson';
/** Compaction is considered once the log is this large (about 9,000 lines). */
export const COMPACT_AT = 1024 * 1024;

export interface LastBalance {
  item_id: string;
  environment: Environment;
  at: string;
}

const key = (environment: string, itemId: string) => `${environment} ${itemId}`;

export function lastBalancePath(dir: string): string {
  return join(dir, LAST_BALANCE_FILE);
}

function isEntry(value: unknown): value is LastBalance {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && typeof v.item_id === 'string' && typeof v.environment === 'string' && typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at));
}

/** Appends one line per entry in a single write. Throws the file system's error. */
export function appendLastBalance(dir: string, entries: LastBalance[]): void {
  if (entries.length === 0) return;
  const bytes = Buffer.from(entries.map((e) => `${JSON.stringify({ item_id: e.item_id, environment: e.environment, at: e.at })}\n`).join(''), 'utf8');
  const fd = openSync(lastBalancePath(dir), 'a', 0o600);
  const start = fstatSync(fd).size;
  try {
    let done = 0;
    while (done < bytes.length) {
      const n = writeSync(fd, bytes, done, bytes.length - done, null);
      if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      done += n;
    }
  } catch (error) {
    try {
      ftruncateSync(fd, start);
      // A log this append created stays absent, so a failed run leaves the directory as it was.
      if (start === 0 && fstatSync(fd).size === 0) unlinkSync(lastBalancePath(dir));
    } catch {
      // a torn line is skipped by readers
    }
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** The latest time per item in the log (keyed by environment and item_id); empty when there is no log. */
export function readLastBalance(dir: string): { latest: Map<string, LastBalance>; lines: number } {
  const latest = new Map<string, LastBalance>();
  let text: string;
  try {
    text = readFileSync(lastBalancePath(dir), 'utf8');
  } catch {
    return { latest, lines: 0 };
  }
  let lines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines += 1;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isEntry(entry)) continue;
    const k = key(entry.environment, entry.item_id);
    const seen = latest.get(k);
    if (!seen || Date.parse(entry.at) > Date.parse(seen.at)) latest.set(k, entry);
  }
  return { latest, lines };
}

/** `last_balance_at` of an item: the later of the store's field and the log's latest line. */
export function lastBalanceAt(latest: Map<string, LastBalance>, item: { item_id: string; environment: Environment; last_balance_at?: string | null }): string | null {
  const logged = latest.get(key(item.environment, item.item_id))?.at ?? null;
  const stored = item.last_balance_at ?? null;
  if (logged === null) return stored;
  if (stored === null) return logged;
  return Date.parse(logged) >= Date.parse(stored) ? logged : stored;
}

/**
 * Rewrites the log as one line per item still in the store, once it is over COMPACT_AT bytes
 * and twice the size it had after the last compaction (its first line records that size), so
 * the log stays within about twice one line per item and the check costs a stat and a small
 * read. Best effort: a failure leaves the log as it was. Returns whether it compacted.
 */
export function compactLastBalance(dir: string, stillStored: (entry: LastBalance) => boolean): boolean {
  const path = lastBalancePath(dir);
  let size: number;
  let compactedBytes = 0;
  try {
    size = statSync(path).size;
    if (size < COMPACT_AT) return false;
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(128);
      const n = readSync(fd, head, 0, head.length, 0);
      const first = head.subarray(0, n).toString('utf8').split('\n')[0]!;
      const parsed = JSON.parse(first) as { compacted_bytes?: unknown };
      if (typeof parsed.compacted_bytes === 'number') compactedBytes = parsed.compacted_bytes;
    } catch {
      // no header: never compacted
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  if (size < 2 * compactedBytes) return false;
  const body = [...readLastBalance(dir).latest.values()].filter(stillStored).map((e) => `${JSON.stringify(e)}\n`).join('');
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  const header = `${JSON.stringify({ compacted_bytes: bodyBytes + 40 })}\n`;
  try {
    writeFileVerified(path, Buffer.from(header + body, 'utf8'), { mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}
