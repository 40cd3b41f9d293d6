/**
 * Plaid Sandbox data: the institutions, the accounts of `user_good`, and the accounts a
 * `user_custom` configuration (Plaid's documented custom Sandbox user) describes.
 */
import { plaidError, type PlaidApiError } from './errors.js';
import { newAccountId } from './ids.js';
import type { AccountTypeName, ProductName, WireAccount } from './wire.js';

export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'DOWN';

export interface SandboxInstitution {
  institution_id: string;
  name: string;
  products: ProductName[];
  country_codes: string[];
  oauth: boolean;
  routing_numbers: string[];
  url: string | null;
  primary_color: string | null;
  health: HealthStatus;
}

const US_PRODUCTS: ProductName[] = ['assets', 'auth', 'balance', 'identity', 'income_verification', 'investments', 'liabilities', 'signal', 'statements', 'transactions', 'transfer'];
const BASIC_PRODUCTS: ProductName[] = ['assets', 'auth', 'balance', 'identity', 'transactions'];

function institution(institution_id: string, name: string, extra: Partial<SandboxInstitution> = {}): SandboxInstitution {
  return {
    institution_id,
    name,
    products: US_PRODUCTS,
    country_codes: ['US'],
    oauth: false,
    routing_numbers: [],
    url: 'https://plaid.com',
    primary_color: '#1f1f1f',
    health: 'HEALTHY',
    ...extra,
  };
}

/** The Sandbox institutions, by id. */
export const SANDBOX_INSTITUTIONS: ReadonlyMap<string, SandboxInstitution> = new Map(
  [
    institution('ins_109508', 'First Platypus Bank', { routing_numbers: ['011000138', '011200365', '011400495'] }),
    institution('ins_109509', 'First Gingham Credit Union'),
    institution('ins_109510', 'Tattersall Federal Credit Union'),
    institution('ins_109511', 'Tartan Bank'),
    institution('ins_43', 'Tartan-Dominion Bank of Canada', { products: BASIC_PRODUCTS, country_codes: ['CA'] }),
    institution('ins_127287', 'Platypus OAuth Bank', { oauth: true }),
    institution('ins_132361', 'Unhealthy Platypus Bank – Down', { health: 'DOWN' }),
    institution('ins_132363', 'Unhealthy Platypus Bank – Degraded', { health: 'DEGRADED' }),
    institution('ins_128026', 'Capital One', { oauth: true, products: ['assets', 'auth', 'balance', 'identity', 'liabilities', 'transactions'] }),
  ].map((ins) => [ins.institution_id, ins]),
);

/** Capital One: no real-time balance for non-depository accounts (see MinLastUpdatedDatetime in the spec). */
export const CAPITAL_ONE = 'ins_128026';
export const DEFAULT_INSTITUTION = 'ins_109508';

interface AccountSeed {
  name: string;
  official_name: string | null;
  mask: string;
  type: AccountTypeName;
  subtype: WireAccount['subtype'];
  available: number | null;
  current: number;
  limit: number | null;
}

const USER_GOOD_ACCOUNTS: AccountSeed[] = [
  { name: 'Plaid Checking', official_name: 'Plaid Gold Standard 0% Interest Checking', mask: '0000', type: 'depository', subtype: 'checking', available: 100, current: 110, limit: null },
  { name: 'Plaid Saving', official_name: 'Plaid Silver Standard 0.1% Interest Saving', mask: '1111', type: 'depository', subtype: 'savings', available: 200, current: 210, limit: null },
  { name: 'Plaid CD', official_name: 'Plaid Bronze Standard 0.2% Interest CD', mask: '2222', type: 'depository', subtype: 'cd', available: null, current: 1000, limit: null },
  { name: 'Plaid Credit Card', official_name: 'Plaid Diamond 12.5% APR Interest Credit Card', mask: '3333', type: 'credit', subtype: 'credit card', available: null, current: 410, limit: 2000 },
  { name: 'Plaid Money Market', official_name: 'Plaid Platinum Standard 1.85% Interest Money Market', mask: '4444', type: 'depository', subtype: 'money market', available: 43200, current: 43200, limit: null },
  { name: 'Plaid IRA', official_name: null, mask: '5555', type: 'investment', subtype: 'ira', available: null, current: 320.76, limit: null },
  { name: 'Plaid 401k', official_name: null, mask: '6666', type: 'investment', subtype: '401k', available: null, current: 23631.9805, limit: null },
  { name: 'Plaid Student Loan', official_name: null, mask: '7777', type: 'loan', subtype: 'student', available: null, current: 65262, limit: null },
  { name: 'Plaid Mortgage', official_name: null, mask: '8888', type: 'loan', subtype: 'mortgage', available: null, current: 56302.06, limit: null },
];

