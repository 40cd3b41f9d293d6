/**
 * Client-side pacing for Plaid's documented per-minute limits, so a large run slows down
 * instead of collecting 429s.
 *
 * - RateLimiter: the two rolling windows (per item, per client) and nothing else.
 * - Pacer: what the fan-outs use (balance --all, items status --all, items rotate --all). A call
 *   budget in calls per minute (by default half of Plaid's documented per-client limit, which is
 *   shared with every other application using the same client_id), spread evenly over the minute,
 *   cut when Plaid answers a per-client 429 and grown back on success (AIMD), Plaid's per-item
 *   limit always kept, and an in-flight target from the budget and the observed latency
 *   (Little's law).
 *
 * Both count calls made by this process only; calls from other processes show up as 429s.
 */
import { CliError, ExitCode, usageError } from '../errors.js';
import { noteV8FlagsChanged } from '../load.js';
import type { Environment } from '../types.js';

export interface Limits {
  perItem: number;
  perClient: number;
  windowMs: number;
}

const MINUTE = 60_000;

/**
 * Plaid's limits per endpoint and environment: plaid.com/docs/errors/rate-limit-exceeded
 * ("Production rate limits" table, and the text under ACCOUNTS_LIMIT / ACCOUNTS_BALANCE_GET_LIMIT)
 * and PLAID-NOTES.md ("Rate limits for /accounts/balance/get"):
 * - /accounts/balance/get: Production 5 per item, 1,200 per client per minute; Sandbox 25 and 100.
 * - /accounts/get: Production 15 per item, 15,000 per client; Sandbox 100 and 5,000.
 * - /item/get: Production 15 per item, 5,000 per client; Sandbox 40 and 5,000.
 * - /institutions/get_by_id: 400 per client in both (no per-item limit).
 * - /item/access_token/invalidate is not in Plaid's table. plaidbal assumes the figures of
 *   /item/remove, the item-management endpoint the table lists (30 per item, 2,000 per client).
 */
export const PLAID_LIMITS: Record<'accountsBalanceGet' | 'accountsGet' | 'itemGet' | 'institutionsGetById' | 'itemAccessTokenInvalidate', Record<Environment, Limits>> = {
  accountsBalanceGet: {
    production: { perItem: 5, perClient: 1_200, windowMs: MINUTE },
    sandbox: { perItem: 25, perClient: 100, windowMs: MINUTE },
  },
  accountsGet: {
    production: { perItem: 15, perClient: 15_000, windowMs: MINUTE },
    sandbox: { perItem: 100, perClient: 5_000, windowMs: MINUTE },
  },
  itemGet: {
    production: { perItem: 15, perClient: 5_000, windowMs: MINUTE },
    sandbox: { perItem: 40, perClient: 5_000, windowMs: MINUTE },
  },
  institutionsGetById: {
    production: { perItem: Number.POSITIVE_INFINITY, perClient: 400, windowMs: MINUTE },
    sandbox: { perItem: Number.POSITIVE_INFINITY, perClient: 400, windowMs: MINUTE },
  },
  itemAccessTokenInvalidate: {
    production: { perItem: 30, perClient: 2_000, windowMs: MINUTE },
    sandbox: { perItem: 30, perClient: 2_000, windowMs: MINUTE },
  },
};

export type LimitedEndpoint = keyof typeof PLAID_LIMITS;

/** The endpoints' paths, for messages. */
export const ENDPOINT_PATHS: Record<LimitedEndpoint, string> = {
  accountsBalanceGet: '/accounts/balance/get',
  accountsGet: '/accounts/get',
  itemGet: '/item/get',
  institutionsGetById: '/institutions/get_by_id',
  itemAccessTokenInvalidate: '/item/access_token/invalidate',
};

export interface RateLimiterDeps {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Told how long a call waits, when it has to. */
  onWait?(ms: number, reason: 'item' | 'client'): void;
}

