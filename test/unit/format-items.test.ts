import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { NO_ITEMS_MESSAGE, describeInstant, itemsJson, itemsTable, relativeTime } from '../../src/format/items.js';
import type { ItemRecord } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const ANSI = /\u001b\[/;
const NOW = new Date('2024-05-04T12:00:00.000Z');

const PLATYPUS: ItemRecord = {
  item_id: 'eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6',
  alias: 'platypus',
  environment: 'sandbox',
  institution_id: 'ins_109508',
  institution_name: 'First Platypus Bank',
  products: ['transactions'],
  linked_at: '2024-05-01T09:00:00.000Z',
  last_balance_at: '2024-05-04T11:55:00.000Z',
};

const CHASE: ItemRecord = {
  item_id: 'Kd8w3VqzLxPnRmT0aYbC7eFgHiJkLmNoPqRs1',
  alias: 'chase',
  environment: 'production',
  institution_id: null,
  institution_name: null,
  products: ['auth', 'transactions'],
  linked_at: '2023-11-20T08:30:00.000Z',
};

describe('itemsTable', () => {
  it('lists items with dates and relative times', () => {
    expect(itemsTable([PLATYPUS, CHASE], plain, NOW)).toBe(
      [
        '┌──────────┬───────────────────────────────────────┬─────────────────────┬─────────────┬───────────────────────────┬────────────────────────────┐',
        '│ Alias    │ Item ID                               │ Institution         │ Environment │ Linked                    │ Last balance               │',
        '├──────────┼───────────────────────────────────────┼─────────────────────┼─────────────┼───────────────────────────┼────────────────────────────┤',
        '│ platypus │ eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6 │ First Platypus Bank │ sandbox     │ 2024-05-01 (3 days ago)   │ 2024-05-04 (5 minutes ago) │',
        '│ chase    │ Kd8w3VqzLxPnRmT0aYbC7eFgHiJkLmNoPqRs1 │ —                   │ production  │ 2023-11-20 (5 months ago) │ never                      │',
        '└──────────┴───────────────────────────────────────┴─────────────────────┴─────────────┴───────────────────────────┴────────────────────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('shows the institution id when the name is unknown', () => {
    expect(itemsTable([{ ...CHASE, institution_id: 'ins_3' }], plain, NOW)).toContain('│ ins_3       │');
  });

  it('points at `plaidbal link` when nothing is linked', () => {
    expect(itemsTable([], plain, NOW)).toBe(
      'No items linked yet. Run `plaidbal link` (or `plaidbal link --sandbox`) to add one.\n',
    );
    expect(NO_ITEMS_MESSAGE).not.toMatch(ANSI);
  });

  it('has ANSI codes only when colour is on', () => {
    expect(itemsTable([PLATYPUS, CHASE], plain, NOW)).not.toMatch(ANSI);
    const coloured = itemsTable([PLATYPUS, CHASE], new Chalk({ level: 1 }), NOW);
    expect(coloured).toMatch(ANSI);
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(itemsTable([PLATYPUS, CHASE], plain, NOW));
  });
});

describe('describeInstant and relativeTime', () => {
  it('gives the UTC date and the time since', () => {
    expect(describeInstant('2024-05-01T09:00:00.000Z', NOW)).toBe('2024-05-01 (3 days ago)');
    expect(describeInstant('2024-05-04T11:59:30.000Z', NOW)).toBe('2024-05-04 (just now)');
    expect(describeInstant('not a date', NOW)).toBe('not a date');
  });

  it('counts whole units', () => {
    const ago = (ms: number): string => relativeTime(new Date(NOW.getTime() - ms), NOW);
    expect(ago(59_000)).toBe('just now');
    expect(ago(60_000)).toBe('1 minute ago');
    expect(ago(2 * 3_600_000)).toBe('2 hours ago');
    expect(ago(47 * 3_600_000)).toBe('1 day ago');
    expect(ago(45 * 86_400_000)).toBe('1 month ago');
    expect(ago(800 * 86_400_000)).toBe('2 years ago');
    // A clock a little behind the server's.
    expect(ago(-10 * 60_000)).toBe('in 10 minutes');
  });
});

describe('itemsJson', () => {
  it('writes every field in a fixed order with nulls, not omissions', () => {
    const shuffled = Object.fromEntries(Object.entries(CHASE).reverse()) as unknown as ItemRecord;
    const text = itemsJson([PLATYPUS, shuffled]);
    expect(text).toBe(
      `${JSON.stringify(
        {
          items: [
            {
              alias: 'platypus',
              item_id: 'eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6',
              environment: 'sandbox',
              institution_id: 'ins_109508',
              institution_name: 'First Platypus Bank',
              products: ['transactions'],
              linked_at: '2024-05-01T09:00:00.000Z',
              last_balance_at: '2024-05-04T11:55:00.000Z',
            },
            {
              alias: 'chase',
              item_id: 'Kd8w3VqzLxPnRmT0aYbC7eFgHiJkLmNoPqRs1',
              environment: 'production',
              institution_id: null,
              institution_name: null,
              products: ['auth', 'transactions'],
              linked_at: '2023-11-20T08:30:00.000Z',
              last_balance_at: null,
            },
          ],
        },
        null,
        2,
      )}\n`,
    );
  });

  it('writes an empty list as such', () => {
    expect(itemsJson([])).toBe('{\n  "items": []\n}\n');
  });
});
