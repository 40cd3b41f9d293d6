/**
 * Output of `plaidbal items status`: what Plaid's /item/get says about each item, judged
 * (ok / needs_update / error) and rendered as a table for people or one JSON document for
 * programs. Pure: data in, string out; `now` comes in so "expires in 3 days" is testable.
 */
import type { ChalkInstance } from 'chalk';
import type { Environment, ItemRecord, PlaidErrorJson } from '../types.js';
import { hintForPlaidError, plaidErrorJson, updateModeFixes } from '../plaid/errors.js';
import { NO_ITEMS_MESSAGE, describeInstant } from './items.js';
import { plainTable } from './table.js';
import { MISSING } from './money.js';
import { escapeControlsDeep } from '../text.js';

/** Consent that ends within this many days (or has ended) needs the user, through update mode. */
export const CONSENT_WARNING_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

export type ItemHealth = 'ok' | 'needs_update' | 'error';

/** `unknown`: the /item/get call failed, so Plaid said nothing about consent. */
export type ConsentState = 'none' | 'ok' | 'expiring' | 'expired' | 'unknown';

/** The fields of Plaid's `item` (from /item/get) that status reads. */
export interface PlaidItemFacts {
  error: PlaidErrorJson | null;
  consent_expiration_time: string | null;
  products: string[];
  billed_products: string[];
}

/** What one /item/get gave: Plaid's item, or the error the call failed with. */
export type ItemCheck =
  | { ok: true; request_id: string; item: PlaidItemFacts }
  | { ok: false; error: PlaidErrorJson; hint: string | null };

/** One item in `plaidbal items status --json`. Key order is part of the contract. */
export interface ItemStatusJson {
  item_id: string;
  name: string;
  institution_id: string | null;
  institution_name: string | null;
  environment: Environment;
  status: ItemHealth;
  error: PlaidErrorJson | null;
  consent_expiration_time: string | null;
  products: string[] | null;
  billed_products: string[] | null;
  last_balance_at: string | null;
  fix: string | null;
  request_id: string | null;
}

export interface StatusDocument {
  /** The one environment every listed item belongs to; null when both are listed. */
  environment: Environment | null;
  checked_at: string;
  items: ItemStatusJson[];
}

/** An item's status plus what only people see: the consent judgement and a hint for failed calls. */
export interface ItemStatus {
  json: ItemStatusJson;
  consent: ConsentState;
  /** For a failed call: what to do (from the error's hint). For the others, null: `fix` says it. */
  hint: string | null;
}

export const updateCommand = (alias: string) => `plaidbal link --update ${alias}`;

export function consentState(expiration: string | null, now: Date): Exclude<ConsentState, 'unknown'> {
  if (expiration === null) return 'none';
  const at = Date.parse(expiration);
  // An unparseable date is shown as Plaid sent it, and not guessed at.
  if (Number.isNaN(at)) return 'ok';
  if (at <= now.getTime()) return 'expired';
  return at - now.getTime() <= CONSENT_WARNING_DAYS * DAY_MS ? 'expiring' : 'ok';
}

/**
 * Judges one item:
 * - `error`: the call failed (the item is unknown to Plaid, network…), or Plaid reports an error
 *   on the item that is not an ITEM_ERROR (an institution error: nothing for the user to do);
 * - `needs_update`: Plaid reports an ITEM_ERROR that update mode fixes (ITEM_LOGIN_REQUIRED…; not
 *   PRODUCTS_NOT_SUPPORTED, NO_ACCOUNTS or ITEM_NOT_SUPPORTED, which are `error`), or the consent ends within
 *   CONSENT_WARNING_DAYS or has ended; Link's update mode fixes both;
 * - `ok`: neither.
 */
export function itemStatus(record: ItemRecord, check: ItemCheck, now: Date): ItemStatus {
  const base = {
    item_id: record.item_id,
    name: record.alias,
    institution_id: record.institution_id,
    institution_name: record.institution_name,
    environment: record.environment,
  };
  const lastBalanceAt = record.last_balance_at ?? null;
  if (!check.ok) {
    return {
      json: {
        ...base,
        status: 'error',
        error: check.error,
        consent_expiration_time: null,
        products: null,
        billed_products: null,
        last_balance_at: lastBalanceAt,
        fix: null,
        request_id: check.error.request_id,
      },
      consent: 'unknown',
      hint: check.hint,
    };
  }
  const { item } = check;
  const consent = consentState(item.consent_expiration_time, now);
  const itemError = item.error;
  const status: ItemHealth = itemError
    ? updateModeFixes(itemError)
      ? 'needs_update'
      : 'error'
    : consent === 'expiring' || consent === 'expired'
      ? 'needs_update'
      : 'ok';
  return {
    json: {
      ...base,
      status,
      error: itemError,
      consent_expiration_time: item.consent_expiration_time,
      products: [...item.products],
      billed_products: [...item.billed_products],
      last_balance_at: lastBalanceAt,
      fix: status === 'needs_update' ? updateCommand(record.alias) : null,
      request_id: check.request_id,
    },
    consent,
    // An error update mode does not fix has no `fix`: what plaidbal knows of its code is the hint.
    hint: itemError && status === 'error' ? (hintForPlaidError(itemError, { environment: record.environment, item: record.alias, linkedAt: record.linked_at, now: now.getTime() }) ?? null) : null,
  };
}

