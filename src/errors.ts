/**
 * The one error type of plaidbal, and the one place where Plaid's errors become it.
 * Only the top level (cli.ts) prints errors; everything else throws CliError.
 */

export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  CONFIG: 3,
  ITEM_NEEDS_USER: 4,
  PLAID_FAILURE: 5,
  PARTIAL_FAILURE: 6,
  INSUFFICIENT_FUNDS: 7,
  LINK_CANCELLED: 8,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

import type { PlaidErrorJson } from './types.js';

/** The fields of a Plaid error object that are safe to show; the five of PlaidErrorJson go in JSON. */
export interface PlaidErrorInfo extends PlaidErrorJson {
  documentation_url?: string;
  suggested_action?: string | null;
  /** HTTP status, when the error came over HTTP. Not part of Plaid's JSON error object. */
  status?: number;
}

export interface CliErrorOptions {
  exitCode?: ExitCode;
  hint?: string;
  plaid?: PlaidErrorInfo;
  cause?: unknown;
}

export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly plaid?: PlaidErrorInfo;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message);
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? ExitCode.UNEXPECTED;
    this.hint = options.hint;
    this.plaid = options.plaid;
    // Deliberately not passing `cause` to Error: a cause may be an axios error whose
    // config carries the Plaid secret, and Node prints causes when an Error is inspected.
  }
}

export const usageError = (message: string, hint?: string) =>
  new CliError(message, { exitCode: ExitCode.USAGE, hint });

export const configError = (message: string, hint?: string) =>
  new CliError(message, { exitCode: ExitCode.CONFIG, hint });

export function isCliError(error: unknown): error is CliError {
  return error instanceof CliError;
}
