/**
 * The on-disk shape of the store, and the checks that a file read from disk has it.
 * Metadata stays in the clear so `plaidbal items` works without unlocking anything;
 * only access tokens and Plaid secrets are sealed (see seal.ts).
 */
import { ENVIRONMENTS, type Environment, type ItemRecord } from '../types.js';
import type { ScryptParams } from './seal.js';

export const STORE_VERSION = 1;

export interface KeychainKeyConfig {
  source: 'keychain';
  /** The keychain entry is service `plaidbal`, account `<account>`. */
  account: string;
  check: string;
  created_at: string;
}

export interface PassphraseKeyConfig {
  source: 'passphrase';
  kdf: ScryptParams;
  check: string;
  created_at: string;
}

export type KeyConfig = KeychainKeyConfig | PassphraseKeyConfig;
export type KeySource = KeyConfig['source'];

export interface ProfileRecord {
  client_id: string;
  /** Sealed Plaid secret, or null when the secret comes from PLAID_SECRET. */
  secret: string | null;
  client_name: string;
  country_codes: string[];
  language: string;
}

export interface StoredItem extends ItemRecord {
  /** Sealed access token, bound to the item's environment and item_id. */
  access_token: string;
}

export interface StoreDocument {
  version: typeof STORE_VERSION;
  store_id: string;
  key: KeyConfig | null;
  profiles: Partial<Record<Environment, ProfileRecord>>;
  items: StoredItem[];
}

