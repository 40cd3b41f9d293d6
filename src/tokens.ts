/**
 * How Plaid's tokens begin (PLAID-NOTES: `link-sandbox-<uuid>`, `public-sandbox-<uuid>`,
 * `access-sandbox-<uuid>`; Production's read `-production-`; processor tokens
 * `processor-sandbox-…`). Tokens are secrets: a value of this shape is never kept as an alias
 * nor repeated in a message, wherever it was given.
 */
const PLAID_TOKEN_SHAPE = /^(access|public|link|processor)-(sandbox|development|production)-/i;

export function looksLikePlaidToken(value: string): boolean {
  return PLAID_TOKEN_SHAPE.test(value);
}
