/**
 * Every Plaid call goes through the official `plaid` client, wrapped here with
 * per-call timeouts, retries (capped exponential backoff with jitter) and a
 * redacting debug log. This module is only ever loaded by commands that call Plaid.
 */
import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import pRetry from 'p-retry';
import { Configuration, PlaidApi, PlaidEnvironments } from 'plaid';
import { CliError, ExitCode } from '../errors.js';
import type { Environment } from '../types.js';
import { escapeControls, withoutUserinfo } from '../text.js';
import { isRetriable, toCliError, type RetryPolicy } from './errors.js';
import { rateLimitScope, type Outcome, type PaceGate } from './ratelimit.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const BALANCE_TIMEOUT_MS = 60_000;

export interface PlaidClientOptions {
  environment: Environment;
  clientId: string;
  secret: string;
  /** PLAIDBAL_BASE_URL: replaces Plaid's host (proxies, the test emulator). */
  baseUrl?: string;
  /** Per-attempt timeout; defaults to 15 s (60 s for /accounts/balance/get). */
  timeoutMs?: number;
  retries?: number;
  debug?: (line: string) => void;
  signal?: AbortSignal;
  /** Profile settings that travel with the credentials (used by /link/token/create). */
  profile?: ClientProfile;
}

export interface ClientProfile {
  clientName: string;
  countryCodes: string[];
  language: string;
}

type Methods = {
  [K in keyof PlaidApi]: PlaidApi[K] extends (request: infer R, options?: any) => Promise<AxiosResponse<infer T>> ? { request: R; response: T } : never;
};
export type PlaidMethod = {
  [K in keyof Methods]: Methods[K] extends never ? never : K;
}[keyof Methods];

export interface CallOptions {
  /** The alias of the item the call is about, for hints in errors. */
  item?: string;
  /** When that item was linked (ISO-8601), for hints in errors (Sandbox items expire after 30 days). */
  linkedAt?: string;
  /** Secrets in the request (an access token) to redact from anything printed. */
  secrets?: string[];
  timeoutMs?: number;
  /**
   * Not aborted by Ctrl-C: for a call whose effect must be kept once made (the public-token
   * exchange creates a billable item that plaidbal then has to save or remove).
   */
  uninterruptible?: boolean;
  /**
   * Told about each attempt's HTTP exchange (plaidbal doctor: reachability, TLS, Plaid's clock).
   * Only facts about the response are passed, never a header or body of the request.
   */
  observe?: (exchange: Exchange) => void;
  /**
   * A fan-out's pacing for this call's item (src/plaid/ratelimit.ts): every attempt, retries
   * included, waits for it, and tells it how it ended, so a 429 slows the whole run down.
   */
  pace?: PaceGate;
  /**
   * For a billed call whose answer is worth waiting for (a real-time balance: Plaid bills each
   * request it serves). The run's signal (Ctrl-C) then stops only what has not been sent: a
   * pacing wait, a retry, its backoff. A request already on its way is left to finish (or time
   * out), and only `inFlight.signal` (a second Ctrl-C) cancels it.
   */
  inFlight?: InFlight;
}

/** The requests of a run that are sent and not yet answered (CallOptions.inFlight). */
export interface InFlight {
  /** Aborted to cancel them, answers and all. */
  readonly signal: AbortSignal;
  /** How many there are now. */
  sent: number;
}

/**
 * Attempts per call: 1 + DEFAULT_RETRIES. A paced call (CallOptions.pace) may take up to
 * 1 + PACED_RATE_LIMIT_RETRIES attempts when the failures are Plaid's 429s (a 429 is never
 * billed, and the pacer has slowed the run down before each of them); every other failure keeps
 * the first bound. The fan-outs themselves never retry: this is the only retry layer.
 */
export const DEFAULT_RETRIES = 3;
export const PACED_RATE_LIMIT_RETRIES = 5;

/** What one attempt's HTTP exchange showed. */
export interface Exchange {
  /** HTTP status, or null when no response came (network error, timeout). */
  status: number | null;
  /** The response's Date header, as sent. */
  date: string | null;
  /** The negotiated TLS protocol (`TLSv1.3`), or null over plain HTTP or when unknown. */
  tlsProtocol: string | null;
  /** The network error's code (ECONNREFUSED, ETIMEDOUT, CERT_HAS_EXPIRED…) when no response came. */
  errorCode: string | null;
}

