/**
 * The result the Link page posts back, and its strict validation.
 *
 * The page projects Plaid's callback arguments onto exactly these documented fields
 * before posting (see page.ts), so anything else arriving here did not come from our
 * page: unknown keys, wrong types and oversized or control-character strings are refused.
 *
 * What Plaid documents as optional or nullable is accepted missing or null, and becomes
 * null (plaid.com/docs/link/web/#onsuccess, #onexit): `institution` (null e.g. for Items
 * created by Same-Day micro-deposits), an account's `mask`, `subtype` and
 * `verification_status`, an exit's `display_message`, `status`, `request_id` and
 * `link_session_id`. A refusal ends the session (server.ts), so a shape we did not expect
 * is an immediate, named error rather than a silent wait.
 */
import type { Environment, PlaidErrorJson } from '../types.js';
import { hasControls } from '../text.js';

export interface LinkInstitution {
  name: string;
  institution_id: string;
}

export interface LinkAccount {
  id: string;
  name: string;
  mask: string | null;
  type: string;
  subtype: string | null;
  verification_status: string | null;
}

export interface LinkSuccessMetadata {
  institution: LinkInstitution | null;
  accounts: LinkAccount[];
  link_session_id: string;
}

/** Link's onExit error: Plaid's error object without the request_id (that is in the metadata). */
export type LinkExitError = Omit<PlaidErrorJson, 'request_id'>;

export interface LinkExitMetadata {
  institution: LinkInstitution | null;
  status: string | null;
  link_session_id: string | null;
  request_id: string | null;
}

export type LinkOutcome =
  /**
   * `public_token` is null only for Hosted Link in update mode, which completes without one
   * (see commands/link/hosted.ts); the local page always has one.
   */
  | { kind: 'success'; public_token: string | null; metadata: LinkSuccessMetadata }
  /** `error` is null when the user closed Link. */
  | { kind: 'exit'; error: LinkExitError | null; metadata: LinkExitMetadata };

export type CallbackParseResult = { ok: true; outcome: LinkOutcome } | { ok: false; reason: string };

const MAX_ACCOUNTS = 256;
const MAX_TOKEN = 256;
const MAX_ID = 128;
const MAX_NAME = 512;
const MAX_MESSAGE = 4096;

// Strings from the page end up in the terminal; control characters could drive it.
// Free-text error messages may keep tabs and newlines, nothing else may.
const ID_CHARS = /^[\x21-\x7e]+$/; // printable ASCII, no spaces

class Invalid extends Error {}

type Json = Record<string, unknown>;

/** `optional` keys may be absent; they then read as null. */
function object(value: unknown, path: string, keys: readonly string[], optional: readonly string[] = []): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Invalid(`${path} must be an object`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new Invalid(`${path}.${key} is not allowed`);
  }
  const result: Json = { ...(value as Json) };
  for (const key of keys) {
    if (Object.hasOwn(value, key)) continue;
    if (!optional.includes(key)) throw new Invalid(`${path}.${key} is missing`);
    result[key] = null;
  }
  return result;
}

interface TextRule {
  min: number;
  max: number;
  /** printable ASCII only, no spaces: identifiers, codes and tokens */
  id?: boolean;
  /** free text that may contain tabs and newlines */
  multiline?: boolean;
}

function text(value: unknown, path: string, rule: TextRule): string {
  if (typeof value !== 'string') throw new Invalid(`${path} must be a string`);
  if (value.length < rule.min || value.length > rule.max) {
    throw new Invalid(`${path} must be ${rule.min}–${rule.max} characters`);
  }
  if (rule.id && value.length > 0 && !ID_CHARS.test(value)) {
    throw new Invalid(`${path} has characters that are not allowed`);
  }
  if (hasControls(value, { allowTabNewline: rule.multiline })) {
    throw new Invalid(`${path} contains control characters`);
  }
  return value;
}

function nullableText(value: unknown, path: string, rule: TextRule): string | null {
  return value === null ? null : text(value, path, rule);
}

const idRule: TextRule = { min: 1, max: MAX_ID, id: true };
const nameRule: TextRule = { min: 1, max: MAX_NAME };
const shortRule: TextRule = { min: 0, max: MAX_ID };

