import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { exitCodeForPlaidError, isRetriable, plaidErrorJson, redact, toCliError } from '../../src/plaid/errors.js';

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
    expect(timeout.hint).toContain('--timeout');
    expect(plaidErrorJson(timeout)).toEqual({ error_type: 'PLAIDBAL_NETWORK_ERROR', error_code: 'NETWORK_FAILURE', error_message: timeout.message, display_message: null, request_id: null });
  });

  it('a non-Plaid error body (a proxy page) is exit 5', () => {
    const error = toCliError(axiosError(502, '<html>Bad gateway</html>'), ctx, host);
    expect(error.exitCode).toBe(ExitCode.PLAID_FAILURE);
    expect(error.message).toContain('HTTP 502');
  });

  it('retries 429, 5xx and network errors, never INVALID_* or ITEM_*', () => {
    expect(isRetriable(axiosError(429, plaidBody('RATE_LIMIT_EXCEEDED', 'RATE_LIMIT')))).toBe(true);
    expect(isRetriable(axiosError(500, plaidBody('API_ERROR', 'INTERNAL_SERVER_ERROR')))).toBe(true);
    expect(isRetriable(axiosError(503, plaidBody('API_ERROR', 'PLANNED_MAINTENANCE')))).toBe(true);
    expect(isRetriable({ isAxiosError: true, code: 'ECONNRESET' })).toBe(true);
    expect(isRetriable(axiosError(400, plaidBody('ITEM_ERROR', 'ITEM_LOGIN_REQUIRED')))).toBe(false);
    expect(isRetriable(axiosError(400, plaidBody('INVALID_INPUT', 'INVALID_API_KEYS')))).toBe(false);
    expect(isRetriable(axiosError(400, plaidBody('INSTITUTION_ERROR', 'INSTITUTION_DOWN')))).toBe(false);
    expect(isRetriable({ isAxiosError: true, code: 'ERR_CANCELED' })).toBe(false);
  });
});