export interface PlaidClient {
  readonly environment: Environment;
  /** Where calls go, as messages show it (without a user and password from PLAIDBAL_BASE_URL). */
  readonly host: string;
  readonly profile: ClientProfile;
  call<K extends PlaidMethod>(method: K, request: Methods[K]['request'], options?: CallOptions): Promise<Methods[K]['response']>;
}

/**
 * Which failures of `method` may be retried in `environment` (see RetryPolicy in errors.ts):
 * - /item/public_token/exchange and /item/access_token/invalidate never: each acts once at Plaid
 *   (a single-use public token; a token that dies when Plaid answers), so a retry after a lost
 *   answer cannot succeed and hides what happened (PLAID-NOTES, "A public token is single-use");
 * - /accounts/balance/get in Production only when Plaid cannot have billed the failed attempt
 *   (plaid.com/docs/account/billing: Balance is billed per successful request);
 * - everything else on transient failures (429, 5xx, network).
 * Decided here, not by callers, so no call site can forget it.
 */
export function retryPolicyFor(method: PlaidMethod, environment: Environment): RetryPolicy {
  if (method === 'itemPublicTokenExchange' || method === 'itemAccessTokenInvalidate') return 'never';
  if (method === 'accountsBalanceGet' && environment === 'production') return 'unbilled';
  return 'transient';
}

const startTimes = new WeakMap<InternalAxiosRequestConfig, number>();

let ownConnection: { httpAgent: import('node:http').Agent; httpsAgent: import('node:https').Agent } | undefined;

/**
 * Agents that never keep a connection alive, so each request through them opens a connection of
 * its own (Node's global agent, which axios uses otherwise, keeps connections alive and reuses an
 * idle one). For the calls that are never retried: a server may close an idle kept-alive
 * connection just as the next request is written on it, and the client then sees only
 * ECONNRESET (Node's docs, http `request.reusedSocket`: "if server closes connection at
 * unfortunate time, client may run into a 'ECONNRESET' error"). A public-token exchange or a token
 * invalidation is never retried (retryPolicyFor), so such a reset would end `link` with "Plaid may
 * have created the item" for a request Plaid never read. On a connection of its own, a reset is
 * about that request and nothing else. The other calls keep the pool: a fan-out over thousands of
 * items needs it, and they are retried where a retry is safe.
 */
function connectionOfItsOwn() {
  ownConnection ??= {
    httpAgent: new (process.getBuiltinModule('node:http').Agent)({ keepAlive: false }),
    httpsAgent: new (process.getBuiltinModule('node:https').Agent)({ keepAlive: false }),
  };
  return ownConnection;
}

