/**
 * fast-check generators for what Plaid may send: amounts (null, negative, huge, tiny, many
 * decimals, -0), currencies (ISO, unofficial, unknown, malformed), account types and subtypes
 * Plaid may add tomorrow, missing fields, extra fields, and names with anything in them.
 */
import fc from 'fast-check';
import type { AccountBase } from 'plaid';
import type { BalanceDocument, ItemBalanceJson, PlaidErrorJson } from '../../src/types.js';
import { toAccountJson } from '../../src/format/balance.js';
import { binaryString } from '../helpers/code-points.js';

/** Values that have broken money formatting somewhere before. */
const SPECIAL_NUMBERS = [
  0, -0, 0.1, 0.2, 0.30000000000000004, -0.01, 23631.9805, 0.12345678, 1e-7, -1e-7, 5e-324, -5e-324, Number.MIN_VALUE,
  1e21, -1e21, 1.5e21, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 2 ** 70, 1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE,
  123456789012345.67, 9999999999999.99, 0.000001234,
];

/** A finite JSON number as Plaid might send it. */
export const plaidNumber: fc.Arbitrary<number> = fc.oneof(
  // cents, the common case
  { weight: 4, arbitrary: fc.integer({ min: -1e11, max: 1e11 }).map((cents) => cents / 100) },
  // up to 12 decimals (401k units, crypto), read the way JSON.parse reads the text
  { weight: 3, arbitrary: fc.tuple(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 12 })).map(([units, scale]) => Number(`${units}e-${scale}`)) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
);

export const nullableNumber = fc.option(plaidNumber, { nil: null, freq: 3 });

/** ISO codes Intl knows (2, 0, 3 and 4 minor digits), plus well-formed ones it does not. */
export const isoCode: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('USD', 'EUR', 'GBP', 'JPY', 'KRW', 'BHD', 'KWD', 'CLF', 'UYW', 'CAD', 'CHF', 'INR', 'XAU', 'XXX'),
  fc.stringMatching(/^[A-Z]{3}$/),
);

/** Codes Plaid puts in unofficial_currency_code (crypto, loyalty points), plus anything short. */
export const unofficialCode: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('BTC', 'ETH', 'DOGE', 'USDT', 'XBT', 'SATS'), fc.stringMatching(/^[A-Z]{2,6}$/));

/** Codes no well-behaved Plaid sends, for "never throws": case, spaces, symbols, non-Latin letters. */
export const oddCode: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('usd', ' USD ', '', '   ', 'US', 'USDT', '€', '$', 'ıls', 'ﬀ', 'ＵＳＤ', '１２３', 'U D', 'EURO', '🪙'),
  fc.string({ maxLength: 8 }),
  binaryString({ maxLength: 4 }),
);

/** The currency pair of a balance: Plaid sets one of the two, but a fuzzer may set both or neither. */
export const currencyPair = (codes: { iso: fc.Arbitrary<string>; unofficial: fc.Arbitrary<string> }) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ iso: codes.iso, unofficial: fc.constant(null) }) },
    { weight: 2, arbitrary: fc.record({ iso: fc.constant(null), unofficial: codes.unofficial }) },
    { weight: 1, arbitrary: fc.record({ iso: fc.option(codes.iso, { nil: null }), unofficial: fc.option(codes.unofficial, { nil: null }) }) },
  );

export const wellFormedCurrency = currencyPair({ iso: isoCode, unofficial: unofficialCode });
export const anyCurrency = currencyPair({ iso: fc.oneof(isoCode, oddCode), unofficial: fc.oneof(unofficialCode, oddCode) });

/** Text a bank may put in a name: anything, including newlines, quotes, commas, RTL and emoji. */
export const bankText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: binaryString({ maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Plaid Checking', '🏦 Savings 💰', 'حساب جاري', '普通预金口座', 'a\u202eb', 'zero\u200bwidth', 'tab\there', 'new\nline', 'cr\rhere',
      '"quoted, comma"', '=SUM(A1:A9)', 'x'.repeat(200), ' ', '│ pipe │', 'Ünïcödé Çhèckïng', 'null', 'undefined', '0', '—',
    ),
  },
);

/** Nice names (no newline, no table border) whose rows can be found in a table. */
export const tableSafeText = bankText.filter((s) => !/[\r\n│]/.test(s));

export const accountTypes = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('depository', 'credit', 'loan', 'investment', 'brokerage', 'other', 'payroll') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

export const accountSubtypes = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('checking', 'savings', 'cd', 'credit card', 'money market', 'ira', '401k', 'student', 'mortgage', 'crypto exchange', 'paypal') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const isoDateTime = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());

export interface AccountArbOptions {
  currency?: fc.Arbitrary<{ iso: string | null; unofficial: string | null }>;
  name?: fc.Arbitrary<string>;
}

/**
 * Plaid's AccountBase as the wire may carry it: optional fields missing or null, unknown
 * types and subtypes, fields plaidbal does not print (dropped), and balances with any of their
 * fields missing. `account_id` is left to the caller (unique per item).
 */
