/**
 * Output of `plaidbal items`: a table for people and one JSON document for programs.
 * Pure: data in, string out; `now` comes in so "3 days ago" is testable.
 */
import { plainTable } from './table.js';
import type { ChalkInstance } from 'chalk';
import type { ItemRecord } from '../types.js';
import { MISSING } from './money.js';
import { escapeControlsDeep } from '../text.js';

export const NO_ITEMS_MESSAGE =
  'No items linked yet. Run `plaidbal link` (or `plaidbal link --sandbox`) to add one.';

const HEADINGS = ['Alias', 'Item ID', 'Institution', 'Environment', 'Linked', 'Last balance'] as const;

export function itemsTable(shown: ItemRecord[], chalk: ChalkInstance, now: Date): string {
  const items = escapeControlsDeep(shown);
  if (items.length === 0) return `${NO_ITEMS_MESSAGE}\n`;
  const table = plainTable(HEADINGS, chalk);
  for (const item of items) {
    table.push([
      chalk.bold(item.alias),
      chalk.dim(item.item_id),
      item.institution_name ?? item.institution_id ?? chalk.dim(MISSING),
      item.environment,
      describeInstant(item.linked_at, now),
      item.last_balance_at ? describeInstant(item.last_balance_at, now) : chalk.dim('never'),
    ]);
  }
  return `${table.toString()}\n`;
}

/** `{"items":[...]}` with a fixed key order; missing values are null, never omitted. */
export function itemsJson(items: ItemRecord[]): string {
  const ordered = items.map((item) => ({
    alias: item.alias,
    item_id: item.item_id,
    environment: item.environment,
    institution_id: item.institution_id ?? null,
    institution_name: item.institution_name ?? null,
    products: [...(item.products ?? [])],
    linked_at: item.linked_at ?? null,
    last_balance_at: item.last_balance_at ?? null,
  }));
  return `${JSON.stringify({ items: ordered }, null, 2)}\n`;
}

/**
 * "2024-05-01 (3 days ago)". The date is the UTC calendar date so output does not depend on the
 * machine's time zone; the relative part carries the local meaning. Unparseable input is shown as is.
 */
export function describeInstant(iso: string, now: Date): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.toISOString().slice(0, 10)} (${relativeTime(at, now)})`;
}

// Made on first use: ICU's set-up is a measurable part of a short run's start-up, and the balance
// table loads this module for its empty-store message without ever printing a relative time.
let relative: Intl.RelativeTimeFormat | undefined;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function relativeTime(at: Date, now: Date): string {
  const elapsed = now.getTime() - at.getTime();
  const size = Math.abs(elapsed);
  if (size < MINUTE) return 'just now';
  // Whole units, truncated: 47 hours is "1 day ago", not "2 days ago".
  const [amount, unit] = largestUnit(size);
  const whole = Math.floor(amount);
  relative ??= new Intl.RelativeTimeFormat('en', { numeric: 'always' });
  return relative.format(elapsed > 0 ? -whole : whole, unit);
}

function largestUnit(size: number): [number, Intl.RelativeTimeFormatUnit] {
  if (size < HOUR) return [size / MINUTE, 'minute'];
  if (size < DAY) return [size / HOUR, 'hour'];
  if (size < 30 * DAY) return [size / DAY, 'day'];
  if (size < 365 * DAY) return [size / (30 * DAY), 'month'];
  return [size / (365 * DAY), 'year'];
}