export function createPlaidClient(opts: PlaidClientOptions): PlaidClient {
  const host = (opts.baseUrl || PlaidEnvironments[opts.environment]!).replace(/\/+$/, '');
  // What messages say: a proxy's user and password in PLAIDBAL_BASE_URL are not repeated.
  const shownHost = withoutUserinfo(host);
  // Plaid's API never redirects, and a followed redirect would carry the PLAID-SECRET header to
  // wherever it points: a 3xx is an error (and axios then never loads follow-redirects).
  const http = axios.create({ maxRedirects: 0 });
  if (opts.debug) {
    const debug = opts.debug;
    // Method, path, status, duration and request_id only: never headers or bodies.
    const line = (config: InternalAxiosRequestConfig | undefined, status: string, data: unknown) => {
      const started = config ? startTimes.get(config) : undefined;
      const path = config?.url ? new URL(config.url, host).pathname : '?';
      const requestId = typeof data === 'object' && data !== null && typeof (data as { request_id?: unknown }).request_id === 'string' ? (data as { request_id: string }).request_id : '-';
      // The request_id is Plaid's text, and the line goes to a terminal.
      debug(`${(config?.method ?? 'post').toUpperCase()} ${path} ${status} ${started === undefined ? '?' : Date.now() - started}ms request_id=${escapeControls(requestId)}`);
    };
    http.interceptors.request.use((config) => {
      startTimes.set(config, Date.now());
      return config;
    });
    http.interceptors.response.use(
      (response) => {
        line(response.config, String(response.status), response.data);
        return response;
      },
      (error: { config?: InternalAxiosRequestConfig; response?: { status: number; data: unknown }; code?: string }) => {
        line(error.config, error.response ? String(error.response.status) : (error.code ?? 'ERROR'), error.response?.data);
        return Promise.reject(error);
      },
    );
  }
  const api = new PlaidApi(
    new Configuration({
      basePath: host,
      baseOptions: {
        headers: { 'PLAID-CLIENT-ID': opts.clientId, 'PLAID-SECRET': opts.secret, 'Plaid-Version': '2020-09-14' },
      },
    }),
    host,
    // The same axios at run time; its CJS and ESM type declarations differ only nominally.
    http as unknown as ConstructorParameters<typeof PlaidApi>[2],
  );

  return {
    environment: opts.environment,
    host: shownHost,
    profile: opts.profile ?? { clientName: 'plaidbal', countryCodes: ['US'], language: 'en' },
    async call(method, request, callOptions = {}) {
      const timeout = callOptions.timeoutMs ?? opts.timeoutMs ?? (method === 'accountsBalanceGet' ? BALANCE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS);
      const invoke = api[method] as (req: unknown, options: unknown) => Promise<AxiosResponse>;
      const signal = callOptions.uninterruptible ? undefined : opts.signal;
      const inFlight = callOptions.uninterruptible ? undefined : callOptions.inFlight;
      const policy = retryPolicyFor(method, opts.environment);
      const observe = callOptions.observe;
      const pace = callOptions.pace;
      // What cancels a request on its way: the run's signal, or inFlight's (see CallOptions.inFlight).
      const cancel = inFlight ? inFlight.signal : signal;
      const requestOptions = policy === 'never' ? { timeout, signal: cancel, ...connectionOfItsOwn() } : { timeout, signal: cancel };
      const invokeHttp = observe
        ? async () => {
            try {
              const response = await invoke.call(api, request, requestOptions);
              observe(exchangeOf(response, null));
              return response;
            } catch (error) {
              observe(exchangeOf((error as { response?: AxiosResponse }).response, error));
              throw error;
            }
          }
        : () => invoke.call(api, request, requestOptions);
      let sending = false;
      const invokeOnce = inFlight
        ? async () => {
            // Nothing is sent after a stop, even when the pacing wait or the backoff had just ended.
            signal?.throwIfAborted();
            inFlight.sent += 1;
            sending = true;
            try {
              return await invokeHttp();
            } finally {
              inFlight.sent -= 1;
              sending = false;
            }
          }
        : invokeHttp;
      // pRetry drops an attempt's answer when its signal is aborted by then. With inFlight, its
      // signal follows the run's only between attempts (a pacing wait, a backoff), and a second
      // Ctrl-C (inFlight.signal) at any time.
      let retrySignal = signal;
      let detach = () => {};
      if (inFlight && signal) {
        const between = new AbortController();
        const onStop = () => {
          if (!sending) between.abort(signal.reason);
        };
        if (signal.aborted) between.abort(signal.reason);
        else signal.addEventListener('abort', onStop, { once: true });
        detach = () => signal.removeEventListener('abort', onStop);
        retrySignal = AbortSignal.any([between.signal, inFlight.signal]);
      }
      const attempt = pace
        ? async () => {
            await pace.acquire(signal);
            const started = Date.now();
            try {
              const response = await invokeOnce();
              pace.settle('ok', Date.now() - started);
              return response;
            } catch (error) {
              pace.settle(outcomeOf(error), Date.now() - started);
              throw error;
            }
          }
        : invokeOnce;
      const retries = policy === 'never' ? 0 : (opts.retries ?? DEFAULT_RETRIES);
      const maxRetries = pace && retries > 0 ? Math.max(retries, PACED_RATE_LIMIT_RETRIES) : retries;
      const willRetry = (error: unknown, attemptNumber: number) =>
        !(inFlight && signal?.aborted) && attemptNumber <= maxRetries && isRetriable(error, policy) && (attemptNumber <= retries || outcomeOf(error) === 'client-limit' || outcomeOf(error) === 'item-limit');
      try {
        const response = await pRetry(attempt, {
          retries: maxRetries,
          factor: 2,
          minTimeout: 250,
          maxTimeout: 4_000,
          randomize: true,
          signal: retrySignal,
          shouldRetry: ({ error, attemptNumber }) => willRetry(error, attemptNumber),
          onFailedAttempt: ({ error, attemptNumber }) => {
            if (opts.debug && willRetry(error, attemptNumber)) {
              // 429s of a paced fan-out get more attempts than other failures (maxRetries vs retries).
              const limited = outcomeOf(error) === 'client-limit' || outcomeOf(error) === 'item-limit';
              opts.debug(`attempt ${attemptNumber} failed; retrying (${(limited ? maxRetries : retries) - attemptNumber + 1} left)`);
            }
          },
        });
        // A proxy's HTML page or a cut-off body reaches here as text (axios parses JSON silently):
        // every Plaid answer is a JSON object with a request_id, and nothing else may be read as one.
        if (!isPlaidBody(response.data)) {
          throw new CliError(`Plaid answered HTTP ${response.status} with a body that is not a Plaid response (from ${shownHost}).`, {
            exitCode: ExitCode.PLAID_FAILURE,
            hint: 'A proxy or PLAIDBAL_BASE_URL may be pointing somewhere that is not Plaid; try again later.',
          });
        }
        return response.data;
      } catch (error) {
        // Cancelled by a second Ctrl-C: the run's interruption, not a failure of this item.
        const cancelled = (error as { code?: unknown } | null)?.code === 'ERR_CANCELED';
        if (inFlight?.signal.aborted && (error === inFlight.signal.reason || cancelled)) throw inFlight.signal.reason;
        // Cancelled by the run's stop (a call no drain waits for): the stop, not a network failure
        // ("failed (ERR_CANCELED)", with a hint about the network) that the run would then report.
        if (!inFlight && signal?.aborted && (error === signal.reason || cancelled)) throw signal.reason;
        throw toCliError(
          error,
          { environment: opts.environment, item: callOptions.item, linkedAt: callOptions.linkedAt, secrets: [opts.secret, ...(callOptions.secrets ?? [])], policy, realtime: method === 'accountsBalanceGet' },
          shownHost,
        ) as CliError;
      } finally {
        detach();
      }
    },
  };
}

