/**
 * Fetching one item's balances: the piece `balance` and `check` share. It opens the item's
 * sealed token, calls Plaid, and returns either the accounts or the item's error.
 */
import type { Ctx } from '../../context.js';
import { enterDrain } from '../../critical.js';
import { CliError, usageError } from '../../errors.js';
import { ageText } from '../../format/age.js';
import { toAccountJson } from '../../format/json.js';
import { isItemFailure, plaidErrorJson } from '../../plaid/errors.js';
import type { PaceGate } from '../../plaid/ratelimit.js';
import { withUnfinishedRotation } from '../items/recovery.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import type { InFlight, PlaidClient } from '../../plaid/client.js';
import type { Environment, ItemBalanceJson, ItemRecord } from '../../types.js';

export interface FetchOptions {
  /** `cached` uses the free /accounts/get; `realtime` the billed /accounts/balance/get. */
  source: 'realtime' | 'cached';
  accountIds?: string[];
  /** ISO-8601 (--min-last-updated); only for /accounts/balance/get. Capital One items get a default when unset. */
  minLastUpdated?: string;
  timeoutMs?: number;
  /** A fan-out's pacing for this item's calls (Pacer.gate). */
  pace?: PaceGate;
  /** The run's calls on their way, which Ctrl-C waits for (CallOptions.inFlight). */
  inFlight?: InFlight;
}

/**
 * The run's balance calls on their way, registered so that Ctrl-C waits for them instead of
 * cancelling answers Plaid bills (critical.ts, Drain; a second Ctrl-C cancels them). Pass
 * `inFlight` in FetchOptions, and call `leave()` once the calls are over.
 */
export function balanceDrain(ctx: Ctx, source: FetchOptions['source'], environment: Environment): { inFlight: InFlight; leave: () => void } {
  const cancel = new AbortController();
  const inFlight: InFlight = { signal: cancel.signal, sent: 0 };
  const leave = enterDrain({
    waitingFor: () => {
      if (inFlight.sent === 0) return null;
      const kind = source === 'realtime' ? 'real-time balance' : 'balance';
      const calls = inFlight.sent === 1 ? `the ${kind} call` : `the ${inFlight.sent} ${kind} calls`;
      // Only real-time calls in Production are billed; /accounts/get (--cached) and Sandbox are free.
      return `${calls} already sent${source === 'realtime' && environment === 'production' ? ', which Plaid bills' : ''}`;
    },
    cancel: () => cancel.abort(ctx.signal.reason),
  });
  return { inFlight, leave };
}

/**
 * Capital One (ins_128026) has no real-time balance for non-depository accounts (credit
 * cards): /accounts/balance/get there requires options.min_last_updated_datetime, the oldest
 * balance the caller accepts, and answers INVALID_REQUEST / INVALID_FIELD without it, or
 * INVALID_RESULT / LAST_UPDATED_DATETIME_OUT_OF_RANGE when Plaid holds nothing that recent.
 * Depository accounts there are real-time and the field is ignored for them, as it is at every
 * other institution. (plaid-openapi 2020-09-14.yml, MinLastUpdatedDatetime;
 * plaid.com/docs/api/products/balance/#accounts-balance-get-request-options-min-last-updated-datetime)
 */
export const CAPITAL_ONE = 'ins_128026';

/**
 * The default window at Capital One: a day. Plaid refreshes an item's data from the institution
 * in the background, typically one to four times a day (support.plaid.com, "How do I
 * troubleshoot Plaid data issues?"), so a day nearly always holds one refresh: a shorter window
 * would make `balance` fail on most days for a balance that is only hours old, a longer one would
 * quietly accept figures that a missed refresh left days behind. Every such figure is shown with
 * its age, and --min-last-updated sets another window.
 */
export const CAPITAL_ONE_DEFAULT_WINDOW_MS = 24 * 3_600_000;

