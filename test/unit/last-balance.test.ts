/** The last-balance log (src/store/last-balance.ts): appends, what readers make of it, compaction. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLastBalance, COMPACT_AT, compactLastBalance, lastBalanceAt, lastBalancePath, readLastBalance } from '../../src/store/last-balance.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'plaidbal-lastbal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 12, minute)).toISOString();

describe('last-balance.ndjson', () => {
  it('appends one line per item, 0600, and readers take the latest time per item and environment', () => {
    appendLastBalance(dir, [
      { item_id: 'a', environment: 'sandbox', at: at(1) },
      { item_id: 'b', environment: 'sandbox', at: at(1) },
    ]);
    appendLastBalance(dir, [{ item_id: 'a', environment: 'sandbox', at: at(5) }]);
    appendLastBalance(dir, [{ item_id: 'a', environment: 'production', at: at(9) }]);
    expect(statSync(lastBalancePath(dir)).mode & 0o777).toBe(0o600);
    const { latest, lines } = readLastBalance(dir);
    expect(lines).toBe(4);
    expect(lastBalanceAt(latest, { item_id: 'a', environment: 'sandbox' })).toBe(at(5));
    expect(lastBalanceAt(latest, { item_id: 'a', environment: 'production' })).toBe(at(9));
    expect(lastBalanceAt(latest, { item_id: 'c', environment: 'sandbox' })).toBeNull();
  });

  it("the store's own field (stores written before the log) counts when it is later", () => {
    appendLastBalance(dir, [{ item_id: 'a', environment: 'sandbox', at: at(5) }]);
    const { latest } = readLastBalance(dir);
    expect(lastBalanceAt(latest, { item_id: 'a', environment: 'sandbox', last_balance_at: at(7) })).toBe(at(7));
    expect(lastBalanceAt(latest, { item_id: 'a', environment: 'sandbox', last_balance_at: at(2) })).toBe(at(5));
    expect(lastBalanceAt(new Map(), { item_id: 'a', environment: 'sandbox', last_balance_at: at(2) })).toBe(at(2));
  });

  it('skips torn and foreign lines; a missing log is empty', () => {
    expect(readLastBalance(dir).lines).toBe(0);
    writeFileSync(lastBalancePath(dir), `{"item_id":"a","environment":"sandbox","at":"${at(3)}"}\n{"item_id":"a","env\nnot json\n{"item_id":"b","environment":"sandbox","at":"yesterday"}\n`);
    appendLastBalance(dir, [{ item_id: 'b', environment: 'sandbox', at: at(4) }]);
    const { latest } = readLastBalance(dir);
    expect(lastBalanceAt(latest, { item_id: 'a', environment: 'sandbox' })).toBe(at(3));
    expect(lastBalanceAt(latest, { item_id: 'b', environment: 'sandbox' })).toBe(at(4));
  });

  it('compacts a large log to one line per stored item once it has doubled, and leaves a small one alone', () => {
    appendLastBalance(dir, [{ item_id: 'a', environment: 'sandbox', at: at(1) }]);
    expect(compactLastBalance(dir, () => true)).toBe(false);
    // Runs over the same 13,000 items (one was removed since): compacted, still over COMPACT_AT.
    const line = (i: number, minute: number) => `${JSON.stringify({ item_id: `item-${i}`, environment: 'production', at: at(minute) })}\n`;
    let minute = 0;
    while (statSync(lastBalancePath(dir)).size < 2 * COMPACT_AT) {
      minute += 1;
      appendFileSync(lastBalancePath(dir), Array.from({ length: 13_000 }, (_, i) => line(i, minute % 60)).join(''));
    }
    const removed = 'item-7';
    expect(compactLastBalance(dir, (e) => e.item_id !== removed)).toBe(true);
    const compacted = statSync(lastBalancePath(dir)).size;
    expect(compacted).toBeGreaterThan(COMPACT_AT);
    expect(compacted).toBeLessThan(13_000 * 90);
    const { latest } = readLastBalance(dir);
    expect(latest.size).toBe(12_999 + 1); // item a (sandbox) and the production items still stored
    expect(lastBalanceAt(latest, { item_id: removed, environment: 'production' })).toBeNull();
    expect(lastBalanceAt(latest, { item_id: 'item-3', environment: 'production' })).toBe(at(minute % 60 === 0 ? 0 : minute % 60));
    // Appends after a compaction do not compact again until the log has doubled.
    appendLastBalance(dir, [{ item_id: 'item-3', environment: 'production', at: at(59) }]);
    expect(compactLastBalance(dir, () => true)).toBe(false);
    appendFileSync(lastBalancePath(dir), readFileSync(lastBalancePath(dir), 'utf8'));
    expect(compactLastBalance(dir, () => true)).toBe(true);
    expect(statSync(lastBalancePath(dir)).size).toBeLessThan(compacted + 100);
    expect(readFileSync(lastBalancePath(dir), 'utf8').split('\n')[0]).toMatch(/^\{"compacted_bytes":\d+\}$/);
  });
});