export const realTimers: Pick<RateLimiterDeps, 'now' | 'sleep'> = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      // The run's signal lives as long as the run: a listener left on it after the timer fired
      // would keep its promise, timer and closure for good (tens of thousands over a large --all).
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export class RateLimiter {
  private readonly client: number[] = [];
  private readonly items = new Map<string, number[]>();

  constructor(
    private readonly limits: Limits,
    private readonly deps: RateLimiterDeps,
  ) {}

  /** Resolves when one more call for `itemId` fits in both windows, and counts it. */
  async acquire(itemId: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.deps.now();
      const cutoff = now - this.limits.windowMs;
      const item = this.items.get(itemId) ?? [];
      prune(this.client, cutoff);
      prune(item, cutoff);
      const clientFull = this.client.length >= this.limits.perClient;
      const itemFull = item.length >= this.limits.perItem;
      if (!clientFull && !itemFull) {
        // Checked and counted in one synchronous step, so concurrent callers cannot overshoot.
        this.client.push(now);
        item.push(now);
        this.items.set(itemId, item);
        return;
      }
      const oldest = itemFull ? item[0]! : this.client[0]!;
      const wait = Math.max(1, oldest + this.limits.windowMs - now);
      this.deps.onWait?.(wait, itemFull ? 'item' : 'client');
      await this.deps.sleep(wait, signal);
    }
  }
}

function prune(times: number[], cutoff: number): void {
  let n = 0;
  while (n < times.length && times[n]! <= cutoff) n += 1;
  if (n) times.splice(0, n);
}

/**
 * The pacer's minute is this much longer than Plaid's: plaidbal counts a call when it sends it,
 * Plaid when it arrives, and a call that takes longer to leave than the one a minute before it
 * would otherwise land in Plaid's window with it.
 */
export const WINDOW_MARGIN_MS = 1_000;

/** The most calls in flight at once, whatever the budget and latency (--concurrency lowers it). */
export const MAX_IN_FLIGHT = 128;
/** The fewest calls in flight a fan-out allows, so small runs are not serialised by a low budget. */
export const MIN_IN_FLIGHT = 8;
/** Latency assumed before any call has returned: Plaid's median for /accounts/balance/get (PLAID-NOTES.md). */
export const INITIAL_LATENCY_MS = 3_000;
/** On a per-client 429 the rate is multiplied by this… */
export const DECREASE_FACTOR = 0.5;
/**
 * …and grows back by this share of the budget per minute of successes, up to the budget: additive
 * in time, whatever the rate. (Adding a fixed step per success instead makes the growth
 * proportional to the rate itself, a doubling every minute or so, which brought a run sharing the
 * client straight back into Plaid's full window: docs/benchmarks.md, "Paced fan-out".)
 */
export const INCREASE_SHARE_PER_MINUTE = 0.1;
/** The lowest the rate goes after 429s: one call every 10 s. */
export const MIN_RATE = 6;
/**
 * After a per-client 429, no new call starts for this long: Plaid's window needs a moment to
 * drain. Each further 429 before a success doubles the pause, up to MAX_429_PAUSE_MS.
 */
export const CLIENT_429_PAUSE_MS = 1_000;
export const MAX_429_PAUSE_MS = 16_000;

/** The budget a run uses: `--rate`, checked against Plaid's documented limit, or half that limit. */
export function budgetFor(endpoint: LimitedEndpoint, environment: Environment, rate: number | undefined): { budget: number; limits: Limits } | { error: string } {
  const limits = PLAID_LIMITS[endpoint][environment];
  if (rate === undefined) return { budget: Math.max(1, Math.floor(limits.perClient / 2)), limits };
  if (rate > limits.perClient) {
    const whose = endpoint === 'itemAccessTokenInvalidate' ? "the limit plaidbal assumes (Plaid's table does not list the endpoint; it takes /item/remove's)" : "Plaid's documented limit";
    return { error: `--rate ${rate} is above ${whose} for ${ENDPOINT_PATHS[endpoint]} in ${environment}: ${limits.perClient} calls per minute per client.` };
  }
  return { budget: rate, limits };
}