/** `{"environment","checked_at","items":[...]}` with a fixed key order; missing values are null. */
export function statusJson(doc: StatusDocument): string {
  const ordered = {
    environment: doc.environment,
    checked_at: doc.checked_at,
    items: doc.items.map((i) => ({
      item_id: i.item_id,
      name: i.name,
      institution_id: i.institution_id,
      institution_name: i.institution_name,
      environment: i.environment,
      status: i.status,
      error: i.error === null ? null : plaidErrorJson(i.error),
      consent_expiration_time: i.consent_expiration_time,
      products: i.products === null ? null : [...i.products],
      billed_products: i.billed_products === null ? null : [...i.billed_products],
      last_balance_at: i.last_balance_at,
      fix: i.fix,
      request_id: i.request_id,
    })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const HEADINGS = ['Alias', 'Environment', 'Institution', 'Status', 'Consent expires', 'Products', 'Billed', 'Last balance', 'Fix'] as const;

/**
 * One row per item, then, for each item that is not OK, what Plaid said (code, message,
 * request_id) and what to do. Items are listed in the order given (the caller groups them
 * by environment).
 */
export function statusTable(shown: ItemStatus[], chalk: ChalkInstance, now: Date): string {
  // Institutions, Plaid's error codes and messages, request_ids and hints built from them: never
  // raw to a terminal, in the table or in the details under it.
  const statuses = escapeControlsDeep(shown);
  if (statuses.length === 0) return `${NO_ITEMS_MESSAGE}\n`;
  const table = plainTable(HEADINGS, chalk);
  for (const s of statuses) {
    const i = s.json;
    const unknown = s.consent === 'unknown';
    table.push([
      chalk.bold(i.name),
      i.environment,
      i.institution_name ?? i.institution_id ?? chalk.dim(MISSING),
      statusCell(s, chalk),
      unknown ? '' : consentCell(i.consent_expiration_time, s.consent, chalk, now),
      unknown ? '' : listCell(i.products, chalk),
      unknown ? '' : listCell(i.billed_products, chalk),
      i.last_balance_at ? describeInstant(i.last_balance_at, now) : chalk.dim('never'),
      i.fix ?? chalk.dim(MISSING),
    ]);
  }
  const details = statuses.filter((s) => s.json.status !== 'ok').map((s) => detailLines(s, chalk, now));
  return `${table.toString()}\n${details.map((d) => `\n${d}\n`).join('')}`;
}

function statusCell(s: ItemStatus, chalk: ChalkInstance): string {
  const { json } = s;
  if (json.error) return chalk.red(json.error.error_code);
  if (s.consent === 'expired') return chalk.red('CONSENT_EXPIRED');
  if (s.consent === 'expiring') return chalk.yellow('CONSENT_EXPIRING');
  return chalk.green('OK');
}

function consentCell(expiration: string | null, consent: ConsentState, chalk: ChalkInstance, now: Date): string {
  if (expiration === null) return chalk.dim(MISSING);
  const when = describeInstant(expiration, now);
  if (consent === 'expired') return chalk.red(`${when}, expired`);
  if (consent === 'expiring') return chalk.yellow(`${when}, expiring soon`);
  return when;
}

function listCell(values: string[] | null, chalk: ChalkInstance): string {
  return values && values.length ? values.join(', ') : chalk.dim(MISSING);
}

function detailLines(s: ItemStatus, chalk: ChalkInstance, now: Date): string {
  const { json } = s;
  const verdict = json.status === 'needs_update' ? chalk.yellow('needs its user') : chalk.red('error');
  const lines = [`${chalk.bold(json.name)} (${json.environment}): ${verdict}`];
  const e = json.error;
  if (e) {
    // PRODUCTS_NOT_SUPPORTED comes with an empty message; the code alone is then the message.
    lines.push(`  ${e.error_code} (${e.error_type})${e.error_message ? `: ${e.error_message}` : ''}`);
    if (e.display_message && e.display_message !== e.error_message) lines.push(`  display_message: ${e.display_message}`);
  }
  if (s.consent === 'expired' || s.consent === 'expiring') {
    const verb = s.consent === 'expired' ? 'ended' : 'ends';
    lines.push(`  Consent ${verb} ${describeInstant(json.consent_expiration_time ?? '', now)}: the user must renew it in Link.`);
  }
  const requestId = e?.request_id ?? json.request_id;
  if (requestId) lines.push(chalk.dim(`  request_id: ${requestId}`));
  if (json.fix) lines.push(`  ${chalk.cyan('Fix:')} ${json.fix}`);
  else if (s.hint) lines.push(`  ${chalk.cyan('Hint:')} ${s.hint}`);
  return lines.join('\n');
}
