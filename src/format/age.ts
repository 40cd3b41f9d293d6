/**
 * How old a balance is, when it is not real-time. Pure.
 *
 * Plaid sends `balances.last_updated_datetime` only for Capital One (ins_128026). Its
 * non-depository accounts (credit cards) have no real-time balance there: the figure is the
 * one Plaid last pulled, and this timestamp says when. Its depository accounts are fetched in
 * real time (spec, MinLastUpdatedDatetime and AccountBalance.last_updated_datetime, in
 * plaid-openapi 2020-09-14.yml; plaid.com/docs/api/products/balance/).
 */
import type { AccountJson } from '../types.js';

/** A depository figure this close to the fetch is the real-time one Plaid just pulled. */
export const REALTIME_SLACK_MS = 60_000;

export interface BalanceAge {
  /** `balances.last_updated_datetime`, as Plaid sent it. */
  at: string;
  /** fetched − at, never negative (clocks differ). */
  ms: number;
}

/** The age of `account`'s figures when they are not real-time; null when they are (or Plaid did not say). */
export function staleBalance(account: AccountJson, fetchedAt: string | Date): BalanceAge | null {
  const at = account.balances.last_updated_datetime;
  if (!at) return null;
  const updated = Date.parse(at);
  const fetched = typeof fetchedAt === 'string' ? Date.parse(fetchedAt) : fetchedAt.getTime();
  if (Number.isNaN(updated) || Number.isNaN(fetched)) return null;
  const ms = Math.max(0, fetched - updated);
  if (account.type === 'depository' && ms < REALTIME_SLACK_MS) return null;
  return { at, ms };
}

/** `less than a minute`, `12 min`, `3 h`, `2 d`: rounded down, so never younger than it is. */
export function ageText(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** `as of 3 h ago`, the words the table and check print beside a figure that is not real-time. */
export const asOfText = (age: BalanceAge): string => (age.ms < 60_000 ? 'as of less than a minute ago' : `as of ${ageText(age.ms)} ago`);