export function rawAccount(opts: AccountArbOptions = {}) {
  const currency = opts.currency ?? wellFormedCurrency;
  const name = opts.name ?? bankText;
  return fc
    .record(
      {
        name,
        official_name: fc.option(name, { nil: null }),
        mask: fc.option(fc.oneof(fc.stringMatching(/^\d{4}$/), fc.string({ maxLength: 6 })), { nil: null }),
        type: accountTypes,
        subtype: fc.option(accountSubtypes, { nil: null }),
        available: nullableNumber,
        current: nullableNumber,
        limit: nullableNumber,
        currency,
        last_updated_datetime: fc.option(isoDateTime, { nil: null }),
        verification_status: fc.constantFrom('automatically_verified', 'pending_manual_verification'),
        persistent_account_id: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: ['name', 'type', 'currency'] },
    )
    .chain((a) =>
      // Which balance fields are present at all (a missing field must read as null, never 0).
      fc.record({ dropAvailable: fc.boolean(), dropCurrent: fc.boolean(), dropLimit: fc.boolean(), dropIso: fc.boolean(), dropUnofficial: fc.boolean(), dropUpdated: fc.boolean() }).map((drop) => {
        const balances: Record<string, unknown> = {};
        const put = (key: string, value: unknown, dropped: boolean) => {
          if (value !== undefined && !(dropped && value === null)) balances[key] = value;
        };
        put('available', a.available, drop.dropAvailable);
        put('current', a.current, drop.dropCurrent);
        put('limit', a.limit, drop.dropLimit);
        put('iso_currency_code', a.currency.iso, drop.dropIso);
        put('unofficial_currency_code', a.currency.unofficial, drop.dropUnofficial);
        put('last_updated_datetime', a.last_updated_datetime, drop.dropUpdated);
        const { available: _a, current: _c, limit: _l, currency: _cur, last_updated_datetime: _u, ...account } = a;
        return { ...account, balances } as Record<string, unknown>;
      }),
    );
}

/** Accounts with unique ids, as one item's /accounts/balance/get would list them (possibly none). */
export function rawAccounts(opts: AccountArbOptions & { maxLength?: number } = {}) {
  return fc.array(rawAccount(opts), { maxLength: opts.maxLength ?? 6 }).map((list) =>
    list.map((account, i) => ({ account_id: `acct${i}${'x'.repeat(32)}`.slice(0, 37), ...account }) as unknown as AccountBase),
  );
}

const plaidError: fc.Arbitrary<PlaidErrorJson> = fc.record({
  error_type: fc.constantFrom('ITEM_ERROR', 'INSTITUTION_ERROR', 'API_ERROR', 'RATE_LIMIT_EXCEEDED', 'PLAIDBAL_NETWORK_ERROR'),
  error_code: fc.constantFrom('ITEM_LOGIN_REQUIRED', 'INSTITUTION_DOWN', 'INTERNAL_SERVER_ERROR', 'NETWORK_FAILURE', 'PRODUCTS_NOT_SUPPORTED'),
  error_message: bankText,
  display_message: fc.option(bankText, { nil: null }),
  request_id: fc.option(fc.stringMatching(/^[A-Za-z0-9]{15}$/), { nil: null }),
});

/** One item of a balance run: its accounts through toAccountJson (as fetch.ts does), or its error. */
export function itemResult(opts: AccountArbOptions = {}): fc.Arbitrary<{ item: ItemBalanceJson; raw: AccountBase[] }> {
  return fc
    .record({
      item_id: fc.stringMatching(/^[A-Za-z0-9]{37}$/),
      name: bankText,
      institution_id: fc.option(fc.constantFrom('ins_109508', 'ins_109511', 'ins_128026'), { nil: null }),
      institution_name: fc.option(bankText, { nil: null }),
      request_id: fc.option(fc.stringMatching(/^[A-Za-z0-9]{15}$/), { nil: null }),
      balance_source: fc.constantFrom('realtime' as const, 'cached' as const),
      raw: rawAccounts(opts),
      error: fc.option(plaidError, { nil: null, freq: 5 }),
    })
    .map(({ raw, error, ...item }) => ({
      raw: error ? [] : raw,
      item: { ...item, accounts: error ? [] : raw.map(toAccountJson), error },
    }));
}

export function balanceDocument(opts: AccountArbOptions & { maxItems?: number } = {}): fc.Arbitrary<{ doc: BalanceDocument; raw: AccountBase[][] }> {
  return fc
    .record({
      environment: fc.constantFrom('sandbox' as const, 'production' as const),
      fetched_at: isoDateTime,
      results: fc.array(itemResult(opts), { maxLength: opts.maxItems ?? 4 }),
    })
    .map(({ environment, fetched_at, results }) => ({
      doc: { environment, fetched_at, items: results.map((r) => r.item) },
      raw: results.map((r) => r.raw),
    }));
}
