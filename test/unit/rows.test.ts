/**
 * The flat outputs' two defences, by example (test/fuzz/formatters.test.ts checks them over
 * random documents): CSV cells a spreadsheet would run as formulas, and Unicode line breaks that
 * some NDJSON readers split records on.
 */
import { describe, expect, it } from 'vitest';
import { balanceCsv, balanceNdjson, csvField } from '../../src/format/rows.js';
import type { BalanceDocument } from '../../src/types.js';

function docWith(name: string, available: number | null, current: number | null = 1): BalanceDocument {
  return {
    environment: 'sandbox',
    fetched_at: '2026-12-04T00:00:00.000Z',
    items: [
      {
        item_id: 'item_1',
        name: 'demo',
        institution_id: 'ins_1',
        institution_name: 'Bank',
        balance_source: 'realtime',
        request_id: 'req1',
        error: null,
        accounts: [
          {
            account_id: 'acc_1',
            name,
            official_name: null,
            mask: '0000',
            type: 'depository',
            subtype: 'checking',
            balances: { available, current, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, last_updated_datetime: null },
          },
        ],
      },
    ],
  };
}

describe('CSV', () => {
  it('puts an apostrophe before text a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("http://evil/","Click")')).toBe(`"'=HYPERLINK(""http://evil/"",""Click"")"`);
    expect(csvField("+cmd|'/C calc'!A0")).toBe("'+cmd|'/C calc'!A0");
    expect(csvField('@SUM(1+1)')).toBe("'@SUM(1+1)");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe(`"'\rx"`);
    expect(csvField('Plaid Checking')).toBe('Plaid Checking');
    expect(csvField('a=b')).toBe('a=b');
  });

  it('leaves numbers alone (a negative balance stays a number) and never writes them in exponent form', () => {
    expect(csvField(-30.1)).toBe('-30.1');
    expect(csvField(1e-7)).toBe('0.0000001');
    expect(csvField(-1.2345678901234567e-8)).toBe('-0.000000012345678901234567');
    expect(csvField(1e21)).toBe('1000000000000000000000');
    const row = balanceCsv(docWith('=evil()', -12.5, 1e-7)).split('\r\n')[1]!;
    expect(row).toContain(",'=evil(),");
    expect(row).toContain(',-12.5,0.0000001,,USD,');
  });
});

describe('NDJSON', () => {
  it('escapes U+2028, U+2029 and U+0085: one line per record, the same values when parsed', () => {
    const name = 'a\u2028b\u2029c\u0085d';
    const text = balanceNdjson(docWith(name, 1));
    expect(text).not.toMatch(/[\u2028\u2029\u0085]/);
    expect(text).toContain('a\\u2028b\\u2029c\\u0085d');
    const lines = text.split(/\r\n|[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/).filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).account_name).toBe(name);
  });
});