/** A fan-out's pacer from its flags: --rate (exit 2 above Plaid's documented limit) and --concurrency (the bound on calls in flight). */
export function pacerFor(endpoint: LimitedEndpoint, environment: Environment, flags: { rate?: number; concurrency?: number }): Pacer {
  const budget = budgetFor(endpoint, environment, flags.rate);
  if ('error' in budget) {
    throw usageError(budget.error, 'Leave --rate out for the default, half of that limit: the limit is shared with every application using the same client_id.');
  }
  return new Pacer({ limits: budget.limits, budget: budget.budget, maxInFlight: flags.concurrency });
}

export type Outcome = 'ok' | 'client-limit' | 'item-limit' | 'failed';

/**
 * Which of Plaid's 429s is about the item (wait for that item's window) and which about the
 * client_id (another user of the client is busy: slow down). plaid.com/docs/errors/rate-limit-exceeded:
 * BALANCE_LIMIT is /accounts/balance/get per item; ACCOUNTS_BALANCE_GET_LIMIT is per client;
 * INSTITUTION_RATE_LIMIT is about one institution ("too many requests … to a single
 * institution"): slowing every item for it would let one throttling bank slow a run over all of
 * them, so only its item waits, as for BALANCE_LIMIT (the bank's other items get their own 429s
 * and wait the same way). The other codes (ACCOUNTS_LIMIT, ITEM_GET_LIMIT, …) do not say, and are
 * taken as per client, so plaidbal slows down rather than insisting.
 */
export function rateLimitScope(errorType: string | undefined, errorCode: string | undefined): 'item' | 'client' | null {
  if (errorType !== 'RATE_LIMIT_EXCEEDED') return null;
  return errorCode === 'BALANCE_LIMIT' || errorCode === 'INSTITUTION_RATE_LIMIT' ? 'item' : 'client';
}

export interface PacerOptions {
  /** Plaid's documented limits for the endpoint. */
  limits: Limits;
  /** Calls per minute this run may make (≤ limits.perClient). */
  budget: number;
  /** Upper bound on calls in flight (--concurrency); default MAX_IN_FLIGHT. */
  maxInFlight?: number;
}

/** One item's side of the pacer: what the Plaid client calls around each attempt. */
export interface PaceGate {
  /** Resolves when one more attempt may start. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** How the attempt ended and how long it took. */
  settle(outcome: Outcome, latencyMs: number): void;
}

/**
 * What a paced call still waiting for its slot rejects with once an error has stopped the run
 * (Pacer.halt): it was never sent. Not an item's failure (isItemFailure), so no item is reported
 * as failed for it, and fanOut drops the item.
 */
export class RunHalted extends CliError {
  constructor() {
    super('Not sent: an earlier error stopped the run.', { exitCode: ExitCode.INTERRUPTED });
  }
}

export class Pacer {
  readonly budget: number;
  readonly limits: Limits;
  readonly maxInFlight: number;
  /** The current rate in calls per minute: the budget, or less after 429s. */
  rate: number;
  /** Calls answered with a 429 (either scope). */
  rateLimited = 0;
  /** Attempts started. */
  attempts = 0;
  private readonly windowMs: number;
  /** GCRA: the theoretical time of the next call; calls may run `burst` intervals ahead of it. */
  private tat = -Infinity;
  private readonly burst: number;
  private readonly client: number[] = [];
  private readonly items = new Map<string, number[]>();
  /** An item that got a per-item 429 waits until this time. */
  private readonly itemBlockedUntil = new Map<string, number>();
  private pausedUntil = -Infinity;
  private lastReactionAt = -Infinity;
  /** Between a per-client 429 and the next success. */
  private episode = false;
  private pauseMs = CLIENT_429_PAUSE_MS;
  private readonly latencies: number[] = [];
  private latencyNext = 0;
  /** Rolling log of attempt start times, for the observed rate. */
  private readonly recent: number[] = [];
  /**
   * Slow start: a run begins with MIN_IN_FLIGHT calls in flight and may add one for each call
   * that succeeds (doubling every round trip), so a run that starts while another user of the
   * client has filled Plaid's window collects a handful of 429s, not a burst's worth.
   */
  private slowStart = MIN_IN_FLIGHT;
  /** Aborted by halt(): every wait ends, and no attempt starts. */
  private readonly halted = new AbortController();

