/**
 * The one place where a failed Plaid call becomes a CliError. It keeps Plaid's
 * error_type, error_code, messages and request_id, and drops the axios error, whose
 * config carries the PLAID-SECRET header.
 */
import { CliError, ExitCode, type PlaidErrorInfo } from '../errors.js';
import type { Environment, PlaidErrorJson } from '../types.js';

export interface PlaidErrorContext {
  environment: Environment;
  /** The alias of the item the call was about, for hints. */
  item?: string;
  /** Values that must never be printed (secret, access tokens): redacted from anything Plaid echoes. */
  secrets: readonly string[];
}

interface AxiosLikeError {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: unknown };
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

function plaidErrorBody(data: unknown): PlaidErrorInfo | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.error_code !== 'string' || typeof d.error_type !== 'string') return null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    error_type: d.error_type,
    error_code: d.error_code,
    error_message: str(d.error_message) ?? '',
    display_message: str(d.display_message),
    request_id: str(d.request_id),
    documentation_url: str(d.documentation_url) ?? undefined,
    suggested_action: str(d.suggested_action),
  };
}

export function exitCodeForPlaidError(info: Pick<PlaidErrorInfo, 'error_type' | 'error_code'>): ExitCode {
  switch (info.error_code) {
    case 'INVALID_API_KEYS':
    case 'INVALID_ACCESS_TOKEN':
    case 'INVALID_PRODUCT':
    case 'UNAUTHORIZED_ENVIRONMENT':
      return ExitCode.CONFIG;
  }
  switch (info.error_type) {
    case 'ITEM_ERROR':
      return ExitCode.ITEM_NEEDS_USER;
    case 'INVALID_REQUEST':
    case 'INVALID_INPUT':
      return ExitCode.USAGE;
    default:
      return ExitCode.PLAID_FAILURE;
  }
}

function hintFor(info: PlaidErrorInfo, ctx: PlaidErrorContext): string | undefined {
  const item = ctx.item ?? '<item>';
  switch (info.error_code) {
    case 'INVALID_API_KEYS':
      return `Check the ${ctx.environment} client id and secret: run \`plaidbal config init --env ${ctx.environment}\`, or set PLAID_CLIENT_ID and PLAID_SECRET.`;
    case 'INVALID_ACCESS_TOKEN':
      return `Plaid no longer knows this item (removed elsewhere?). Delete it here with \`plaidbal items remove ${item}\` and link it again.`;
    case 'INVALID_ACCOUNT_ID':
      return `List the item's accounts with \`plaidbal balance --item ${item}\` and pass one of their account_ids.`;
    case 'INVALID_PRODUCT':
      return 'Your Plaid client is not enabled for that product; pick another with --products, or ask Plaid to enable it.';
    case 'LAST_UPDATED_DATETIME_OUT_OF_RANGE':
      return 'The institution has no balance as recent as --min-last-updated asks; try an earlier time, or omit it.';
  }
  switch (info.error_type) {
    case 'ITEM_ERROR':
      return `The item needs its user: run \`plaidbal link --update ${item}\` to fix the login, then try again.`;
    case 'RATE_LIMIT_EXCEEDED':
      return 'Plaid rate-limited the call even after retries; wait a minute and try again.';
    case 'INSTITUTION_ERROR':
      return 'The institution is not answering Plaid right now; try again later.';
    case 'API_ERROR':
      return 'Plaid had an internal error even after retries; try again later, quoting the request_id if you contact Plaid.';
  }
  return undefined;
}

/** Turns anything a Plaid call threw into a CliError. Never keeps the original error object. */
export function toCliError(error: unknown, ctx: PlaidErrorContext, host: string): CliError {
  if (error instanceof CliError) return error;
  const e = (error ?? {}) as AxiosLikeError;
  const clean = (s: string) => redact(s, ctx.secrets);
  if (e.response) {
    const info = plaidErrorBody(e.response.data);
    if (info) {
      const safe: PlaidErrorInfo = {
        ...info,
        error_message: clean(info.error_message),
        display_message: info.display_message === null ? null : clean(info.display_message),
        status: e.response.status,
      };
      return new CliError(`Plaid error ${safe.error_code} (${safe.error_type}): ${safe.error_message || 'no message'}`, {
        exitCode: exitCodeForPlaidError(safe),
        hint: hintFor(safe, ctx),
        plaid: safe,
      });
    }
    return new CliError(`Plaid answered HTTP ${e.response.status ?? '?'} without a Plaid error object (from ${host}).`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: 'A proxy or PLAIDBAL_BASE_URL may be pointing somewhere that is not Plaid; try again later.',
    });
  }
  if (e.isAxiosError || typeof e.code === 'string') {
    const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
    const what = timedOut ? 'timed out' : `failed (${clean(e.code ?? e.message ?? 'network error')})`;
    return new CliError(`The request to Plaid at ${host} ${what}, after retries.`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: timedOut ? 'Plaid can take 30 s or more for real-time balances; raise --timeout, or try again later.' : 'Check your network connection (and PLAIDBAL_BASE_URL, if set).',
    });
  }
  return new CliError(`Unexpected error while calling Plaid: ${clean(error instanceof Error ? error.message : String(error))}`, { exitCode: ExitCode.UNEXPECTED });
}

/** Plaid's error object as plaidbal's JSON output carries it. */
export function plaidErrorJson(error: CliError): PlaidErrorJson {
  if (error.plaid) {
    const { error_type, error_code, error_message, display_message, request_id } = error.plaid;
    return { error_type, error_code, error_message, display_message, request_id };
  }
  // Not a Plaid error object (network failure, timeout…): same shape, plaidbal's own codes.
  const network = error.exitCode === ExitCode.PLAID_FAILURE;
  return {
    error_type: network ? 'PLAIDBAL_NETWORK_ERROR' : 'PLAIDBAL_ERROR',
    error_code: network ? 'NETWORK_FAILURE' : 'UNEXPECTED',
    error_message: error.message,
    display_message: null,
    request_id: null,
  };
}

/** Whether a failed call may be retried: 429, 5xx and network errors, never 4xx INVALID_* or ITEM_*. */
export function isRetriable(error: unknown): boolean {
  const e = (error ?? {}) as AxiosLikeError;
  if (e.response) {
    const status = e.response.status ?? 0;
    const info = plaidErrorBody(e.response.data);
    if (info && (info.error_type === 'ITEM_ERROR' || info.error_code.startsWith('INVALID_') || info.error_type.startsWith('INVALID_'))) return false;
    return status === 429 || status >= 500;
  }
  return Boolean(e.isAxiosError) && e.code !== 'ERR_CANCELED';
}
