/** The emulator's public types. */
import type { WireAccount, WireBalance } from './wire.js';
import type { EmulatedItem } from './state.js';

export type { EmulatedItem } from './state.js';
export type { WireAccount, WireBalance } from './wire.js';

export interface RateLimits {
  /** `/accounts/balance/get` calls per item per window (Plaid Sandbox: 25). */
  perItem: number;
  /** `/accounts/balance/get` calls per client per window (Plaid Sandbox: 100). */
  perClient: number;
  windowMs: number;
}

/**
 * Plaid's latency, as a log-normal distribution: PLAID-NOTES.md ("Balance latency": median about
 * 3 s, 95th percentile about 11 s, sometimes 30 s or more), capped at maxMs. Each request to one
 * of `paths` waits a fresh sample, on top of any fixed latency.
 */
export interface LatencyModel {
  medianMs: number;
  p95Ms: number;
  /** No sample is longer than this. */
  maxMs: number;
  /** Default ['/accounts/balance/get']. */
  paths?: string[];
  /** Seed of the emulator's own random numbers, so a run can be repeated. Default 1. */
  seed?: number;
}

/** What a competing user of the same client_id did (Emulator.compete). */
export interface Competition {
  /** Its calls Plaid served (counted in the client's window). */
  served: number;
  /** Its calls Plaid answered 429 (not counted, as Plaid counts only served calls here). */
  rateLimited: number;
}

export interface EmulatorOptions {
  /** Default `TEST_CLIENT_ID`. */
  clientId?: string;
  /** Default `TEST_SECRET`. */
  secret?: string;
  /** Default 'sandbox'. Decides the token prefixes (`link-sandbox-`, `public-production-`, ...); production has no /sandbox/* routes. */
  environment?: 'sandbox' | 'production';
  /** Default 0: the OS picks. The emulator always listens on 127.0.0.1. */
  port?: number;
  /** Default 0. Added before every response. */
  latencyMs?: number;
  /** Default Plaid Sandbox's: 25 per item, 100 per client, per rolling minute. */
  rateLimits?: Partial<RateLimits>;
  /** Default none: a log-normal latency per request (see plaidLike() for Plaid's). */
  latencyModel?: LatencyModel;
  /**
   * Redirect URIs "registered in the dashboard". When set, /link/token/create rejects any other
   * `redirect_uri`; when not, any https URI (or http on localhost) is accepted.
   */
  redirectUris?: string[];
  /** The emulator's clock (ms since the epoch): token lifetimes, rate-limit windows, timestamps, the Date header. Default Date.now. */
  clock?: () => number;
  /** Called once per API request, after the response went out (or was deliberately withheld). */
  onRequest?: (request: RecordedRequest) => void;
  /**
   * Called once per API request after the emulator acted on it (an item created, a token
   * rotated) and before the answer is sent: a test can change the world at the exact moment
   * Plaid has acted but the caller does not know it yet (a disk made read-only, for instance).
   */
  onAnswered?: (request: RecordedRequest) => void;
}

/**
 * How an injected fault answers. `keep-alive-race`: the server closed an idle kept-alive
 * connection just as the request was written on it, as any HTTP server may (Node's own closes one
 * after 5 s idle; Node's docs, http `request.reusedSocket`). A request that came on a connection
 * which carried an earlier one is reset unread: the client sees ECONNRESET, and Plaid never saw
 * the request, so nothing happens at Plaid. A request on a new connection cannot meet that race
 * and is served as usual (the fault counts it among its `times` all the same).
 */
export type FaultKind = 'error' | 'malformed-json' | 'truncated' | 'wrong-content-type' | 'hang' | 'reset' | 'keep-alive-race';

export interface RecordedRequest {
  method: string;
  path: string;
  /** As Node received them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** 0 when no response was sent (hang, reset). */
  status: number;
  /** The JSON body sent (request_id included); the raw text for malformed/non-JSON faults. */
  response: unknown;
  /** Epoch ms at which the request arrived. */
  at: number;
  /**
   * The requests to this path the emulator had received and not yet answered when this one
   * arrived, this one included (a hang counts until the emulator has seen its caller's connection
   * close). Counted in the emulator's own order of events: a bound on a pool is checked without
   * comparing arrival times to a latency, which timers on a busy event loop do not keep to the
   * millisecond. Without a latency or a hold, every answer goes out as its request arrives, and
   * any pool reads 1: a test of a bound slows the calls and checks that the bound is reached.
   */
  concurrent: number;
  /** Set when an injected fault answered this request instead of the emulator's routes. */
  fault?: FaultKind;
  /** The request came on a connection that had carried an earlier request (HTTP keep-alive). */
  reusedConnection: boolean;
}