/** How a failed attempt ended, for the pacer: Plaid's 429s by scope, anything else 'failed'. */
function outcomeOf(error: unknown): Outcome {
  const response = (error as { response?: { status?: number; data?: unknown } } | null)?.response;
  if (response?.status !== 429 || typeof response.data !== 'object' || response.data === null) return 'failed';
  const { error_type, error_code } = response.data as { error_type?: unknown; error_code?: unknown };
  const scope = rateLimitScope(typeof error_type === 'string' ? error_type : undefined, typeof error_code === 'string' ? error_code : undefined);
  return scope === 'item' ? 'item-limit' : scope === 'client' ? 'client-limit' : 'failed';
}

/** The facts of one exchange: the response's status, Date header and TLS protocol, or the network error's code. */
function exchangeOf(response: AxiosResponse | undefined, error: unknown): Exchange {
  if (!response) {
    const code = (error as { code?: unknown } | null)?.code;
    return { status: null, date: null, tlsProtocol: null, errorCode: typeof code === 'string' ? code : null };
  }
  const date = (response.headers as Record<string, unknown> | undefined)?.date;
  // axios's Node adapter hands back the ClientRequest; its socket is a TLSSocket over https.
  const socket = (response.request as { socket?: { getProtocol?: () => string | null } } | undefined)?.socket;
  const tlsProtocol = typeof socket?.getProtocol === 'function' ? socket.getProtocol() : null;
  return { status: response.status, date: typeof date === 'string' ? date : null, tlsProtocol: tlsProtocol ?? null, errorCode: null };
}

/** Every Plaid response body is a JSON object carrying a request_id. */
function isPlaidBody(data: unknown): boolean {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && typeof (data as { request_id?: unknown }).request_id === 'string';
}