/** The min_last_updated_datetime sent for `item`: --min-last-updated, else the default for Capital One, else none. */
export function minLastUpdatedFor(item: Pick<ItemRecord, 'institution_id'>, given: string | undefined, now: Date): string | undefined {
  if (given) return given;
  if (item.institution_id !== CAPITAL_ONE) return undefined;
  // Whole seconds, the spec's YYYY-MM-DDTHH:mm:ssZ.
  return new Date(Math.floor((now.getTime() - CAPITAL_ONE_DEFAULT_WINDOW_MS) / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * --min-last-updated, checked and normalised to UTC, in the form Plaid's docs show
 * (YYYY-MM-DDTHH:mm:ssZ): milliseconds only when the value had a fraction of a second.
 */
export function parseMinLastUpdated(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  const parts = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:Z|[+-](\d{2}):(\d{2}))$/.exec(value);
  // A date that does not exist (Date.parse takes 2026-02-30 as 2026-03-02) or an hour of 24 is refused, not moved.
  const [year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = (parts ?? []).slice(1).map((part) => Number(part ?? 0));
  const real = parts !== null && month! >= 1 && month! <= 12 && day! >= 1 && day! <= new Date(Date.UTC(year!, month!, 0)).getUTCDate() && hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours! <= 23 && offsetMinutes! <= 59;
  if (!real || Number.isNaN(ms)) {
    throw usageError(`--min-last-updated needs an ISO-8601 date-time with a time zone, such as 2026-11-23T09:00:00Z (got "${value}").`);
  }
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** The timestamp Plaid's LAST_UPDATED_DATETIME_OUT_OF_RANGE message names: the most recent balance it has. */
export function mostRecentBalanceIn(message: string): string | null {
  const match = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/.exec(message);
  return match && !Number.isNaN(Date.parse(match[0])) ? match[0] : null;
}

/** LAST_UPDATED_DATETIME_OUT_OF_RANGE, with a hint that says how old the figure Plaid has is and how to accept it. */
function outOfRange(error: CliError, item: Pick<ItemRecord, 'alias'>, min: string, fromFlag: boolean, now: Date): CliError {
  const latest = mostRecentBalanceIn(error.plaid?.error_message ?? '');
  const asked = fromFlag ? `--min-last-updated ${min}` : `plaidbal's default for Capital One, a balance at most ${CAPITAL_ONE_DEFAULT_WINDOW_MS / 3_600_000} h old (${min})`;
  const hint = latest
    ? `The newest balance Plaid has for "${item.alias}" is from ${latest} (${ageText(now.getTime() - Date.parse(latest))} old), older than ${asked}. ` +
      `Capital One has no real-time balance for credit cards; to accept that figure, add --min-last-updated ${latest} (or any earlier time).`
    : `Plaid has no balance for "${item.alias}" as recent as ${asked}, and did not say how old its newest is. ` +
      `Capital One has no real-time balance for credit cards; pass an earlier --min-last-updated to accept an older figure.`;
  return new CliError(error.message, { exitCode: error.exitCode, plaid: error.plaid, hint });
}

export interface ItemResult {
  json: ItemBalanceJson;
  error: CliError | null;
}

export async function fetchItemBalances(ctx: Ctx, store: Store, item: StoredItem, opts: FetchOptions): Promise<ItemResult> {
  let result: ItemResult;
  try {
    // At once: unlocking the store (the OS keychain answers from a helper process) and loading the Plaid client here.
    const [accessToken, plaid] = await Promise.all([
      store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`),
      ctx.plaid(item.environment, { timeoutMs: opts.timeoutMs }),
    ]);
    result = await fetchBalancesWithToken(ctx, plaid, item, accessToken, opts);
  } catch (error) {
    result = itemFailure(item, opts, error);
  }
  if (!result.error) return result;
  // A token Plaid no longer knows may be the old one of an unfinished rotation: say where the new one is.
  const failure = withUnfinishedRotation(result.error, store, item);
  return failure === result.error ? result : { json: { ...result.json, error: plaidErrorJson(failure) }, error: failure };
}

/**
 * The same for an access token the caller holds (`balance --access-token-stdin`, which never
 * opens a store): `item` says how to name the item in the output and in hints.
 */
export async function fetchBalancesWithToken(ctx: Ctx, plaid: PlaidClient, item: ItemRecord, accessToken: string, opts: FetchOptions): Promise<ItemResult> {
  try {
    const callOptions = { secrets: [accessToken], item: item.alias, linkedAt: item.linked_at || undefined, pace: opts.pace, inFlight: opts.inFlight };
    const accountIds = opts.accountIds?.length ? { account_ids: opts.accountIds } : {};
    const minLastUpdated = minLastUpdatedFor(item, opts.minLastUpdated, ctx.now());
    const response =
      opts.source === 'cached'
        ? await plaid.call('accountsGet', { access_token: accessToken, ...(opts.accountIds?.length ? { options: accountIds } : {}) }, callOptions)
        : await plaid.call(
            'accountsBalanceGet',
            {
              access_token: accessToken,
              ...(opts.accountIds?.length || minLastUpdated ? { options: { ...accountIds, ...(minLastUpdated ? { min_last_updated_datetime: minLastUpdated } : {}) } } : {}),
            },
            callOptions,
          ).catch((error: unknown) => {
            if (minLastUpdated && error instanceof CliError && error.plaid?.error_code === 'LAST_UPDATED_DATETIME_OUT_OF_RANGE') {
              throw outOfRange(error, item, minLastUpdated, Boolean(opts.minLastUpdated), ctx.now());
            }
            throw error;
          });
    return { json: { ...itemBase(item, opts), request_id: response.request_id, accounts: response.accounts.map(toAccountJson), error: null }, error: null };
  } catch (error) {
    return itemFailure(item, opts, error);
  }
}

function itemBase(item: ItemRecord, opts: FetchOptions) {
  return {
    item_id: item.item_id,
    name: item.alias,
    institution_id: item.institution_id,
    institution_name: item.institution_name,
    balance_source: opts.source,
  };
}

/**
 * Plaid's errors about this item, and network failures or timeouts on its call, belong to the
 * item: the other items of a run go on. Store, credential and interrupt errors stop the run
 * (isItemFailure).
 */
function itemFailure(item: ItemRecord, opts: FetchOptions, error: unknown): ItemResult {
  if (!isItemFailure(error)) throw error;
  return { json: { ...itemBase(item, opts), request_id: error.plaid?.request_id ?? null, accounts: [], error: plaidErrorJson(error) }, error };
}