export interface Fault {
  path: string;
  /** HTTP status; defaults to the status Plaid uses for error_code (or 502 for wrong-content-type). */
  status?: number;
  error_type?: string;
  /** Defaults by status: 429 RATE_LIMIT, 500 INTERNAL_SERVER_ERROR, 503 PLANNED_MAINTENANCE; else INTERNAL_SERVER_ERROR. */
  error_code?: string;
  error_message?: string;
  display_message?: string | null;
  /** Default 1; Infinity allowed. */
  times?: number;
  /** Extra delay before this fault's response. */
  latencyMs?: number;
  /** Default 'error'. */
  kind?: FaultKind;
}

export interface CompleteLinkSuccess {
  /** Default ins_109508 (First Platypus Bank). Ignored in update mode. */
  institution_id?: string;
  /** Default user_good. */
  username?: string;
  /** Default pass_good; `error_<CODE>` ends the session with that error instead. */
  password?: string;
}

export interface CompleteLinkExit {
  /** The user left Link. Without error_code, they simply closed it. */
  exit: {
    error_code?: string;
    error_type?: string;
    error_message?: string;
    display_message?: string | null;
    institution_id?: string;
  };
}

export type CompleteLinkOptions = CompleteLinkSuccess | CompleteLinkExit;

export interface Emulator {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  /** Every API request, in arrival order. */
  requests: RecordedRequest[];
  inject(fault: Fault): void;
  /** Latency for every path, or for one path (added to the global one). */
  setLatency(ms: number, path?: string): void;
  /** Extra latency for every request about one item (by item_id or access token); 0 removes it. */
  setItemLatency(itemIdOrAccessToken: string, ms: number): void;
  /** Replaces the latency model (null: none). */
  setLatencyModel(model: LatencyModel | null): void;
  /**
   * Holds the answer to the next request to `path` (its answer already made, and recorded) until
   * `release()`: a Plaid call that takes as long as a test needs to act while plaidbal waits for it,
   * as a slow call to the real Plaid does (../shared/PLAID-NOTES.md: axios has no timeout by default,
   * and Plaid's calls can take 10 to 30 s). Only the timing changes: the answer is the one Plaid's
   * route gives, made before the hold, so a public token exchanged while held is spent as usual.
   * `arrived` resolves when that request has come.
   */
  holdNext(path: string): { arrived: Promise<RecordedRequest>; release(): void };
  /**
   * Creates an item directly, as if linked earlier (user_good's accounts at First Platypus Bank by
   * default): how tests and benchmarks get thousands of items in any environment without Link.
   */
  createItem(init?: { institution_id?: string }): EmulatedItem;
  /**
   * Another user of the same client_id making `perMinute` /accounts/balance/get calls a minute,
   * evenly, from inside the emulator: each takes a slot of the client's window when there is one,
   * and is refused (as a 429 would be) when there is not. With `backfill` (the default) the
   * window starts as if it had been running for a whole window already. stop() ends it and says
   * what it got.
   */
  compete(opts: { perMinute: number; backfill?: boolean }): { stop(): Competition };
  clearFaults(): void;
  /** Copies of the current items, removed ones included. */
  items(): EmulatedItem[];
  /** Replaces an item's accounts, balances as cached by /accounts/get included. */
  setAccounts(itemIdOrAccessToken: string, accounts: WireAccount[]): void;
  /** Changes the bank-side balances of one account: /accounts/balance/get sees them, /accounts/get only after that refresh. */
  setBalances(itemIdOrAccessToken: string, accountId: string, balances: Partial<WireBalance>): void;
  /** Simulates the user opening Link for `linkToken`: a session listed with `finished_at: null`. Returns its link_session_id. */
  startLinkSession(linkToken: string): string;
  /**
   * Simulates the user finishing (Hosted) Link for `linkToken` (the session they opened, if any): records the session that
   * /link/token/get reports and returns the public token, or undefined when the session ended in an exit.
   */
  completeLinkSession(linkToken: string, opts?: CompleteLinkOptions): string | undefined;
  close(): Promise<void>;
}