export function emptyDocument(storeId: string): StoreDocument {
  return { version: STORE_VERSION, store_id: storeId, key: null, profiles: {}, items: [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isEnvironment = (v: unknown): v is Environment => (ENVIRONMENTS as readonly unknown[]).includes(v);

/**
 * scrypt parameters plaidbal could have written: N a power of two from 2^14 to 2^20, r 1-32, p 1-16.
 * Anything else makes node:crypto throw, or costs seconds and gigabytes, before the passphrase is even checked.
 */
function isScryptCost(N: unknown, r: unknown, p: unknown): boolean {
  const int = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  return int(N, 2 ** 14, 2 ** 20) && ((N as number) & ((N as number) - 1)) === 0 && int(r, 1, 32) && int(p, 1, 16);
}

/** Returns what is wrong with a parsed store file, or null when it is well-formed. */
export function documentProblem(value: unknown): string | null {
  if (!isObject(value)) return 'the top level is not an object';
  if (value.version === undefined) return `it has no "version" (not a plaidbal store?)`;
  if (value.version !== STORE_VERSION) return `unsupported store version ${JSON.stringify(value.version)} (this plaidbal reads version ${STORE_VERSION})`;
  if (!isString(value.store_id) || value.store_id === '') return 'store_id is missing';
  const key = value.key;
  if (key !== null) {
    if (!isObject(key) || !isString(key.check)) return 'the key section is malformed';
    if (key.source === 'keychain') {
      if (!isString(key.account)) return 'the keychain key section is malformed';
    } else if (key.source === 'passphrase') {
      const kdf = key.kdf;
      if (!isObject(kdf) || kdf.name !== 'scrypt' || !isScryptCost(kdf.N, kdf.r, kdf.p) || !isString(kdf.salt)) {
        return 'the passphrase key section is malformed';
      }
    } else return `unknown key source ${JSON.stringify(key.source)}`;
  }
  if (!isObject(value.profiles)) return 'profiles is not an object';
  for (const [env, profile] of Object.entries(value.profiles)) {
    if (!isEnvironment(env)) return `unknown environment ${JSON.stringify(env)} in profiles`;
    if (!isObject(profile) || !isString(profile.client_id) || !isNullableString(profile.secret) || !isString(profile.client_name) || !isStringArray(profile.country_codes) || !isString(profile.language)) {
      return `the ${env} profile is malformed`;
    }
  }
  if (!Array.isArray(value.items)) return 'items is not a list';
  for (const [i, item] of value.items.entries()) {
    if (!isStoredItem(item)) return `item #${i + 1} is malformed`;
  }
  // Sealed values open only with the key they were sealed with: a store holding some without a key
  // has lost it (the file was edited), and a new key made for its next write would not open them.
  if (key === null && (value.items.length > 0 || Object.values(value.profiles).some((profile) => isObject(profile) && isString(profile.secret)))) {
    return 'it holds sealed values (a Plaid secret or access tokens) but no key';
  }
  return null;
}

/** Whether one entry of `items` has the shape plaidbal writes. */
export function isStoredItem(item: unknown): item is StoredItem {
  return (
    isObject(item) &&
    isString(item.item_id) &&
    isString(item.alias) &&
    isEnvironment(item.environment) &&
    isNullableString(item.institution_id) &&
    isNullableString(item.institution_name) &&
    isStringArray(item.products) &&
    isString(item.linked_at) &&
    isString(item.access_token) &&
    (item.last_balance_at === undefined || isNullableString(item.last_balance_at))
  );
}

/**
 * The store as plaidbal writes it: the header indented with tabs (as conf writes), and each item
 * on a line of its own, so a command about one item can read that line alone (store.ts). Still
 * one JSON document. Any other layout is read whole.
 */
export const ITEMS_START = '\n\t"items": [\n';
export const ITEMS_END = '\n\t]\n}';
const ITEM_INDENT = '\t\t';

export function serializeDocument(doc: StoreDocument): string {
  const head = JSON.stringify({ ...doc, items: [] }, undefined, '\t');
  const empty = '\n\t"items": []\n}';
  // `items` last, as every store plaidbal writes has it; anything else is written the plain way.
  if (doc.items.length === 0 || !head.endsWith(empty)) return JSON.stringify(doc, undefined, '\t');
  return `${head.slice(0, -empty.length)}${ITEMS_START}${doc.items.map((item) => `${ITEM_INDENT}${JSON.stringify(item)}`).join(',\n')}${ITEMS_END}`;
}

/**
 * The header (the document with no items, as text) and the bytes of the item lines of a store in
 * plaidbal's layout, or null. Nothing is decoded or parsed beyond the header: the lines are
 * searched as bytes (itemLinesNaming) and parsed only when needed.
 */
export function splitDocument(bytes: Buffer): { header: string; body: Buffer } | null {
  const start = bytes.indexOf(ITEMS_START_BYTES);
  if (start < 0 || bytes.length < ITEMS_END_BYTES.length || !bytes.subarray(bytes.length - ITEMS_END_BYTES.length).equals(ITEMS_END_BYTES)) return null;
  // An item per line starts `\t\t{"`; conf's layout (`\t\t{` then a line per field) is read whole.
  if (!bytes.subarray(start + ITEMS_START_BYTES.length, start + ITEMS_START_BYTES.length + FIRST_ITEM_BYTES.length).equals(FIRST_ITEM_BYTES)) return null;
  if (bytes.indexOf(DEEPER_BYTES, start) >= 0) return null;
  return { header: `${bytes.subarray(0, start).toString('utf8')}\n\t"items": []\n}`, body: bytes.subarray(start + ITEMS_START_BYTES.length, bytes.length - ITEMS_END_BYTES.length) };
}

const ITEMS_START_BYTES = Buffer.from(ITEMS_START);
const FIRST_ITEM_BYTES = Buffer.from(`${ITEM_INDENT}{"`);
const DEEPER_BYTES = Buffer.from(`\n${ITEM_INDENT}\t`);
const ITEMS_END_BYTES = Buffer.from(ITEMS_END);

/** Every item line of `body`. JSON.stringify never puts a raw newline inside an item, so each line is one item. */
export function itemLines(body: Buffer): string[] {
  return body.toString('utf8').split('\n');
}

/** The lines of `body` that contain one of `needles`, each once. */
export function itemLinesNaming(body: Buffer, needles: string[]): string[] {
  const starts = new Set<number>();
  for (const needle of needles) {
    const bytes = Buffer.from(needle, 'utf8');
    for (let at = body.indexOf(bytes); at >= 0; at = body.indexOf(bytes, at + bytes.length)) starts.add(body.lastIndexOf(0x0a, at) + 1);
  }
  return [...starts].sort((a, b) => a - b).map((start) => {
    const end = body.indexOf(0x0a, start);
    return body.subarray(start, end < 0 ? body.length : end).toString('utf8');
  });
}

/** One item line of splitDocument, parsed and checked; null when it is not a well-formed item. */
export function parseItemLine(line: string): StoredItem | null {
  const json = line.endsWith(',') ? line.slice(ITEM_INDENT.length, -1) : line.slice(ITEM_INDENT.length);
  try {
    const item: unknown = JSON.parse(json);
    return isStoredItem(item) ? item : null;
  } catch {
    return null;
  }
}