  constructor(
    opts: PacerOptions,
    private readonly deps: Pick<RateLimiterDeps, 'now' | 'sleep'> = realTimers,
  ) {
    this.limits = opts.limits;
    this.budget = Math.min(opts.budget, opts.limits.perClient);
    this.rate = this.budget;
    this.windowMs = opts.limits.windowMs + WINDOW_MARGIN_MS;
    this.maxInFlight = Math.max(1, Math.min(MAX_IN_FLIGHT, opts.maxInFlight ?? MAX_IN_FLIGHT));
    // Up to a fifth of the budget may go at once (a 10-item Sandbox run does not wait for pacing); the
    // rolling window below still holds every minute to the budget.
    this.burst = Math.max(1, Math.ceil(this.budget / 5));
  }

  /** Milliseconds between calls at the current rate. */
  get intervalMs(): number {
    return MINUTE / this.rate;
  }

  /**
   * Calls in flight the fan-out should allow (Little's law: L = λ·W): the current rate times a
   * high percentile of the observed latency (90th, times 1.5 for slack), so that slow calls do
   * not hold the next ones back; at least MIN_IN_FLIGHT, at most maxInFlight, and during the
   * slow start at most MIN_IN_FLIGHT plus the calls that succeeded so far.
   */
  inFlightTarget(): number {
    const latency = this.latencyPercentile(0.9) ?? INITIAL_LATENCY_MS;
    const little = Math.ceil((this.rate / MINUTE) * latency * 1.5);
    return Math.min(this.maxInFlight, this.slowStart, Math.max(MIN_IN_FLIGHT, little));
  }

