import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import {
  CONSENT_WARNING_DAYS,
  consentState,
  itemStatus,
  statusJson,
  statusTable,
  type ItemCheck,
  type PlaidItemFacts,
  type StatusDocument,
} from '../../src/format/status.js';
import type { ItemRecord, PlaidErrorJson } from '../../src/types.js';

const plain = new Chalk({ level: 0 });
const ANSI = /\u001b\[/;
const NOW = new Date('2024-05-04T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const inDays = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

const DEMO: ItemRecord = {
  item_id: 'eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6',
  alias: 'demo',
  environment: 'sandbox',
  institution_id: 'ins_109508',
  institution_name: 'First Platypus Bank',
  products: ['transactions'],
  linked_at: '2024-05-01T09:00:00.000Z',
  last_balance_at: '2024-05-04T11:55:00.000Z',
};

const NEVER_BALANCED: ItemRecord = {
  item_id: 'Kd8w3VqzLxPnRmT0aYbC7eFgHiJkLmNoPqRs1',
  alias: 'chase',
  environment: 'production',
  institution_id: 'ins_3',
  institution_name: null,
  products: ['auth', 'transactions'],
  linked_at: '2023-11-20T08:30:00.000Z',
};

const HEALTHY: PlaidItemFacts = { error: null, consent_expiration_time: null, products: ['transactions'], billed_products: ['transactions'] };

const LOGIN_REQUIRED: PlaidErrorJson = {
  error_type: 'ITEM_ERROR',
  error_code: 'ITEM_LOGIN_REQUIRED',
  error_message: 'the login details of this item have changed',
  display_message: null,
  request_id: 'Ab3Cd4Ef5Gh6Ij7',
};

const ok = (item: Partial<PlaidItemFacts> = {}): ItemCheck => ({ ok: true, request_id: 'm8MDnv9okwxFNBV', item: { ...HEALTHY, ...item } });

describe('consentState', () => {
  it('null is no expiration; past is expired; within the warning window is expiring', () => {
    expect(CONSENT_WARNING_DAYS).toBe(7);
    expect(consentState(null, NOW)).toBe('none');
    expect(consentState(inDays(30), NOW)).toBe('ok');
    expect(consentState(inDays(7.01), NOW)).toBe('ok');
    expect(consentState(inDays(7), NOW)).toBe('expiring');
    expect(consentState(inDays(0.5), NOW)).toBe('expiring');
    expect(consentState(NOW.toISOString(), NOW)).toBe('expired');
    expect(consentState(inDays(-3), NOW)).toBe('expired');
    expect(consentState('not a date', NOW)).toBe('ok');
  });
});

describe('itemStatus', () => {
  it('a healthy item is ok, with no fix', () => {
    const s = itemStatus(DEMO, ok(), NOW);
    expect(s.json).toEqual({
      item_id: DEMO.item_id,
      name: 'demo',
      institution_id: 'ins_109508',
      institution_name: 'First Platypus Bank',
      environment: 'sandbox',
      status: 'ok',
      error: null,
      consent_expiration_time: null,
      products: ['transactions'],
      billed_products: ['transactions'],
      last_balance_at: '2024-05-04T11:55:00.000Z',
      fix: null,
      request_id: 'm8MDnv9okwxFNBV',
    });
    expect(s.consent).toBe('none');
  });

  it('an ITEM_ERROR needs the user: update mode is the fix', () => {
    const s = itemStatus(DEMO, ok({ error: LOGIN_REQUIRED }), NOW);
    expect(s.json).toMatchObject({ status: 'needs_update', error: LOGIN_REQUIRED, fix: 'plaidbal link --update demo' });
  });

  it('PRODUCTS_NOT_SUPPORTED, NO_ACCOUNTS and ITEM_NOT_SUPPORTED are ITEM_ERRORs that update mode does not fix: an error, with no fix', () => {
    for (const error_code of ['PRODUCTS_NOT_SUPPORTED', 'NO_ACCOUNTS', 'ITEM_NOT_SUPPORTED']) {
      const error = { ...LOGIN_REQUIRED, error_code };
      expect(itemStatus(DEMO, ok({ error }), NOW).json, error_code).toMatchObject({ status: 'error', error, fix: null });
    }
  });

  it('consent that ends within 7 days, or has ended, needs the user too', () => {
    expect(itemStatus(DEMO, ok({ consent_expiration_time: inDays(3) }), NOW).json).toMatchObject({ status: 'needs_update', error: null, fix: 'plaidbal link --update demo' });
    expect(itemStatus(DEMO, ok({ consent_expiration_time: inDays(-1) }), NOW).json).toMatchObject({ status: 'needs_update', fix: 'plaidbal link --update demo' });
    expect(itemStatus(DEMO, ok({ consent_expiration_time: inDays(60) }), NOW).json).toMatchObject({ status: 'ok', fix: null });
  });

  it('an error Plaid reports on the item that update mode does not fix is an error, with no fix', () => {
    const down: PlaidErrorJson = { ...LOGIN_REQUIRED, error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN' };
    expect(itemStatus(DEMO, ok({ error: down }), NOW).json).toMatchObject({ status: 'error', error: down, fix: null });
  });

  it('a failed call is an error; what Plaid did not say is null, not empty', () => {
    const invalid: PlaidErrorJson = { error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN', error_message: 'could not find matching access token', display_message: null, request_id: 'Zz9Yy8Xx7Ww6Vv5' };
    const s = itemStatus(NEVER_BALANCED, { ok: false, error: invalid, hint: 'Delete it here with `plaidbal items remove chase`' }, NOW);
    expect(s.json).toMatchObject({ status: 'error', error: invalid, products: null, billed_products: null, consent_expiration_time: null, last_balance_at: null, fix: null, request_id: 'Zz9Yy8Xx7Ww6Vv5' });
    expect(s.consent).toBe('unknown');
    expect(s.hint).toContain('plaidbal items remove chase');
  });
});

describe('statusTable', () => {
  it('an OK item: status OK, consent —, products, last balance as date and relative time', () => {
    expect(statusTable([itemStatus(DEMO, ok(), NOW)], plain, NOW)).toBe(
      [
        '┌───────┬─────────────┬─────────────────────┬────────┬─────────────────┬──────────────┬──────────────┬────────────────────────────┬─────┐',
        '│ Alias │ Environment │ Institution         │ Status │ Consent expires │ Products     │ Billed       │ Last balance               │ Fix │',
        '├───────┼─────────────┼─────────────────────┼────────┼─────────────────┼──────────────┼──────────────┼────────────────────────────┼─────┤',
        '│ demo  │ sandbox     │ First Platypus Bank │ OK     │ —               │ transactions │ transactions │ 2024-05-04 (5 minutes ago) │ —   │',
        '└───────┴─────────────┴─────────────────────┴────────┴─────────────────┴──────────────┴──────────────┴────────────────────────────┴─────┘',
        '',
      ].join('\n'),
    );
  });

  it('ITEM_LOGIN_REQUIRED: the code in the row, then the message, request_id and the fix', () => {
    const out = statusTable([itemStatus(DEMO, ok({ error: LOGIN_REQUIRED }), NOW)], plain, NOW);
    expect(out).toContain('│ ITEM_LOGIN_REQUIRED │');
    expect(out).toContain('│ plaidbal link --update demo │');
    // After the table, what Plaid said and what to do.
    expect(out.slice(out.lastIndexOf('┘') + 1)).toBe(
      [
        '',
        '',
        'demo (sandbox): needs its user',
        '  ITEM_LOGIN_REQUIRED (ITEM_ERROR): the login details of this item have changed',
        '  request_id: Ab3Cd4Ef5Gh6Ij7',
        '  Fix: plaidbal link --update demo',
        '',
      ].join('\n'),
    );
  });

  it('consent expiring soon, expired, and far off', () => {
    const soon = statusTable([itemStatus(DEMO, ok({ consent_expiration_time: '2024-05-07T12:00:00Z' }), NOW)], plain, NOW);
    expect(soon).toContain('│ CONSENT_EXPIRING │ 2024-05-07 (in 3 days), expiring soon │');
    expect(soon).toContain('  Consent ends 2024-05-07 (in 3 days): the user must renew it in Link.');
    expect(soon).toContain('  Fix: plaidbal link --update demo');
    const past = statusTable([itemStatus(DEMO, ok({ consent_expiration_time: '2024-05-01T12:00:00Z' }), NOW)], plain, NOW);
    expect(past).toContain('│ CONSENT_EXPIRED │ 2024-05-01 (3 days ago), expired │');
    expect(past).toContain('  Consent ended 2024-05-01 (3 days ago): the user must renew it in Link.');
    const far = statusTable([itemStatus(DEMO, ok({ consent_expiration_time: '2024-08-01T00:00:00Z' }), NOW)], plain, NOW);
    expect(far).toContain('│ OK     │ 2024-08-01 (in 2 months) │');
    expect(far).not.toContain('needs its user');
  });

  it('a never-balanced item says "never"; a missing institution name falls back to the id', () => {
    const out = statusTable([itemStatus(NEVER_BALANCED, ok({ products: ['auth', 'transactions'], billed_products: ['auth'] }), NOW)], plain, NOW);
    expect(out).toContain('│ chase │ production  │ ins_3       │ OK     │ —               │ auth, transactions │ auth   │ never        │ —   │');
  });

  it('a failed call: blank Plaid columns, the error, and the hint', () => {
    const network: PlaidErrorJson = { error_type: 'PLAIDBAL_NETWORK_ERROR', error_code: 'NETWORK_FAILURE', error_message: 'The request to Plaid failed (ECONNREFUSED)', display_message: null, request_id: null };
    const out = statusTable([itemStatus(DEMO, { ok: false, error: network, hint: 'Check your network connection.' }, NOW)], plain, NOW);
    expect(out).toContain('│ demo  │ sandbox     │ First Platypus Bank │ NETWORK_FAILURE │                 │          │        │ 2024-05-04 (5 minutes ago) │ —   │');
    expect(out).toContain('demo (sandbox): error\n  NETWORK_FAILURE (PLAIDBAL_NETWORK_ERROR): The request to Plaid failed (ECONNREFUSED)\n  Hint: Check your network connection.\n');
    expect(out).not.toContain('request_id');
  });

  it('has ANSI codes only when colour is on', () => {
    const statuses = [itemStatus(DEMO, ok(), NOW), itemStatus(NEVER_BALANCED, ok({ error: LOGIN_REQUIRED, consent_expiration_time: inDays(2) }), NOW)];
    expect(statusTable(statuses, plain, NOW)).not.toMatch(ANSI);
    expect(statusTable(statuses, new Chalk({ level: 1 }), NOW)).toMatch(ANSI);
  });
});

describe('statusJson', () => {
  it('has a fixed key order at every level, and every field present', () => {
    const needs = itemStatus(DEMO, ok({ error: { ...LOGIN_REQUIRED } }), NOW).json;
    // Plaid's item.error carries extra fields (causes, status): they are not part of plaidbal's JSON.
    const withExtras = { ...needs, error: { causes: [], status: 400, ...LOGIN_REQUIRED } as PlaidErrorJson };
    const doc: StatusDocument = { environment: 'sandbox', checked_at: NOW.toISOString(), items: [withExtras, itemStatus(NEVER_BALANCED, ok(), NOW).json] };
    const text = statusJson(doc);
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(['environment', 'checked_at', 'items']);
    const keys = ['item_id', 'name', 'institution_id', 'institution_name', 'environment', 'status', 'error', 'consent_expiration_time', 'products', 'billed_products', 'last_balance_at', 'fix', 'request_id'];
    for (const item of parsed.items) expect(Object.keys(item)).toEqual(keys);
    expect(Object.keys(parsed.items[0].error)).toEqual(['error_type', 'error_code', 'error_message', 'display_message', 'request_id']);
    expect(parsed.items[1]).toMatchObject({ status: 'ok', error: null, last_balance_at: null, fix: null });
  });

  it('environment is null when items of both environments are listed', () => {
    const doc: StatusDocument = { environment: null, checked_at: NOW.toISOString(), items: [] };
    expect(JSON.parse(statusJson(doc))).toEqual({ environment: null, checked_at: '2024-05-04T12:00:00.000Z', items: [] });
  });
});

describe('an error update mode does not fix, in a table of several items (items status --all)', () => {
  it('says what to do about it: the hint for its code, since there is no fix', () => {
    const noAccounts: PlaidErrorJson = { error_type: 'ITEM_ERROR', error_code: 'NO_ACCOUNTS', error_message: 'no valid accounts were found for this item', display_message: null, request_id: 'Zz9Yy8Xx7Ww6Vv5' };
    const broken = itemStatus(DEMO, ok({ error: noAccounts }), NOW);
    expect(broken.json).toMatchObject({ status: 'error', fix: null });
    expect(broken.hint).toContain('update mode will not bring them back');
    const table = statusTable([itemStatus(NEVER_BALANCED, ok(), NOW), broken], plain, NOW);
    expect(table).toContain('NO_ACCOUNTS');
    expect(table).toContain('Hint: Plaid finds no usable accounts on this item');
    expect(table).toContain('plaidbal items remove demo');
    // What update mode fixes has its fix, and no hint besides.
    const login = itemStatus(DEMO, ok({ error: LOGIN_REQUIRED }), NOW);
    expect(login.json.fix).toBe('plaidbal link --update demo');
    expect(login.hint).toBeNull();
  });
});
