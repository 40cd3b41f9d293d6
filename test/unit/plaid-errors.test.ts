import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../src/errors.js';
import { ERROR_RULES, exitCodeForPlaidError, hintForPlaidError, isRetriable, plaidErrorJson, redact, toCliError, updateModeFixes } from '../../src/plaid/errors.js';
import { retryPolicyFor } from '../../src/plaid/client.js';

const ctx = { environment: 'sandbox' as const, item: 'checking', secrets: ['sandbox-secret-value', 'access-sandbox-abcdef'] };
const host = 'https://sandbox.plaid.com';

function axiosError(status: number, data: unknown) {
  return {
    isAxiosError: true,
    message: `Request failed with status code ${status}`,
    config: { headers: { 'PLAID-SECRET': 'sandbox-secret-value' } },
    response: { status, data },
  };
}

const plaidBody = (error_type: string, error_code: string, extra: Record<string, unknown> = {}) => ({
  error_type,
  error_code,
  error_message: 'the message',
  display_message: null,
  request_id: 'Abc123Def456Ghi',
  ...extra,
});

describe('Plaid error mapping', () => {
  it.each([
    ['INVALID_INPUT', 'INVALID_API_KEYS', ExitCode.CONFIG],
    ['INVALID_INPUT', 'INVALID_ACCESS_TOKEN', ExitCode.CONFIG],
    ['ITEM_ERROR', 'ITEM_LOGIN_REQUIRED', ExitCode.ITEM_NEEDS_USER],
    ['ITEM_ERROR', 'ITEM_LOCKED', ExitCode.ITEM_NEEDS_USER],
    ['INVALID_INPUT', 'INVALID_ACCOUNT_ID', ExitCode.USAGE],
    ['INVALID_REQUEST', 'MISSING_FIELDS', ExitCode.USAGE],
    ['RATE_LIMIT_EXCEEDED', 'RATE_LIMIT', ExitCode.PLAID_FAILURE],
    ['INSTITUTION_ERROR', 'INSTITUTION_DOWN', ExitCode.PLAID_FAILURE],
    ['API_ERROR', 'INTERNAL_SERVER_ERROR', ExitCode.PLAID_FAILURE],
  ])('%s / %s exits %i', (type, code, exit) => {
    expect(exitCodeForPlaidError({ error_type: type, error_code: code })).toBe(exit);
    expect(toCliError(axiosError(400, plaidBody(type, code)), ctx, host).exitCode).toBe(exit);
  });

  it('keeps Plaid fields and drops the axios object (which carries the secret)', () => {
    const error = toCliError(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED', { display_message: 'Please log in again' })), ctx, host);
    expect(error.plaid).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', display_message: 'Please log in again', request_id: 'Abc123Def456Ghi', status: 400 });
    expect(error.hint).toContain('plaidbal link --update checking');
    expect(JSON.stringify(error)).not.toContain('sandbox-secret-value');
    expect(Object.values(error).some((v) => typeof v === 'object' && v !== null && 'config' in v)).toBe(false);
    expect((error as { cause?: unknown }).cause).toBeUndefined();
  });

  it('redacts secrets Plaid might echo back', () => {
    const error = toCliError(axiosError(400, plaidBody('INVALID_INPUT', 'INVALID_ACCESS_TOKEN', { error_message: 'bad token access-sandbox-abcdef' })), ctx, host);
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain('access-sandbox-abcdef');
    expect(redact('x sandbox-secret-value y', ctx.secrets)).toBe('x [redacted] y');
  });

  it('turns network failures and timeouts into exit 5 without the raw error', () => {
    const refused = toCliError({ isAxiosError: true, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' }, ctx, host);
    expect(refused.exitCode).toBe(ExitCode.PLAID_FAILURE);
    expect(refused.message).toContain('ECONNREFUSED');
    const timeout = toCliError({ isAxiosError: true, code: 'ECONNABORTED', message: 'timeout of 1000ms exceeded' }, ctx, host);
    expect(timeout.message).toContain('timed out');
    expect(timeout.hint).toBe('Plaid did not answer in time: try again later (or with a longer --timeout, where the command takes one).');
    // Only a real-time balance is said to take 30 s or more (--cached, /item/get… do not).
    const balance = toCliError({ isAxiosError: true, code: 'ECONNABORTED', message: 'timeout of 1000ms exceeded' }, { ...ctx, realtime: true }, host);
    expect(balance.hint).toBe('Plaid can take 30 s or more for real-time balances; raise --timeout, or try again later.');
    expect(plaidErrorJson(timeout)).toEqual({ error_type: 'PLAIDBAL_NETWORK_ERROR', error_code: 'NETWORK_FAILURE', error_message: timeout.message, display_message: null, request_id: null });
  });

  it("ITEM_NOT_FOUND's hint reads as sentences with and without a stored item to name", () => {
    const error = { error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND', error_message: 'gone', display_message: null, request_id: 'r' };
    expect(hintForPlaidError(error, { environment: 'sandbox', item: 'demo', now: 0 })).toContain('cannot bring it back. Delete it here with `plaidbal items remove demo`, then link the account again: that makes a new item.');
    expect(hintForPlaidError(error, { environment: 'sandbox', now: 0 })).toContain('cannot bring it back. Link the account again: that makes a new item.');
  });

  it('a non-Plaid error body (a proxy page) is exit 5', () => {
    const error = toCliError(axiosError(502, '<html>Bad gateway</html>'), ctx, host);
    expect(error.exitCode).toBe(ExitCode.PLAID_FAILURE);
    expect(error.message).toContain('HTTP 502');
  });

  it('retries 429, 5xx and network errors, never INVALID_* or ITEM_*, nor RATE_LIMIT or CREDITS_EXHAUSTED', () => {
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'BALANCE_LIMIT')))).toBe(true);
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'RATE_LIMIT')))).toBe(false);
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'CREDITS_EXHAUSTED')))).toBe(false);
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'SOME_NEW_LIMIT')))).toBe(true);
    expect(isRetriable(axiosError(500, plaidBody('API_ERROR', 'INTERNAL_SERVER_ERROR')))).toBe(true);
    expect(isRetriable(axiosError(503, plaidBody('API_ERROR', 'PLANNED_MAINTENANCE')))).toBe(true);
    expect(isRetriable({ isAxiosError: true, code: 'ECONNRESET' })).toBe(true);
    expect(isRetriable(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED')))).toBe(false);
    expect(isRetriable(axiosError(400, plaidBody('INVALID_INPUT', 'INVALID_API_KEYS')))).toBe(false);
    expect(isRetriable(axiosError(400, plaidBody('INSTITUTION_ERROR', 'INSTITUTION_DOWN')))).toBe(false);
    expect(isRetriable({ isAxiosError: true, code: 'ERR_CANCELED' })).toBe(false);
  });
});