  /** The p-th percentile of the last 256 latencies, or null before any. */
  latencyPercentile(p: number): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  }

  /** Attempts started in the last 10 s, per minute. */
  observedRate(): number {
    const now = this.deps.now();
    prune(this.recent, now - 10_000);
    return this.recent.length * 6;
  }

  /** Milliseconds until a call for `itemId` may start (0: now). */
  private waitFor(itemId: string, now: number): number {
    const cutoff = now - this.windowMs;
    prune(this.client, cutoff);
    const item = this.items.get(itemId);
    if (item) prune(item, cutoff);
    let wait = Math.max(0, this.pausedUntil - now, (this.itemBlockedUntil.get(itemId) ?? 0) - now);
    // Even spacing at the current rate, `burst` calls ahead at most.
    wait = Math.max(wait, this.tat - (this.burst - 1) * this.intervalMs - now);
    // Never more than the budget in any window (the minute Plaid counts over).
    if (this.client.length >= this.budget) wait = Math.max(wait, this.client[this.client.length - this.budget]! + this.windowMs - now);
    if (item && item.length >= this.limits.perItem) wait = Math.max(wait, item[item.length - this.limits.perItem]! + this.windowMs - now);
    return wait;
  }

  /**
   * No attempt starts any more: calls waiting for their slot, and any that ask later, reject with
   * RunHalted. For an error that stops a fan-out (fanOut calls it): the calls still waiting would
   * otherwise be sent after the run has failed, each one billed in Production.
   */
  halt(): void {
    if (!this.halted.signal.aborted) this.halted.abort(new RunHalted());
  }

  /** Resolves when one more call for `itemId` fits, and counts it (RunHalted after halt()). */
  async acquire(itemId: string, signal?: AbortSignal): Promise<void> {
    const halted = this.halted.signal;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      halted.throwIfAborted();
      const now = this.deps.now();
      const wait = this.waitFor(itemId, now);
      if (wait <= 0) {
        // Checked and counted in one synchronous step, so concurrent callers cannot overshoot.
        this.tat = Math.max(this.tat, now) + this.intervalMs;
        this.client.push(now);
        const item = this.items.get(itemId) ?? [];
        item.push(now);
        this.items.set(itemId, item);
        this.recent.push(now);
        this.attempts += 1;
        return;
      }
      await this.deps.sleep(Math.max(1, Math.ceil(wait)), signal ? AbortSignal.any([signal, halted]) : halted);
    }
  }

  /** Tells the pacer how an attempt started at `startedAt` ended. */
  settle(itemId: string, outcome: Outcome, startedAt: number, latencyMs: number): void {
    const now = this.deps.now();
    switch (outcome) {
      case 'ok':
        if (startedAt >= this.lastReactionAt) this.episode = false;
        this.recordLatency(latencyMs);
        if (this.slowStart < MAX_IN_FLIGHT) this.slowStart += 1;
        // At `rate` calls a minute, a success comes every 1/rate minutes: so many successes make a minute.
        this.rate = Math.min(this.budget, this.rate + (this.budget * INCREASE_SHARE_PER_MINUTE) / this.rate);
        return;
      case 'client-limit':
        this.rateLimited += 1;
        // Calls that were already under way when plaidbal last reacted tell nothing new.
        if (startedAt < this.lastReactionAt) return;
        if (!this.episode) {
          // Multiplicative decrease, once per episode (429s until a call succeeds again): while
          // Plaid's window is full every call is refused whatever the rate, and halving for each
          // would collapse it. Waiting is what helps then: the pause doubles instead.
          this.rate = Math.max(MIN_RATE, Math.min(this.budget, this.rate * DECREASE_FACTOR));
          this.episode = true;
          this.pauseMs = CLIENT_429_PAUSE_MS;
        } else {
          this.pauseMs = Math.min(MAX_429_PAUSE_MS, this.pauseMs * 2);
        }
        this.lastReactionAt = now;
        this.pausedUntil = Math.max(this.pausedUntil, now + this.pauseMs);
        // Spacing restarts after the pause at the current rate, with no burst saved up.
        this.tat = Math.max(this.tat, this.pausedUntil + (this.burst - 1) * this.intervalMs);
        return;
      case 'item-limit':
        this.rateLimited += 1;
        // Someone else used this item's allowance: its next call waits for one slot of its window.
        this.itemBlockedUntil.set(itemId, now + this.limits.windowMs / this.limits.perItem);
        return;
      case 'failed':
        return;
    }
  }

  /** The gate the Plaid client calls around each attempt for one item. */
  gate(itemId: string): PaceGate {
    let startedAt = 0;
    return {
      acquire: async (signal) => {
        await this.acquire(itemId, signal);
        startedAt = this.deps.now();
      },
      settle: (outcome, latencyMs) => this.settle(itemId, outcome, startedAt, latencyMs),
    };
  }

  private recordLatency(ms: number): void {
    if (this.latencies.length < 256) this.latencies.push(ms);
    else this.latencies[this.latencyNext] = ms;
    this.latencyNext = (this.latencyNext + 1) % 256;
  }
}

export interface FanOutOptions<T> {
  pacer: Pacer;
  /** Called as each item finishes, in completion order. */
  onDone?: (index: number, result: T) => void;
  /** Called once, before the first item, by a fan-out over LARGE_FAN_OUT items or more (default preferSmallHeap). */
  onLarge?: () => void;
  /**
   * Stops the fan-out without giving up on the items already started: once it is aborted, no
   * item starts, an item whose work rejects with its reason (stopped before its call was sent)
   * is dropped, the others are waited for (onDone sees them), and the fan-out then rejects with
   * its reason. With it, an error that stops the run (work rejecting otherwise) is handled the
   * same way, and the fan-out rejects with that error once the items on their way have ended:
   * their answers are billed. Without it, the first rejection ends the fan-out at once. Either
   * way, an error that stops the run halts the pacer: the calls still waiting for a slot are
   * never sent (Pacer.halt).
   */
  stop?: AbortSignal;
}

