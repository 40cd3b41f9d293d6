/**
 * Client-side pacing for Plaid's documented per-minute limits, so a large run slows down
 * instead of collecting 429s. It counts calls made by this process only; calls from other
 * processes show up as 429s, which the client retries with backoff.
 */
import type { Environment } from '../types.js';

export interface Limits {
  perItem: number;
  perClient: number;
  windowMs: number;
}

const MINUTE = 60_000;

/** Plaid's limits per environment (PLAID-NOTES.md). */
export const PLAID_LIMITS: Record<'accountsBalanceGet' | 'accountsGet' | 'itemGet' | 'institutionsGetById', Record<Environment, Limits>> = {
  accountsBalanceGet: {
    production: { perItem: 5, perClient: 1_200, windowMs: MINUTE },
    sandbox: { perItem: 25, perClient: 100, windowMs: MINUTE },
  },
  accountsGet: {
    production: { perItem: 15, perClient: 15_000, windowMs: MINUTE },
    sandbox: { perItem: 100, perClient: 15_000, windowMs: MINUTE },
  },
  // Production: 15 per item and 5,000 per client per minute for /item/get, 400 per client for
  // /institutions/get_by_id (plaid.com/docs/errors/rate-limit-exceeded/, "Production rate limits",
  // ITEM_GET_LIMIT and INSTITUTIONS_GET_BY_ID_LIMIT). Plaid documents no Sandbox figures for
  // either endpoint, so Sandbox uses conservative ones: the production per-item limit, and 500
  // calls per client, the lowest Sandbox per-client limit Plaid documents for a free data
  // endpoint (/auth/get), for /item/get; 100 (as low as the billed balance call's) for
  // /institutions/get_by_id, which import calls once per institution.
  itemGet: {
    production: { perItem: 15, perClient: 5_000, windowMs: MINUTE },
    sandbox: { perItem: 15, perClient: 500, windowMs: MINUTE },
  },
  institutionsGetById: {
    production: { perItem: Number.POSITIVE_INFINITY, perClient: 400, windowMs: MINUTE },
    sandbox: { perItem: Number.POSITIVE_INFINITY, perClient: 100, windowMs: MINUTE },
  },
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
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
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
  while (times.length && times[0]! <= cutoff) times.shift();
}
