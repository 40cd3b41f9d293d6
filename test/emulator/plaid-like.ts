/**
 * The emulator as Plaid Production behaves under load: Plaid's latency distribution and its
 * per-client and per-item limits for /accounts/balance/get, answered with Plaid's 429s.
 *
 * - Latency: log-normal, median 3 s, 95th percentile 11 s, capped at 30 s (PLAID-NOTES.md,
 *   "Balance latency": usually under 10 s, sometimes 30 s or more).
 * - Limits: 5 per item and 1,200 per client per minute (plaid.com/docs/errors/rate-limit-exceeded,
 *   "Production rate limits"), answered 429 RATE_LIMIT_EXCEEDED with BALANCE_LIMIT (per item) or
 *   ACCOUNTS_BALANCE_GET_LIMIT (per client), in Plaid's error shape (errors.ts).
 *
 * `timeScale` shrinks the latency only (0.01: median 30 ms), so tests run in seconds. The limits
 * stay per real minute: the CLI knows nothing of the scaling (its one hook is PLAIDBAL_BASE_URL),
 * so a test that needs the limits to bite within seconds lowers them (perClient) and the CLI's
 * budget (--rate) together.
 */
import type { EmulatorOptions, LatencyModel, RateLimits } from './types.js';

export const PLAID_PRODUCTION_BALANCE_LIMITS: RateLimits = { perItem: 5, perClient: 1_200, windowMs: 60_000 };
export const PLAID_BALANCE_LATENCY: LatencyModel = { medianMs: 3_000, p95Ms: 11_000, maxMs: 30_000 };

export function plaidLike(opts: { timeScale?: number; seed?: number; rateLimits?: Partial<RateLimits> } = {}): EmulatorOptions {
  const scale = opts.timeScale ?? 1;
  return {
    environment: 'production',
    rateLimits: { ...PLAID_PRODUCTION_BALANCE_LIMITS, ...opts.rateLimits },
    latencyModel: {
      medianMs: PLAID_BALANCE_LATENCY.medianMs * scale,
      p95Ms: PLAID_BALANCE_LATENCY.p95Ms * scale,
      maxMs: PLAID_BALANCE_LATENCY.maxMs * scale,
      seed: opts.seed ?? 1,
    },
  };
}

/** A log-normal sampler with its own seeded generator (mulberry32 and Box–Muller). */
export function logNormalSampler(model: LatencyModel): () => number {
  let seed = (model.seed ?? 1) >>> 0;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const mu = Math.log(model.medianMs);
  // The 95th percentile of a normal distribution is 1.645 standard deviations above its median.
  const sigma = Math.log(model.p95Ms / model.medianMs) / 1.6448536;
  return () => {
    const u = 1 - random();
    const v = random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.min(model.maxMs, Math.exp(mu + sigma * z));
  };
}