/** A fan-out over this many items or more runs with V8 tuned for memory (preferSmallHeap). */
export const LARGE_FAN_OUT = 100;

/**
 * V8 flags for a long fan-out, set for the rest of the process by preferSmallHeap():
 * - `--optimize-for-size`: by default V8 sizes its heap for a long-lived server on a large
 *   machine; over thousands of items it grew the young generation to its maximum and let
 *   garbage pile up to several times what was live.
 * - `--no-maglev --no-turbofan`: V8's optimizing compilers, which compile hot functions again on
 *   background threads, in memory V8 allocates outside its heap. A fan-out waits on Plaid, not
 *   on JavaScript: the baseline code it keeps (Ignition, Sparkplug) runs the same fan-out in the
 *   same time, and the compilers' memory was a fifth of the process.
 * Both Node lines plaidbal supports know these flags (test/unit/ratelimit.test.ts checks that V8
 * takes them without a word on stderr). Figures: docs/benchmarks.md, "Figures behind the code".
 */
export const FAN_OUT_V8_FLAGS = '--optimize-for-size --no-maglev --no-turbofan';

/**
 * Tunes V8 for memory over speed (FAN_OUT_V8_FLAGS). It is not done for every command because
 * `--optimize-for-size` costs a one-item `balance` tens of milliseconds of start-up. And V8 keys
 * code caches on its flags, so a bundle first loaded after this misses its code cache, and this
 * run writes none (src/load.ts): a cache made under these flags would fit no ordinary run.
 */
export function preferSmallHeap(): void {
  // node:v8 is loaded here, on first use: a one-item balance never sets flags.
  process.getBuiltinModule('node:v8').setFlagsFromString(FAN_OUT_V8_FLAGS);
  noteV8FlagsChanged();
}

/**
 * Runs `work` for each item, starting the next one whenever fewer than the pacer's in-flight
 * target are running (the pacer itself spaces the calls). A slow item holds one slot, never the
 * run. Items are started in order; `onDone` sees them as they finish. Rejects on the first
 * error `work` throws (an error that stops the run); item failures are `work`'s to return.
 */
export async function fanOut<T>(count: number, work: (index: number) => Promise<T>, opts: FanOutOptions<T>): Promise<void> {
  let next = 0;
  let running = 0;
  let failed = false;
  const { stop } = opts;
  if (count >= LARGE_FAN_OUT) (opts.onLarge ?? preferSmallHeap)();
  let pump = () => {};
  const onStop = () => pump();
  /** The first error that stopped the run, when `stop` is given. */
  let fatal: { error: unknown } | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      pump = () => {
        if (failed) return;
        const stopping = () => fatal !== null || (stop?.aborted ?? false);
        if (running === 0 && stopping()) {
          failed = true;
          return reject(fatal !== null ? fatal.error : stop!.reason);
        }
        if (next >= count && running === 0) return resolve();
        while (!stopping() && next < count && running < opts.pacer.inFlightTarget()) {
          const index = next++;
          running += 1;
          work(index).then(
            (result) => {
              running -= 1;
              if (failed) return;
              try {
                opts.onDone?.(index, result);
              } catch (error) {
                failed = true;
                opts.pacer.halt();
                return reject(error);
              }
              pump();
            },
            (error: unknown) => {
              running -= 1;
              if (failed) return;
              // Stopped before its call was sent (Ctrl-C, or halted by an earlier error): dropped, and
              // the others still on their way waited for.
              if ((stop?.aborted && error === stop.reason) || error instanceof RunHalted) return pump();
              // An error that stops the run: nothing more is sent (the calls waiting for a pacing
              // slot are dropped), and with `stop` the others on their way are waited for first.
              opts.pacer.halt();
              if (stop) {
                fatal ??= { error };
                return pump();
              }
              failed = true;
              reject(error);
            },
          );
        }
      };
      stop?.addEventListener('abort', onStop, { once: true });
      pump();
    });
  } finally {
    failed = true;
    stop?.removeEventListener('abort', onStop);
  }
}