/** The nine accounts every `user_good` item has, with fresh account_ids. */
export function userGoodAccounts(): WireAccount[] {
  return USER_GOOD_ACCOUNTS.map((seed) => ({
    account_id: newAccountId(),
    balances: { available: seed.available, current: seed.current, limit: seed.limit, iso_currency_code: 'USD', unofficial_currency_code: null },
    mask: seed.mask,
    name: seed.name,
    official_name: seed.official_name,
    subtype: seed.subtype,
    type: seed.type,
  }));
}

// ---------------------------------------------------------------------------------------------
// user_custom

/** The parts of Plaid's custom Sandbox user configuration (UserCustomPassword) the emulator honours. */
export interface CustomUserConfig {
  override_accounts?: CustomAccount[];
  force_error?: string;
}

export interface CustomAccount {
  type?: string;
  subtype?: string | null;
  starting_balance?: number;
  force_available_balance?: number;
  has_null_available_balance?: boolean;
  currency?: string;
  meta?: { name?: string; official_name?: string; mask?: string; limit?: number };
}

const ACCOUNT_TYPES: readonly AccountTypeName[] = ['investment', 'credit', 'depository', 'loan', 'brokerage', 'other'];
const DEFAULT_SUBTYPE: Record<AccountTypeName, WireAccount['subtype']> = {
  depository: 'checking',
  credit: 'credit card',
  investment: 'brokerage',
  brokerage: 'brokerage',
  loan: 'loan',
  other: 'other',
};
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

const capitalize = (s: string) => s.replace(/(^|\s)\S/g, (c) => c.toUpperCase());

/**
 * Parses the password of `user_custom`. Throws the Plaid error Sandbox gives for a
 * configuration it cannot use (a password that is not a JSON configuration is just a wrong password).
 */
export function parseCustomUser(password: string): CustomUserConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(password);
  } catch {
    throw plaidError('INVALID_CREDENTIALS');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw plaidError('INVALID_CREDENTIALS');
  const config = parsed as CustomUserConfig;
  if (config.override_accounts !== undefined && !Array.isArray(config.override_accounts)) throw plaidError('INVALID_CREDENTIALS');
  return config;
}

export function customAccounts(config: CustomUserConfig): WireAccount[] {
  const overrides = config.override_accounts ?? [];
  if (overrides.length === 0) return userGoodAccounts();
  return overrides.map((override, index) => customAccount(override, index));
}

function customAccount(override: CustomAccount, index: number): WireAccount {
  // OverrideAccountType has `payroll`, which AccountType does not: Plaid reports it as `other`.
  const type: AccountTypeName = ACCOUNT_TYPES.includes(override.type as AccountTypeName) ? (override.type as AccountTypeName) : override.type === undefined ? 'depository' : 'other';
  const subtype = (override.subtype === undefined ? DEFAULT_SUBTYPE[type] : override.subtype) as WireAccount['subtype'];
  const current = override.starting_balance ?? 0;
  const limit = override.meta?.limit ?? null;
  const currency = (override.currency ?? 'USD').toUpperCase();
  const iso = ISO_CURRENCIES.has(currency);
  const available =
    override.force_available_balance !== undefined
      ? override.force_available_balance
      : override.has_null_available_balance
        ? null
        : type === 'depository'
          ? current
          : type === 'credit' && limit !== null
            ? limit - current
            : null;
  return {
    account_id: newAccountId(),
    balances: {
      available,
      current,
      limit,
      iso_currency_code: iso ? currency : null,
      unofficial_currency_code: iso ? null : currency,
    },
    mask: override.meta?.mask ?? String(index).repeat(4).slice(0, 4),
    name: override.meta?.name ?? `Plaid ${capitalize(subtype ?? type)}`,
    official_name: override.meta?.official_name ?? null,
    subtype,
    type,
  };
}

/** The error a sandbox password asks for: `error_ITEM_LOCKED` and the custom user's `force_error`. */
export function sandboxCredentialsError(code: string): PlaidApiError {
  try {
    return plaidError(code);
  } catch {
    // A code the table does not know: to Plaid that is simply a wrong password.
    process.stderr.write(`[plaid-emulator] sandbox error code ${code} is not emulated; answering INVALID_CREDENTIALS\n`);
    return plaidError('INVALID_CREDENTIALS');
  }
}
