/** Identifiers and tokens in the formats Plaid uses. */
import { randomInt, randomUUID } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** `request_id`: 15 alphanumeric characters. */
export const newRequestId = (): string => randomAlphanumeric(15);
/** `item_id` and `account_id`: 37 mixed-case alphanumeric characters, case-sensitive. */
export const newItemId = (): string => randomAlphanumeric(37);
export const newAccountId = (): string => randomAlphanumeric(37);

export type PlaidEnvironmentName = 'sandbox' | 'production';
export type TokenKind = 'link' | 'public' | 'access';

/** `link-sandbox-<uuid>`, `public-production-<uuid>`, `access-sandbox-<uuid>` ... */
export const newToken = (kind: TokenKind, environment: PlaidEnvironmentName): string => `${kind}-${environment}-${randomUUID()}`;

export interface ParsedToken {
  kind: TokenKind;
  /** Includes `development`, which Plaid retired but whose tokens still exist in the wild. */
  environment: string;
}

const TOKEN = /^(link|public|access)-(sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseToken(token: string): ParsedToken | null {
  const match = TOKEN.exec(token);
  return match ? { kind: match[1] as TokenKind, environment: match[2]! } : null;
}