describe('plaidErrorJson: the one cut of Plaid\'s error object to five fields', () => {
  const KEYS = ['error_type', 'error_code', 'error_message', 'display_message', 'request_id'];

  it("cuts a CliError's Plaid error to the five documented fields, in order", () => {
    const error = toCliError(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED', { display_message: 'Please log in again', documentation_url: 'https://plaid.com/docs', suggested_action: null, causes: [] })), ctx, host);
    const json = plaidErrorJson(error);
    expect(Object.keys(json)).toEqual(KEYS);
    expect(json).toEqual({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: error.plaid!.error_message, display_message: 'Please log in again', request_id: 'Abc123Def456Ghi' });
  });

  it("cuts Plaid's item.error (extra fields, request_id missing) the same way, nulls for what is missing", () => {
    const itemError = { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_code_reason: null, error_message: 'the login details of this item have changed', display_message: null, status: 400, causes: [], documentation_url: 'https://plaid.com/docs', suggested_action: null };
    const json = plaidErrorJson(itemError);
    expect(Object.keys(json)).toEqual(KEYS);
    expect(json).toEqual({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed', display_message: null, request_id: null });
    expect(JSON.stringify(plaidErrorJson({ error_type: 'X', error_code: 'Y' }))).toBe('{"error_type":"X","error_code":"Y","error_message":"","display_message":null,"request_id":null}');
  });

  it('redacts the secrets it is given from both messages', () => {
    const json = plaidErrorJson({ error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN', error_message: 'bad token access-sandbox-abcdef', display_message: 'token access-sandbox-abcdef', request_id: 'r1' }, ['access-sandbox-abcdef']);
    expect(json).toEqual({ error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCESS_TOKEN', error_message: 'bad token [redacted]', display_message: 'token [redacted]', request_id: 'r1' });
  });

  it('is the identity on its own output (formatters may cut again)', () => {
    const json = plaidErrorJson({ error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'oops', display_message: 'Try later', request_id: 'r2' });
    expect(JSON.stringify(plaidErrorJson(json))).toBe(JSON.stringify(json));
  });

  it('gives a CliError without a Plaid error object plaidbal\'s own codes', () => {
    expect(plaidErrorJson(new CliError('boom', { exitCode: ExitCode.UNEXPECTED }))).toEqual({ error_type: 'PLAIDBAL_ERROR', error_code: 'UNEXPECTED', error_message: 'boom', display_message: null, request_id: null });
  });
});

describe('retry policies: what Plaid may have billed, and single-use calls', () => {
  it('decides the policy per method and environment', () => {
    expect(retryPolicyFor('itemPublicTokenExchange', 'sandbox')).toBe('never');
    expect(retryPolicyFor('itemPublicTokenExchange', 'production')).toBe('never');
    expect(retryPolicyFor('accountsBalanceGet', 'production')).toBe('unbilled');
    expect(retryPolicyFor('accountsBalanceGet', 'sandbox')).toBe('transient');
    expect(retryPolicyFor('accountsGet', 'production')).toBe('transient');
  });

  it('"never" retries nothing', () => {
    expect(isRetriable(axiosError(500, plaidBody('API_ERROR', 'INTERNAL_SERVER_ERROR')), 'never')).toBe(false);
    expect(isRetriable({ isAxiosError: true, code: 'ECONNREFUSED' }, 'never')).toBe(false);
  });

  it('"unbilled" retries only what Plaid cannot have served: unsent connections, and 429/5xx with a Plaid error body', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']) expect(isRetriable({ isAxiosError: true, code }, 'unbilled'), code).toBe(true);
    for (const code of ['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ERR_BAD_RESPONSE']) expect(isRetriable({ isAxiosError: true, code }, 'unbilled'), code).toBe(false);
    expect(isRetriable(axiosError(500, plaidBody('API_ERROR', 'INTERNAL_SERVER_ERROR')), 'unbilled')).toBe(true);
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'BALANCE_LIMIT')), 'unbilled')).toBe(true);
    expect(isRetriable(axiosError(502, '<html>Bad gateway</html>'), 'unbilled')).toBe(false);
    expect(isRetriable(axiosError(502, '<html>Bad gateway</html>'), 'transient')).toBe(true);
  });

  it('a timeout under "unbilled" says it was not retried and why, without "after retries"', () => {
    const error = toCliError({ isAxiosError: true, code: 'ECONNABORTED' }, { ...ctx, environment: 'production', policy: 'unbilled' }, host);
    expect(error.message).not.toContain('after retries');
    expect(error.message).toContain('did not retry it: Plaid may have served it');
    expect(error.hint).toContain('another billed call');
  });
});

describe('error codes Plaid documents as not fixed by waiting or update mode', () => {
  it.each(['INSTITUTION_NO_LONGER_SUPPORTED', 'UNAUTHORIZED_INSTITUTION', 'INSTITUTION_REGISTRATION_REQUIRED', 'INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT'])(
    '%s is not retried and never says "later"',
    (code) => {
      const error = toCliError(axiosError(400, plaidBody('INSTITUTION_ERROR', code)), ctx, host);
      expect(isRetriable(axiosError(400, plaidBody('INSTITUTION_ERROR', code)))).toBe(false);
      expect(error.hint).not.toMatch(/later/i);
      expect(ERROR_RULES[code]?.permanent).toBe(true);
    },
  );

  it.each(['PRODUCTS_NOT_SUPPORTED', 'NO_ACCOUNTS', 'ITEM_NOT_SUPPORTED'])('%s does not send the user to update mode', (code) => {
    const error = toCliError(axiosError(400, plaidBody('ITEM_ERROR', code)), ctx, host);
    expect(error.hint).not.toContain('link --update');
    expect(error.hint).toContain('update mode will not');
    expect(updateModeFixes({ error_type: 'ITEM_ERROR', error_code: code })).toBe(false);
  });

  it('ITEM_LOGIN_REQUIRED on a Sandbox item older than 30 days says why', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const old = toCliError(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED')), { ...ctx, linkedAt: '2026-01-20T00:00:00Z', now }, host);
    expect(old.hint).toContain('30 days after they are created');
    expect(old.hint).toContain('linked 40 days ago');
    expect(old.hint).toContain('plaidbal link --update checking');
    const young = toCliError(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED')), { ...ctx, linkedAt: '2026-02-20T00:00:00Z', now }, host);
    expect(young.hint).not.toContain('30 days');
    const prod = toCliError(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED')), { ...ctx, environment: 'production', linkedAt: '2026-01-20T00:00:00Z', now }, host);
    expect(prod.hint).not.toContain('30 days');
  });
});

describe("the README's error table is ERROR_RULES", () => {
  it('every code in ERROR_RULES has a README row with the same exit code and retry answer', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Plaid errors, exit codes and retries'), readme.indexOf('## Environment variables'));
    const rows = new Map<string, { exit: number; retried: boolean }>();
    for (const line of section.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      if (cells.length < 5 || !/^\d+$/.test(cells[2] ?? '')) continue;
      for (const [, code] of cells[1]!.matchAll(/`([A-Z_]+)`/g)) rows.set(code!, { exit: Number(cells[2]), retried: cells[3]!.startsWith('yes') });
    }
    for (const [code, rule] of Object.entries(ERROR_RULES)) {
      expect(rows.get(code), `README row for ${code}`).toEqual({ exit: rule.exitCode, retried: rule.retried });
    }
  });
});