function institution(value: unknown, path: string): LinkInstitution | null {
  if (value === null) return null;
  const o = object(value, path, ['name', 'institution_id']);
  return {
    name: text(o.name, `${path}.name`, nameRule),
    institution_id: text(o.institution_id, `${path}.institution_id`, idRule),
  };
}

function account(value: unknown, path: string): LinkAccount {
  const o = object(value, path, ['id', 'name', 'mask', 'type', 'subtype', 'verification_status'], ['mask', 'subtype', 'verification_status']);
  return {
    id: text(o.id, `${path}.id`, idRule),
    name: text(o.name, `${path}.name`, nameRule),
    mask: nullableText(o.mask, `${path}.mask`, { min: 0, max: 32 }),
    type: text(o.type, `${path}.type`, { min: 1, max: 64 }),
    subtype: nullableText(o.subtype, `${path}.subtype`, { min: 0, max: 64 }),
    verification_status: nullableText(o.verification_status, `${path}.verification_status`, { min: 0, max: 64 }),
  };
}

function successMetadata(value: unknown): LinkSuccessMetadata {
  const o = object(value, 'metadata', ['institution', 'accounts', 'link_session_id'], ['institution']);
  if (!Array.isArray(o.accounts)) throw new Invalid('metadata.accounts must be an array');
  if (o.accounts.length > MAX_ACCOUNTS) throw new Invalid(`metadata.accounts has more than ${MAX_ACCOUNTS} entries`);
  return {
    institution: institution(o.institution, 'metadata.institution'),
    accounts: o.accounts.map((a: unknown, i) => account(a, `metadata.accounts[${i}]`)),
    link_session_id: text(o.link_session_id, 'metadata.link_session_id', idRule),
  };
}

function exitError(value: unknown): LinkExitError | null {
  if (value === null) return null;
  const o = object(value, 'error', ['error_type', 'error_code', 'error_message', 'display_message'], ['display_message']);
  return {
    error_type: text(o.error_type, 'error.error_type', { min: 1, max: 64, id: true }),
    error_code: text(o.error_code, 'error.error_code', { min: 1, max: MAX_ID, id: true }),
    error_message: text(o.error_message, 'error.error_message', { min: 0, max: MAX_MESSAGE, multiline: true }),
    display_message: nullableText(o.display_message, 'error.display_message', {
      min: 0,
      max: MAX_MESSAGE,
      multiline: true,
    }),
  };
}

function exitMetadata(value: unknown): LinkExitMetadata {
  const o = object(value, 'metadata', ['institution', 'status', 'link_session_id', 'request_id'], ['institution', 'status', 'link_session_id', 'request_id']);
  return {
    institution: institution(o.institution, 'metadata.institution'),
    status: nullableText(o.status, 'metadata.status', shortRule),
    link_session_id: nullableText(o.link_session_id, 'metadata.link_session_id', idRule),
    request_id: nullableText(o.request_id, 'metadata.request_id', idRule),
  };
}

/** True when `token` is a public token of `environment`, e.g. `public-sandbox-<uuid>`. */
export function isPublicTokenFor(token: string, environment: Environment): boolean {
  return (
    token.length <= MAX_TOKEN &&
    token.startsWith(`public-${environment}-`) &&
    /^public-[a-z]+-[A-Za-z0-9-]+$/.test(token)
  );
}

/** Validates a parsed callback body. Never throws. */
export function parseLinkCallback(body: unknown, environment: Environment): CallbackParseResult {
  try {
    const type = typeof body === 'object' && body !== null ? (body as Json).type : undefined;
    if (type === 'success') {
      const o = object(body, 'body', ['type', 'public_token', 'metadata']);
      const token = text(o.public_token, 'public_token', { min: 1, max: MAX_TOKEN, id: true });
      if (!isPublicTokenFor(token, environment)) {
        throw new Invalid(`public_token is not a ${environment} public token`);
      }
      return { ok: true, outcome: { kind: 'success', public_token: token, metadata: successMetadata(o.metadata) } };
    }
    if (type === 'exit') {
      const o = object(body, 'body', ['type', 'error', 'metadata']);
      return { ok: true, outcome: { kind: 'exit', error: exitError(o.error), metadata: exitMetadata(o.metadata) } };
    }
    return { ok: false, reason: 'type must be "success" or "exit"' };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message };
    throw error;
  }
}
