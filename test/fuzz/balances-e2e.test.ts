/**
 * Bad balances, end to end and bounded: the emulator serves generated accounts (nulls, missing
 * fields, negatives, huge and tiny numbers, unknown types, unofficial currencies, no accounts),
 * and the built `plaidbal balance` must exit 0 with JSON equal to what the emulator sent, field
 * for field, plus a table, NDJSON or CSV that shows the same values.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING, formatMoney } from '../../src/format/money.js';
import { ROW_COLUMNS } from '../../src/format/rows.js';
import type { AccountJson } from '../../src/types.js';
import type { World } from '../helpers/world.js';
import { bankText, rawAccounts, tableSafeText, wellFormedCurrency } from './arbitraries.js';
import { describeRun, fuzz, fuzzWorld, messageProblems } from './support.js';

let world: World;
let itemId: string;

beforeAll(async () => {
  world = await fuzzWorld();
  expect((await world.init('keychain')).code).toBe(0);
  await world.link('fz');
  itemId = world.emulator.items()[0]!.item_id;
});
afterAll(async () => world?.close());

/** The accounts of the last /accounts/balance/get response, as they went over the wire. */
function served(): Record<string, unknown>[] {
  const last = world.emulator.requests.filter((r) => r.path === '/accounts/balance/get').at(-1)!;
  expect(last.status).toBe(200);
  return (JSON.parse(JSON.stringify(last.response)) as { accounts: Record<string, unknown>[] }).accounts;
}

/** The documented account JSON for an account the emulator served: same values, missing → null, extras dropped. */
function documented(wire: Record<string, unknown>): AccountJson {
  const b = (wire.balances ?? {}) as Record<string, unknown>;
  const v = (x: unknown) => (x === undefined ? null : x);
  return {
    account_id: wire.account_id,
    name: wire.name,
    official_name: v(wire.official_name),
    mask: v(wire.mask),
    type: wire.type,
    subtype: v(wire.subtype),
    balances: {
      available: v(b.available),
      current: v(b.current),
      limit: v(b.limit),
      iso_currency_code: v(b.iso_currency_code),
      unofficial_currency_code: v(b.unofficial_currency_code),
      last_updated_datetime: v(b.last_updated_datetime),
    },
  } as AccountJson;
}


describe('generated balances through the built CLI', () => {
  it('balance --json equals what the emulator served; the table, NDJSON or CSV shows the same', async () => {
    const run = fc.record({
      // Names are found again in the table by their "acct<N>·" prefix.
      accounts: rawAccounts({ currency: wellFormedCurrency, name: fc.oneof(tableSafeText, bankText), maxLength: 7 }),
      other: fc.constantFrom('table', 'ndjson', 'csv'),
      debug: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(run, async ({ accounts, other, debug }) => {
        const tagged = accounts.map((a, i) => ({ ...a, name: `acct${i}·${a.name}` }));
        world.emulator.setAccounts(itemId, tagged as never);

        const jsonArgs = ['balance', '--item', 'fz', '--json', ...(debug ? ['--debug'] : [])];
        const json = await world.run(jsonArgs);
        expect(json.code, describeRun(jsonArgs, json)).toBe(0);
        expect(messageProblems(json.stderr), describeRun(jsonArgs, json)).toEqual([]);
        const wire = served();
        const doc = JSON.parse(json.stdout) as { items: { accounts: AccountJson[]; error: unknown }[] };
        expect(doc.items).toHaveLength(1);
        expect(doc.items[0]!.error).toBeNull();
        // Field for field, and every number the very double that was sent.
        expect(doc.items[0]!.accounts).toEqual(wire.map(documented));
        expect(doc.items[0]!.accounts.map((a) => a.account_id)).toEqual(tagged.map((a) => (a as { account_id: string }).account_id));

        const args = ['balance', '--item', 'fz', ...(other === 'table' ? [] : ['--format', other])];
        const out = await world.run(args);
        expect(out.code, describeRun(args, out)).toBe(0);
        expect(messageProblems(out.stderr), describeRun(args, out)).toEqual([]);
        const accountsNow = served().map(documented);
        if (other === 'table') checkTable(out.stdout, accountsNow);
        else if (other === 'ndjson') checkNdjson(out.stdout, accountsNow);
        else checkCsv(out.stdout, accountsNow);
      }),
      fuzz(8, { spawns: true }),
    );
  });
});

function checkTable(stdout: string, accounts: AccountJson[]): void {
  if (accounts.length === 0) {
    expect(stdout).toContain('No accounts.');
    return;
  }
  const lines = stdout.split('\n');
  for (const [i, account] of accounts.entries()) {
    const b = account.balances;
    const row = lines.find((l) => l.includes(`acct${i}·`));
    expect(row, `row of account ${i} in\n${stdout}`).toBeDefined();
    const wraps = /[\r\n│]/.test(account.name) || (account.mask !== null && /[\r\n│]/.test(account.mask)) || /[\r\n│]/.test(`${account.type}${account.subtype ?? ''}`);
    const money = (v: number | null) => (v === null ? MISSING : formatMoney(v, b.iso_currency_code, b.unofficial_currency_code));
    if (!wraps) {
      const cells = row!.split('│').map((c) => c.trim()).slice(-5, -1);
      expect(cells.slice(0, 3), row).toEqual([money(b.available), money(b.current), money(b.limit)]);
    } else {
      for (const v of [b.available, b.current, b.limit]) if (v !== null) expect(stdout).toContain(money(v));
    }
  }
  expect(stdout).toContain('Totals');
}

function checkNdjson(stdout: string, accounts: AccountJson[]): void {
  const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows).toHaveLength(Math.max(1, accounts.length));
  accounts.forEach((a, i) => {
    expect(rows[i]).toMatchObject({ account_id: a.account_id, account_name: a.name, official_name: a.official_name, mask: a.mask, type: a.type, subtype: a.subtype, ...a.balances, error: null });
  });
}

function checkCsv(stdout: string, accounts: AccountJson[]): void {
  expect(stdout.endsWith('\r\n')).toBe(true);
  // The values sit in known columns; quoted fields are unquoted by a minimal RFC 4180 reader.
  const records = readCsv(stdout);
  expect(records[0]).toEqual([...ROW_COLUMNS, 'error_code', 'error_message']);
  expect(records).toHaveLength(1 + Math.max(1, accounts.length));
  accounts.forEach((a, i) => {
    const r = records[i + 1]!;
    const at = (column: (typeof ROW_COLUMNS)[number]) => r[ROW_COLUMNS.indexOf(column)]!;
    expect(at('account_id')).toBe(a.account_id);
    expect(at('account_name')).toBe(a.name);
    for (const key of ['available', 'current', 'limit'] as const) {
      const value = a.balances[key];
      expect(at(key) === '' ? null : Number(at(key)), key).toBe(value);
    }
    expect(at('iso_currency_code')).toBe(a.balances.iso_currency_code ?? '');
    expect(at('unofficial_currency_code')).toBe(a.balances.unofficial_currency_code ?? '');
  });
}

function readCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  return records;
}
